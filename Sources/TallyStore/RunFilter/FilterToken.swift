/// A token of a filter expression, with its position (in Unicode code points).
struct FilterToken: Sendable, Hashable {
    /// One segment of a dotted name: `params`, `lr`, or a backtick-quoted key.
    struct Segment: Sendable, Hashable {
        var text: String
        /// Written in backticks (never a keyword, aggregate or attribute).
        var quoted: Bool
        var position: Int
    }

    enum Kind: Sendable, Hashable {
        /// A name, possibly dotted: `status`, `and`, `params.lr`, ``metrics.`a.b`.max``.
        case name([Segment])
        case integer(Int64)
        case double(Double)
        case string(String)
        case comparison(FilterExpression.Comparison)
        case leftParen
        case rightParen
        case comma
        case end
    }

    var kind: Kind
    var position: Int
    /// The source text of the token, for messages.
    var text: String

    /// The keyword this token is, lower-cased, when it is a single unquoted name.
    var keyword: String? {
        if case .name(let segments) = kind, segments.count == 1, !segments[0].quoted {
            return segments[0].text.lowercased()
        }
        return nil
    }

    /// How messages name this token: `"<"`, `"params.lr"`, or "the end of the filter".
    var quotedForMessage: String {
        if case .end = kind { return "the end of the input" }
        return "\"\(text)\""
    }
}
