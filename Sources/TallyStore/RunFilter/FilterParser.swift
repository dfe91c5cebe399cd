/// Parses filter expressions and order terms (docs/filter.md) into syntax trees.
///
/// Precedence from loosest to tightest: `or`, `and`, `not`, then a predicate or a parenthesized
/// expression. Keywords are case-insensitive. Types are checked while parsing: a comparison
/// that can never be true because of the field's type (`status < 3`, `started_at like "x"`,
/// `metrics.loss = "low"`) is an error at the offending token, so the compiler never fails.
public struct FilterParser {
    /// Longest accepted input, in Unicode code points.
    public static let maximumLength = 10_000
    /// Deepest accepted nesting of parentheses and `not`.
    public static let maximumDepth = 100

    private let tokens: [FilterToken]
    private var index = 0
    private var depth = 0

    private init(_ text: String) throws(FilterError) {
        let length = text.unicodeScalars.count
        if length > Self.maximumLength {
            throw FilterError("longer than \(Self.maximumLength) characters (\(length))", at: Self.maximumLength)
        }
        tokens = try FilterLexer.tokens(text)
    }

    /// Parses a filter expression.
    /// - Returns: The expression, or `nil` when `text` is empty or blank (every run matches).
    /// - Throws: ``FilterError`` with the position of the first error.
    public static func parse(_ text: String) throws(FilterError) -> FilterExpression? {
        var parser = try FilterParser(text)
        if parser.current.kind == .end { return nil }
        let expression = try parser.orExpression()
        if parser.current.kind != .end {
            throw FilterError("expected \"and\", \"or\" or the end of the input, found \(parser.current.quotedForMessage)", at: parser.current.position)
        }
        return expression
    }

    /// Parses order terms separated by commas: `field [asc|desc] {, field [asc|desc]}`
    /// (ascending when no direction is written).
    /// - Throws: ``FilterError`` with the position of the first error.
    public static func parseOrder(_ text: String) throws(FilterError) -> [FilterOrderTerm] {
        var parser = try FilterParser(text)
        var terms: [FilterOrderTerm] = []
        while true {
            let field = try parser.field()
            var descending = false
            if let keyword = parser.current.keyword, keyword == "asc" || keyword == "desc" {
                descending = keyword == "desc"
                parser.index += 1
            }
            terms.append(FilterOrderTerm(field: field, descending: descending))
            switch parser.current.kind {
            case .end:
                return terms
            case .comma:
                parser.index += 1
            default:
                throw FilterError("expected \"asc\", \"desc\", \",\" or the end of the input, found \(parser.current.quotedForMessage)", at: parser.current.position)
            }
        }
    }

    // MARK: Expressions

    private var current: FilterToken { tokens[index] }

