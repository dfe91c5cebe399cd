// A strict RFC 8259 JSON parser producing `JSONValue`.
//
// Written by hand rather than over Foundation's `JSONSerialization`, which cannot give what the
// proto3 JSON decoding needs: it accepts a trailing comma (`[1,]`), keeps the last of duplicate
// object keys without a word (`{"a":1,"a":2}`), reads `-9223372036854775809` as an
// `NSDecimalNumber` whose `Int64` value is silently wrong, and rounds every fraction to a Double
// (a float field then rounds twice). This parser rejects all of those, keeps every integer
// literal that fits in an `Int64` exact, and limits nesting so hostile input cannot exhaust the
// stack.

extension JSONValue {
    /// The nesting depth `parse(_:maxDepth:)` accepts unless told otherwise.
    public static let defaultMaxParseDepth = 100

    /// Parses JSON text (RFC 8259, strictly): UTF-8, one value with optional whitespace around it.
    ///
    /// Integer literals that fit in an `Int64` become ``integer(_:)`` exactly; every other number
    /// becomes ``double(_:)`` (a number too large for a Double is an error). Duplicate keys in an
    /// object, trailing commas, comments, leading zeros, lone surrogate escapes, unescaped control
    /// characters, invalid UTF-8 and a byte-order mark are errors.
    ///
    /// - Parameters:
    ///   - bytes: The UTF-8 text.
    ///   - maxDepth: The deepest nesting of arrays and objects accepted (the top-level value
    ///     counts as depth 1).
    /// - Throws: `ProtoJSONError` naming the byte offset of the problem.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxParseDepth) throws(ProtoJSONError) -> JSONValue {
        var parser = Parser(bytes: Array(bytes), maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses JSON text given as a string; the same rules as parsing its UTF-8 bytes.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxParseDepth) throws(ProtoJSONError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// Whether `text` is a number in the JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isJSONNumber(_ text: some StringProtocol) -> Bool {
        let bytes = Array(text.utf8)
        return numberEnd(bytes, from: 0) == bytes.count && !bytes.isEmpty
    }

    /// Whether `text` is a JSON number with neither fraction nor exponent.
    static func isJSONInteger(_ text: some StringProtocol) -> Bool {
        isJSONNumber(text) && !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// The end of the JSON number starting at `start`, or nil when none starts there.
    fileprivate static func numberEnd(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        func digit(_ i: Int) -> Bool { i < b.count && b[i] >= UInt8(ascii: "0") && b[i] <= UInt8(ascii: "9") }
        if i < b.count && b[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return nil }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while digit(i) { i += 1 }
        }
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            i += 1
            if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        return i
    }

