/// Splits a filter expression or an order term into tokens.
///
/// Positions are 0-based offsets in Unicode code points. Names are read with their dotted
/// segments in one token (`params.lr`, ``metrics.`a.b`.max``) because a key may start with a
/// digit or contain `-`, `/` and `:`, which mean nothing elsewhere in the grammar.
struct FilterLexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0

    /// Creates a lexer over `text`.
    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    /// Every token of the input, ending with `.end`.
    /// - Throws: ``FilterError`` for an unterminated string or quoted key, a malformed number or
    ///   a character that starts no token.
    static func tokens(_ text: String) throws(FilterError) -> [FilterToken] {
        var lexer = FilterLexer(text)
        var tokens: [FilterToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    /// Whether `scalar` may appear in a key written without backticks.
    static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", "/", ":": true
        default: scalar.value > 127 && scalar.properties.isAlphabetic
        }
    }

    /// Whether `scalar` may start a name (a keyword, an attribute or a field prefix).
    static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "_": true
        default: scalar.value > 127 && scalar.properties.isAlphabetic
        }
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private func text(from start: Int) -> String {
        var result = ""
        result.unicodeScalars.append(contentsOf: scalars[start..<index])
        return result
    }

    /// The next token.
    mutating func next() throws(FilterError) -> FilterToken {
        while let scalar = peek(), scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
            index += 1
        }
        let start = index
        guard let scalar = peek() else {
            return FilterToken(kind: .end, position: start, text: "")
        }
        func single(_ kind: FilterToken.Kind, length: Int = 1) -> FilterToken {
            index += length
            return FilterToken(kind: kind, position: start, text: text(from: start))
        }
        switch scalar {
        case "(": return single(.leftParen)
        case ")": return single(.rightParen)
        case ",": return single(.comma)
        case "=": return single(.comparison(.equal))
        case "!" where peek(1) == "=": return single(.comparison(.notEqual), length: 2)
        case "<" where peek(1) == "=": return single(.comparison(.lessOrEqual), length: 2)
        case "<": return single(.comparison(.less))
        case ">" where peek(1) == "=": return single(.comparison(.greaterOrEqual), length: 2)
        case ">": return single(.comparison(.greater))
        case "\"", "'":
            let value = try quoted(closing: scalar, what: "string")
            return FilterToken(kind: .string(value), position: start, text: text(from: start))
        case "`":
            throw FilterError("a key in backticks must follow \"params.\", \"metrics.\" or \"tags.\"", at: start)
        default:
            break
        }
        if Self.isDigit(scalar)
            || scalar == "-" && (peek(1).map(Self.isDigit) == true || peek(1) == "." && peek(2).map(Self.isDigit) == true)
            || scalar == "." && peek(1).map(Self.isDigit) == true {
            return try number()
        }
        if Self.isNameStart(scalar) {
            return try name()
        }
        throw FilterError("unexpected character \"\(scalar)\"", at: start)
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar)
    }

    private mutating func digits() -> Int {
        let start = index
        while let scalar = peek(), Self.isDigit(scalar) { index += 1 }
        return index - start
    }

    /// `-? (digits [. digits*] | . digits) ([eE] [+-]? digits)?`, followed by no name character.
    private mutating func number() throws(FilterError) -> FilterToken {
        let start = index
        if peek() == "-" { index += 1 }
        var isInteger = true
        let whole = digits()
        if peek() == ".", whole > 0 || peek(1).map(Self.isDigit) == true {
            index += 1
            isInteger = false
            _ = digits()
        }
        if peek() == "e" || peek() == "E" {
            let mark = index
            index += 1
            if peek() == "+" || peek() == "-" { index += 1 }
            if digits() == 0 {
                index = mark + 1
                throw FilterError("malformed number \"\(text(from: start))\": expected digits after the exponent", at: start)
            }
            isInteger = false
        }
        if let next = peek(), Self.isKeyCharacter(next) || next == "." {
            while let scalar = peek(), Self.isKeyCharacter(scalar) || scalar == "." { index += 1 }
            throw FilterError("malformed number \"\(text(from: start))\"", at: start)
        }
        let source = text(from: start)
        if isInteger {
            guard let value = Int64(source) else {
                throw FilterError("integer \(source) is out of range", at: start)
            }
            return FilterToken(kind: .integer(value), position: start, text: source)
        }
        guard let value = Double(source), value.isFinite else {
            throw FilterError("number \(source) is out of range", at: start)
        }
        return FilterToken(kind: .double(value), position: start, text: source)
    }

    /// A string in `closing` quotes (or a key in backticks), with backslash escapes:
    /// `\\`, `\"`, `\'`, `` \` ``, `\n`, `\t`, `\r`; a backslash before any other character is kept.
    private mutating func quoted(closing: Unicode.Scalar, what: String) throws(FilterError) -> String {
        let start = index
        index += 1
        var value = ""
        while let scalar = peek() {
            index += 1
            if scalar == closing { return value }
            if scalar == "\\", let escaped = peek() {
                index += 1
                switch escaped {
                case "\\", "\"", "'", "`": value.unicodeScalars.append(escaped)
                case "n": value.unicodeScalars.append("\n")
                case "t": value.unicodeScalars.append("\t")
                case "r": value.unicodeScalars.append("\r")
                default:
                    value.unicodeScalars.append("\\")
                    value.unicodeScalars.append(escaped)
                }
            } else {
                value.unicodeScalars.append(scalar)
            }
        }
        throw FilterError("unterminated \(what)", at: start)
    }

    /// A name and its dotted segments: `word ( "." ( key | "`" quoted "`" ) )*`.
    private mutating func name() throws(FilterError) -> FilterToken {
        let start = index
        var segments: [FilterToken.Segment] = []
        segments.append(bareSegment())
        while peek() == "." {
            index += 1
            let segmentStart = index
            if peek() == "`" {
                let key = try quoted(closing: "`", what: "key in backticks")
                if key.isEmpty {
                    throw FilterError("empty key in backticks", at: segmentStart)
                }
                segments.append(FilterToken.Segment(text: key, quoted: true, position: segmentStart))
            } else if let scalar = peek(), Self.isKeyCharacter(scalar) {
                segments.append(bareSegment())
            } else {
                throw FilterError("expected a key after \"\(text(from: start))\"", at: segmentStart)
            }
        }
        return FilterToken(kind: .name(segments), position: start, text: text(from: start))
    }

    private mutating func bareSegment() -> FilterToken.Segment {
        let start = index
        while let scalar = peek(), Self.isKeyCharacter(scalar) { index += 1 }
        return FilterToken.Segment(text: text(from: start), quoted: false, position: start)
    }
}