    private mutating func advance() -> FilterToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private mutating func enter(at position: Int) throws(FilterError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw FilterError("nested deeper than \(Self.maximumDepth) levels", at: position)
        }
    }

    private mutating func orExpression() throws(FilterError) -> FilterExpression {
        var left = try andExpression()
        while current.keyword == "or" {
            _ = advance()
            left = .or(left, try andExpression())
        }
        return left
    }

    private mutating func andExpression() throws(FilterError) -> FilterExpression {
        var left = try notExpression()
        while current.keyword == "and" {
            _ = advance()
            left = .and(left, try notExpression())
        }
        return left
    }

    private mutating func notExpression() throws(FilterError) -> FilterExpression {
        guard current.keyword == "not" else { return try primary() }
        try enter(at: advance().position)
        defer { depth -= 1 }
        return .not(try notExpression())
    }

    private mutating func primary() throws(FilterError) -> FilterExpression {
        guard current.kind == .leftParen else { return try predicate() }
        let open = advance()
        try enter(at: open.position)
        defer { depth -= 1 }
        let inner = try orExpression()
        guard current.kind == .rightParen else {
            throw FilterError("expected \")\" to close the \"(\" at position \(open.position), found \(current.quotedForMessage)", at: current.position)
        }
        _ = advance()
        return inner
    }

    private mutating func predicate() throws(FilterError) -> FilterExpression {
        let fieldToken = current
        let field = try self.field()
        let operatorToken = advance()
        switch (operatorToken.kind, operatorToken.keyword) {
        case (.comparison(let op), _):
            let (value, position) = try self.value(after: operatorToken)
            try Self.check(field, op, value, operatorPosition: operatorToken.position, valuePosition: position)
            return .compare(field, op, Self.normalized(field, value))
        case (_, "in"):
            return .inList(field, try list(field, after: operatorToken), negated: false)
        case (_, "like"), (_, "ilike"):
            let pattern = try self.pattern(field, after: operatorToken)
            return .like(field, pattern: pattern, caseSensitive: operatorToken.keyword == "like", negated: false)
        case (_, "not"):
            let next = advance()
            switch next.keyword {
            case "in":
                return .inList(field, try list(field, after: next), negated: true)
            case "like", "ilike":
                let pattern = try self.pattern(field, after: next)
                return .like(field, pattern: pattern, caseSensitive: next.keyword == "like", negated: true)
            default:
                throw FilterError("expected \"in\", \"like\" or \"ilike\" after \"not\", found \(next.quotedForMessage)", at: next.position)
            }
        case (_, "is"):
            var negated = false
            if current.keyword == "not" {
                negated = true
                _ = advance()
            }
            let null = advance()
            guard null.keyword == "null" else {
                throw FilterError("expected \"null\" after \"\(negated ? "is not" : "is")\", found \(null.quotedForMessage)", at: null.position)
            }
            return .isNull(field, negated: negated)
        default:
            throw FilterError(
                "expected an operator (=, !=, <, <=, >, >=, in, like, ilike, is) after \"\(fieldToken.text)\", found \(operatorToken.quotedForMessage)",
                at: operatorToken.position
            )
        }
    }

    /// A literal after `op`, with its position.
    private mutating func value(after op: FilterToken) throws(FilterError) -> (FilterValue, Int) {
        let token = advance()
        switch (token.kind, token.keyword) {
        case (.integer(let number), _): return (.integer(number), token.position)
        case (.double(let number), _): return (.double(number), token.position)
        case (.string(let text), _): return (.string(text), token.position)
        case (_, "true"): return (.bool(true), token.position)
        case (_, "false"): return (.bool(false), token.position)
        case (_, "null"):
            throw FilterError("null is not a value; write \"is null\" or \"is not null\"", at: token.position)
        case (.end, _):
            throw FilterError("expected a value after \"\(op.text)\"", at: token.position)
        default:
            throw FilterError("expected a value after \"\(op.text)\", found \(token.quotedForMessage)", at: token.position)
        }
    }

    /// `( value {, value} )` after `in`.
    private mutating func list(_ field: FilterField, after keyword: FilterToken) throws(FilterError) -> [FilterValue] {
        let open = advance()
        guard open.kind == .leftParen else {
            throw FilterError("expected \"(\" after \"\(keyword.text)\", found \(open.quotedForMessage)", at: open.position)
        }
        if current.kind == .rightParen {
            throw FilterError("empty list after \"\(keyword.text)\"", at: current.position)
        }
        var values: [FilterValue] = []
        var separator = open
        while true {
            let (value, position) = try self.value(after: separator)
            try Self.check(field, .equal, value, operatorPosition: keyword.position, valuePosition: position)
            values.append(Self.normalized(field, value))
            separator = advance()
            switch separator.kind {
            case .comma: continue
            case .rightParen: return values
            default:
                throw FilterError("expected \",\" or \")\" in the list, found \(separator.quotedForMessage)", at: separator.position)
            }
        }
    }

    /// The string pattern after `like` or `ilike`, checking the field holds strings.
    private mutating func pattern(_ field: FilterField, after keyword: FilterToken) throws(FilterError) -> String {
        let token = advance()
        if let kind = Self.kind(of: field), kind != .string || field == .attribute(.status) {
            let what = field == .attribute(.status) ? "status is compared with =, != or in" : "\(field) is a \(kind.rawValue)"
            throw FilterError("\"\(keyword.text)\" applies to strings; \(what)", at: keyword.position)
        }
        guard case .string(let pattern) = token.kind else {
            throw FilterError("expected a string pattern after \"\(keyword.text)\"\(token.kind == .end ? "" : ", found \(token.quotedForMessage)")", at: token.position)
        }
        return pattern
    }

    // MARK: Fields

    /// A field name; the current token must be one.
    private mutating func field() throws(FilterError) -> FilterField {
        let token = advance()
        guard case .name(let segments) = token.kind, !Self.keywords.contains(token.keyword ?? "") else {
            throw FilterError("expected a field\(token.kind == .end ? "" : ", found \(token.quotedForMessage)")", at: token.position)
        }
        let head = segments[0].text.lowercased()
        switch head {
        case "params", "tags", "metrics":
            guard segments.count >= 2 else {
                throw FilterError("expected a key after \"\(segments[0].text)\", as in \(head).<key>", at: token.position + token.text.unicodeScalars.count)
            }
            let key = segments[1].text
            if head != "metrics" {
                // A param's or a tag's key is everything after the head, dots included
                // (`params.env.git_commit`): nothing follows a key there, unlike a metric's aggregate.
                let whole = segments[1...].map(\.text).joined(separator: ".")
                return head == "params" ? .param(whole) : .tag(whole)
            }
            if segments.count == 2 { return .metric(key, .last) }
            let last = segments[2]
            if segments.count == 3 {
                guard !last.quoted, let aggregate = MetricAggregate(rawValue: last.text.lowercased()) else {
                    throw FilterError(
                        "unknown metric aggregate \"\(last.text)\"; expected one of \(MetricAggregate.allCases.map(\.rawValue).joined(separator: ", ")) (write a key containing \".\" in backticks)",
                        at: last.position
                    )
                }
                return .metric(key, aggregate)
            }
            // A metric's key with dots, then its aggregate: the key must be quoted.
            let keyParts = segments[1..<(segments.count - 1)].map(\.text).joined(separator: ".")
            let example = "metrics.\(FilterField.written(keyParts)).\(segments.last!.text)"
            throw FilterError("a key containing \".\" must be written in backticks, as in \(example)", at: segments[2].position - 1)
        default:
            if segments.count == 1, let attribute = RunAttribute(rawValue: head) {
                return .attribute(attribute)
            }
            throw FilterError(
                "unknown field \"\(token.text)\"; expected params.<key>, metrics.<key>[.<aggregate>], tags.<key> or one of \(RunAttribute.allCases.map(\.rawValue).joined(separator: ", "))",
                at: token.position
            )
        }
    }

    /// Words that are never a field.
    private static let keywords: Set<String> = ["and", "or", "not", "in", "like", "ilike", "is", "null", "true", "false", "asc", "desc"]

    /// The kind of value a field holds; `nil` for params, which hold any kind.
    static func kind(of field: FilterField) -> FilterValueKind? {
        switch field {
        case .param: nil
        case .metric: .number
        case .tag: .string
        case .attribute(let attribute): attribute.kind
        }
    }

    /// Rejects comparisons that can never hold because of the field's type.
    private static func check(_ field: FilterField, _ op: FilterExpression.Comparison, _ value: FilterValue, operatorPosition: Int, valuePosition: Int) throws(FilterError) {
        if case .attribute(.status) = field {
            guard !op.isOrdering else {
                throw FilterError("status can only be compared with =, != or in", at: operatorPosition)
            }
            guard case .string(let text) = value, RunState.byName[text.lowercased()] != nil else {
                throw FilterError("status is one of \"running\", \"completed\", \"failed\", \"killed\", \"crashed\"; got \(value)", at: valuePosition)
            }
            return
        }
        if case .bool = value, op.isOrdering {
            throw FilterError("true and false can only be compared with = or !=", at: operatorPosition)
        }
        guard let kind = kind(of: field), kind != value.kind else { return }
        let hint = kind == .string && value.kind != .string ? "; write the value in quotes" : ""
        throw FilterError("\(field) is a \(kind.rawValue); it cannot be compared with a \(value.kind.rawValue)\(hint)", at: valuePosition)
    }

    /// Status names are matched case-insensitively: keep them lower-cased.
    private static func normalized(_ field: FilterField, _ value: FilterValue) -> FilterValue {
        if case .attribute(.status) = field, case .string(let text) = value { return .string(text.lowercased()) }
        return value
    }
}