    /// The recursive-descent parser; recursion is bounded by `maxDepth`.
    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0
        var depth = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func parseDocument() throws(ProtoJSONError) -> JSONValue {
            // Validate the whole input once: slices between ASCII delimiters are then valid UTF-8 too.
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw ProtoJSONError(reason: "invalid JSON: the text is not valid UTF-8")
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("expected a JSON value, found the end of the text") }
            let value = try parseValue()
            skipWhitespace()
            guard index == bytes.count else { throw error("unexpected \(describe(index)) after the JSON value") }
            return value
        }

        func error(_ what: String, at offset: Int? = nil) -> ProtoJSONError {
            ProtoJSONError(reason: "invalid JSON at byte \(offset ?? index): \(what)")
        }

        func describe(_ i: Int) -> String {
            guard i < bytes.count else { return "end of the text" }
            let b = bytes[i]
            if b >= 0x21 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
            return "byte 0x" + String(b, radix: 16, uppercase: true)
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func parseValue() throws(ProtoJSONError) -> JSONValue {
            guard index < bytes.count else { throw error("expected a JSON value, found the end of the text") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject()
            case UInt8(ascii: "["): return try parseArray()
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw error("expected a JSON value, found \(describe(index))")
            }
        }

        mutating func literal(_ word: StaticString) throws(ProtoJSONError) {
            let start = index
            let count = word.utf8CodeUnitCount
            let matches = word.withUTF8Buffer { expected in
                bytes.count - index >= count && bytes[index..<index + count].elementsEqual(expected)
            }
            guard matches else { throw error("expected a JSON value, found \(describe(start))", at: start) }
            index += count
        }

        mutating func enter() throws(ProtoJSONError) {
            depth += 1
            guard depth <= maxDepth else { throw error("arrays and objects nested deeper than \(maxDepth) levels") }
        }

        mutating func parseArray() throws(ProtoJSONError) -> JSONValue {
            try enter()
            index += 1  // [
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue())
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']' in an array, found \(describe(index))") }
                index += 1
                depth -= 1
                return .array(items)
            }
        }

        mutating func parseObject() throws(ProtoJSONError) -> JSONValue {
            try enter()
            index += 1  // {
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected a string key in an object, found \(describe(index))")
                }
                let keyStart = index
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw error("expected ':' after an object key, found \(describe(index))")
                }
                index += 1
                skipWhitespace()
                let value = try parseValue()
                guard members.updateValue(value, forKey: key) == nil else {
                    throw error("duplicate key \(ProtoJSONError.quoted(key)) in an object", at: keyStart)
                }
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}' in an object, found \(describe(index))") }
                index += 1
                depth -= 1
                return .object(members)
            }
        }

        mutating func parseNumber() throws(ProtoJSONError) -> JSONValue {
            let start = index
            guard let end = JSONValue.numberEnd(bytes, from: start) else {
                throw error("malformed number", at: start)
            }
            // A number must not run into letters or digits ("01", "1x", "-").
            if end < bytes.count {
                let next = bytes[end]
                let isAlnum = (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9"))
                    || (next | 0x20 >= UInt8(ascii: "a") && next | 0x20 <= UInt8(ascii: "z"))
                    || next == UInt8(ascii: ".") || next == UInt8(ascii: "+") || next == UInt8(ascii: "-")
                guard !isAlnum else { throw error("malformed number", at: start) }
            }
            index = end
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            let isInteger = !bytes[start..<end].contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            if isInteger, let i = Int64(text) { return .integer(i) }
            guard let d = Double(text), d.isFinite else {
                throw error("number \(text) is too large", at: start)
            }
            return .double(d)
        }

        mutating func parseString() throws(ProtoJSONError) -> String {
            let open = index
            index += 1  // "
            var out: [UInt8] = []
            var runStart = index
            while true {
                guard index < bytes.count else { throw error("unterminated string", at: open) }
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    out.append(contentsOf: bytes[runStart..<index])
                    index += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if b < 0x20 {
                    throw error("unescaped control character 0x\(String(b, radix: 16, uppercase: true)) in a string")
                }
                if b != UInt8(ascii: "\\") {
                    index += 1
                    continue
                }
                out.append(contentsOf: bytes[runStart..<index])
                let escape = index
                index += 1
                guard index < bytes.count else { throw error("unterminated string", at: open) }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(escapeAt: escape)
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        // A high surrogate: a \u escape of a low surrogate must follow.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate escape in a string", at: escape)
                        }
                        index += 2
                        let low = try hex4(escapeAt: escape)
                        guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate escape in a string", at: escape) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw error("unpaired surrogate escape in a string", at: escape)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape", at: escape) }
                    out.append(contentsOf: Character(u).utf8)
                default:
                    throw error("invalid escape \(describe(index - 1)) in a string", at: escape)
                }
                runStart = index
            }
        }

        mutating func hex4(escapeAt escape: Int) throws(ProtoJSONError) -> UInt32 {
            guard bytes.count - index >= 4 else { throw error("invalid \\u escape", at: escape) }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[index]
                let d: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
                default: throw error("invalid \\u escape", at: escape)
                }
                v = v << 4 | UInt32(d)
                index += 1
            }
            return v
        }
    }
}
