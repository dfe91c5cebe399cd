/// A value that can be read from its proto3 JSON form: every generated message and enum.
///
/// Messages follow the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/):
/// fields by lowerCamelCase JSON name or original snake_case name, `null` for a field's default,
/// 64-bit integers as strings or numbers, 32-bit integers as numbers or strings, floating-point
/// numbers as numbers or `"NaN"`, `"Infinity"`, `"-Infinity"`, bytes as standard or URL-safe
/// base64 with or without padding, enums by name or number, maps as objects with string keys.
/// Unknown fields, values of the wrong JSON type, integers out of range or with a fraction, and
/// two members of one oneof are errors.
public protocol ProtoJSONDecodable {
    /// Reads the value from its proto3 JSON form.
    ///
    /// - Throws: `ProtoJSONError` whose message names the JSON path of the offending value.
    init(protoJSON: JSONValue) throws(ProtoJSONError)
}

extension ProtoJSONDecodable {
    /// Parses proto3 JSON text and reads the value from it.
    ///
    /// - Throws: `ProtoJSONError` when the text is not JSON (see `JSONValue.parse`) or does not
    ///   hold the value.
    public init(jsonString: String) throws(ProtoJSONError) {
        try self.init(protoJSON: JSONValue.parse(jsonString))
    }

    /// Parses proto3 JSON text given as UTF-8 bytes and reads the value from it.
    ///
    /// - Throws: `ProtoJSONError` when the bytes are not JSON (see `JSONValue.parse`) or do not
    ///   hold the value.
    public init(jsonBytes: [UInt8]) throws(ProtoJSONError) {
        try self.init(protoJSON: JSONValue.parse(jsonBytes))
    }
}

/// Why proto3 JSON could not be parsed or read into a message.
///
/// ``message`` starts with the JSON path of the offending value, as in
/// `"filter.tags[2]: expected a string, got a number"`; errors of the JSON text itself have no
/// path and name a byte offset instead.
public struct ProtoJSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One step of a path: an object member, an array index or a map key.
    enum Step: Sendable, Hashable {
        case field(String)
        case index(Int)
        case key(String)
    }

    /// The steps from the top-level value to the offending one.
    private(set) var steps: [Step]

    /// What is wrong with the value at ``path``.
    public let reason: String

    /// Creates an error about the value at the top level.
    public init(reason: String) {
        self.steps = []
        self.reason = reason
    }

    /// The JSON path of the offending value, such as `filter.tags[2]` or `labels["a"]`; empty for
    /// the top-level value and for errors of the JSON text.
    public var path: String {
        var out = ""
        for step in steps {
            switch step {
            case .field(let name):
                if !out.isEmpty { out += "." }
                out += name
            case .index(let i):
                out += "[\(i)]"
            case .key(let k):
                out += "[" + Self.quoted(k) + "]"
            }
        }
        return out
    }

    /// The path and the reason, as in `"filter.tags[2]: expected a string, got a number"`.
    public var message: String {
        let p = path
        return p.isEmpty ? reason : p + ": " + reason
    }

    public var description: String { message }

    /// The same error, one step further from the top: inside member `name` of an object.
    func inField(_ name: String) -> ProtoJSONError {
        var e = self
        e.steps.insert(.field(name), at: 0)
        return e
    }

    /// The same error, inside element `index` of an array.
    func inIndex(_ index: Int) -> ProtoJSONError {
        var e = self
        e.steps.insert(.index(index), at: 0)
        return e
    }

    /// The same error, inside the value of map key `key`.
    func inKey(_ key: String) -> ProtoJSONError {
        var e = self
        e.steps.insert(.key(key), at: 0)
        return e
    }

    /// `s` as a JSON string literal, shortened when long (for messages).
    static func quoted(_ s: String) -> String {
        let short = s.count > 64 ? String(s.prefix(64)) + "…" : s
        return JSONValue.string(short).serialized(pretty: false)
    }
}

/// The helpers the generated `init(protoJSON:)` initializers call.
enum ProtoJSONDecoding {
    // MARK: Messages

    /// The members of a message's JSON object.
    static func members(of json: JSONValue, message: String) throws(ProtoJSONError) -> [String: JSONValue] {
        guard case .object(let members) = json else {
            throw ProtoJSONError(reason: "expected an object (\(message)), got \(kind(json))")
        }
        return members
    }

    /// The members of an object in key order, so that the first error found does not depend on
    /// hashing.
    static func sorted(_ members: [String: JSONValue]) -> [(key: String, value: JSONValue)] {
        members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    /// Throws when a message object has any member at all (a message without fields).
    static func rejectMembers(_ members: [String: JSONValue], message: String) throws(ProtoJSONError) {
        if let first = sorted(members).first {
            throw unknownField(first.key, message: message).inField(first.key)
        }
    }

    /// The error for a member that names no field of the message.
    static func unknownField(_ key: String, message: String) -> ProtoJSONError {
        ProtoJSONError(reason: "unknown field: \(message) has no field named \(ProtoJSONError.quoted(key))")
    }

    /// Throws when a field is given under both its JSON name and its original name.
    static func checkSingleSpelling(_ members: [String: JSONValue], _ jsonName: String, _ protoName: String) throws(ProtoJSONError) {
        if members[jsonName] != nil && members[protoName] != nil {
            throw ProtoJSONError(reason: "the field is given twice, as \(ProtoJSONError.quoted(jsonName)) and \(ProtoJSONError.quoted(protoName))")
        }
    }

    /// Records that member `key` of oneof `oneof` is set; throws when another member is set already.
    static func setOneof(_ current: inout String?, _ key: String, oneof: String) throws(ProtoJSONError) {
        if let other = current {
            throw ProtoJSONError(reason: "more than one member of oneof \(ProtoJSONError.quoted(oneof)) is set: \(ProtoJSONError.quoted(other)) and \(ProtoJSONError.quoted(key))")
        }
        current = key
    }

    // MARK: Repeated fields and maps

    /// A repeated field: a JSON array whose elements are read by `element` (`null` elements are errors).
    static func array<T>(_ json: JSONValue, _ element: (JSONValue) throws(ProtoJSONError) -> T) throws(ProtoJSONError) -> [T] {
        guard case .array(let items) = json else {
            throw ProtoJSONError(reason: "expected an array, got \(kind(json))")
        }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            do throws(ProtoJSONError) {
                if case .null = item { throw ProtoJSONError(reason: "null is not allowed in a repeated field") }
                out.append(try element(item))
            } catch {
                throw error.inIndex(i)
            }
        }
        return out
    }

    /// A map field: a JSON object whose keys are read by `key` and values by `value` (`null`
    /// values are errors).
    static func map<K: Hashable, V>(
        _ json: JSONValue,
        key: (String) throws(ProtoJSONError) -> K,
        value: (JSONValue) throws(ProtoJSONError) -> V
    ) throws(ProtoJSONError) -> [K: V] {
        guard case .object(let members) = json else {
            throw ProtoJSONError(reason: "expected an object (a map), got \(kind(json))")
        }
        var out: [K: V] = [:]
        out.reserveCapacity(members.count)
        for (k, v) in sorted(members) {
            do throws(ProtoJSONError) {
                let mapKey = try key(k)
                if case .null = v { throw ProtoJSONError(reason: "null is not allowed as a map value") }
                guard out.updateValue(try value(v), forKey: mapKey) == nil else {
                    throw ProtoJSONError(reason: "the map key is given twice (in different spellings)")
                }
            } catch {
                throw error.inKey(k)
            }
        }
        return out
    }

    /// A map key of type string.
    static func stringKey(_ key: String) throws(ProtoJSONError) -> String { key }

    /// A map key of type bool: `"true"` or `"false"`.
    static func boolKey(_ key: String) throws(ProtoJSONError) -> Bool {
        switch key {
        case "true": return true
        case "false": return false
        default: throw ProtoJSONError(reason: "invalid map key: expected \"true\" or \"false\"")
        }
    }

    /// A map key of a signed 32-bit integer type, in decimal.
    static func int32Key(_ key: String) throws(ProtoJSONError) -> Int32 { try integerKey(key, "int32") }

    /// A map key of an unsigned 32-bit integer type, in decimal.
    static func uint32Key(_ key: String) throws(ProtoJSONError) -> UInt32 { try integerKey(key, "uint32") }

    /// A map key of a signed 64-bit integer type, in decimal.
    static func int64Key(_ key: String) throws(ProtoJSONError) -> Int64 { try integerKey(key, "int64") }

    /// A map key of an unsigned 64-bit integer type, in decimal.
    static func uint64Key(_ key: String) throws(ProtoJSONError) -> UInt64 { try integerKey(key, "uint64") }

    private static func integerKey<T: FixedWidthInteger>(_ key: String, _ typeName: String) throws(ProtoJSONError) -> T {
        guard JSONValue.isJSONInteger(key) else {
            throw ProtoJSONError(reason: "invalid map key: expected a decimal \(typeName)")
        }
        guard let v = T(key) else {
            throw ProtoJSONError(reason: "invalid map key: \(key) is out of range for \(typeName)")
        }
        return v
    }

    // MARK: Scalars

    /// A bool field: `true` or `false`.
    static func decodeBool(_ json: JSONValue) throws(ProtoJSONError) -> Bool {
        guard case .bool(let b) = json else { throw wrongType("a bool (true or false)", json) }
        return b
    }

    /// A string field.
    static func decodeString(_ json: JSONValue) throws(ProtoJSONError) -> String {
        guard case .string(let s) = json else { throw wrongType("a string", json) }
        return s
    }

    /// A bytes field: standard or URL-safe base64, with or without padding.
    static func decodeBytes(_ json: JSONValue) throws(ProtoJSONError) -> [UInt8] {
        guard case .string(let s) = json else { throw wrongType("a base64 string", json) }
        guard let bytes = base64Decode(s) else {
            throw ProtoJSONError(reason: "invalid base64")
        }
        return bytes
    }

    /// An int32, sint32 or sfixed32 field.
    static func decodeInt32(_ json: JSONValue) throws(ProtoJSONError) -> Int32 { try integer(json, "int32") }

    /// A uint32 or fixed32 field.
    static func decodeUInt32(_ json: JSONValue) throws(ProtoJSONError) -> UInt32 { try integer(json, "uint32") }

    /// An int64, sint64 or sfixed64 field.
    static func decodeInt64(_ json: JSONValue) throws(ProtoJSONError) -> Int64 { try integer(json, "int64") }

    /// A uint64 or fixed64 field.
    static func decodeUInt64(_ json: JSONValue) throws(ProtoJSONError) -> UInt64 { try integer(json, "uint64") }

    /// A double field: a number, a numeric string, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    static func decodeDouble(_ json: JSONValue) throws(ProtoJSONError) -> Double {
        switch json {
        case .double(let d): return d
        case .float(let f): return Double(f)
        case .integer(let i): return Double(i)
        case .string(let s):
            switch s {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: break
            }
            guard JSONValue.isJSONNumber(s), let d = Double(s) else {
                throw ProtoJSONError(reason: "expected a number or \"NaN\", \"Infinity\", \"-Infinity\", got the string \(ProtoJSONError.quoted(s))")
            }
            guard d.isFinite else { throw ProtoJSONError(reason: "\(s) is out of range for double") }
            return d
        default:
            throw wrongType("a number", json)
        }
    }

    /// A float field: a number, a numeric string, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    static func decodeFloat(_ json: JSONValue) throws(ProtoJSONError) -> Float {
        switch json {
        case .float(let f): return f
        case .double(let d):
            let f = Float(d)
            guard f.isFinite || !d.isFinite else { throw ProtoJSONError(reason: "\(d) is out of range for float") }
            return f
        case .integer(let i): return Float(i)
        case .string(let s):
            switch s {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: break
            }
            guard JSONValue.isJSONNumber(s), let f = Float(s) else {
                throw ProtoJSONError(reason: "expected a number or \"NaN\", \"Infinity\", \"-Infinity\", got the string \(ProtoJSONError.quoted(s))")
            }
            guard f.isFinite else { throw ProtoJSONError(reason: "\(s) is out of range for float") }
            return f
        default:
            throw wrongType("a number", json)
        }
    }

    /// An enum value by number (any int32; names are matched by the generated code).
    static func enumNumber(_ json: JSONValue, enumName: String) throws(ProtoJSONError) -> Int32 {
        switch json {
        case .string(let s):
            throw ProtoJSONError(reason: "unknown value \(ProtoJSONError.quoted(s)) of enum \(enumName)")
        case .integer, .double, .float:
            return try integer(json, "enum \(enumName)")
        default:
            throw wrongType("an enum name (string) or number of \(enumName)", json)
        }
    }

    /// Integers are read exactly: a JSON number that is an integer literal arrives as
    /// `.integer`; other numbers (`1e2`, `100.0`) must be integral and, when beyond 2^53, are
    /// refused (a Double cannot hold them exactly). Decimal strings are parsed exactly.
    private static func integer<T: FixedWidthInteger>(_ json: JSONValue, _ typeName: String) throws(ProtoJSONError) -> T {
        switch json {
        case .integer(let i):
            guard let v = T(exactly: i) else { throw outOfRange(String(i), typeName) }
            return v
        case .double(let d):
            return try integer(fromDouble: d, text: "\(d)", typeName)
        case .float(let f):
            return try integer(fromDouble: Double(f), text: "\(f)", typeName)
        case .string(let s):
            guard JSONValue.isJSONNumber(s) else {
                throw ProtoJSONError(reason: "expected an integer (\(typeName)), got the string \(ProtoJSONError.quoted(s))")
            }
            if JSONValue.isJSONInteger(s) {
                guard let v = T(s) else { throw outOfRange(s, typeName) }
                return v
            }
            guard let d = Double(s) else { throw outOfRange(s, typeName) }
            return try integer(fromDouble: d, text: s, typeName)
        default:
            throw wrongType("an integer (\(typeName))", json)
        }
    }

    private static func integer<T: FixedWidthInteger>(fromDouble d: Double, text: String, _ typeName: String) throws(ProtoJSONError) -> T {
        guard d.isFinite, d.rounded(.towardZero) == d else {
            throw ProtoJSONError(reason: "expected an integer (\(typeName)), got \(text)")
        }
        let exactLimit = 9_007_199_254_740_992.0  // 2^53
        if d.magnitude <= exactLimit, let v = T(exactly: d) { return v }
        let inRange = T.isSigned ? d.magnitude <= 9_223_372_036_854_775_808.0 : (d >= 0 && d <= 18_446_744_073_709_551_616.0)
        if d.magnitude > exactLimit && T.bitWidth == 64 && inRange {
            throw ProtoJSONError(reason: "\(text) cannot be read exactly from a JSON number (beyond 2^53 and written with a fraction, an exponent or beyond the int64 range); write 64-bit integers as decimal strings")
        }
        throw outOfRange(text, typeName)
    }

    private static func outOfRange(_ text: String, _ typeName: String) -> ProtoJSONError {
        ProtoJSONError(reason: "\(text) is out of range for \(typeName)")
    }

    /// The error for a value of the wrong JSON type.
    static func wrongType(_ expected: String, _ json: JSONValue) -> ProtoJSONError {
        ProtoJSONError(reason: "expected \(expected), got \(kind(json))")
    }

    /// The JSON type of a value, for messages.
    static func kind(_ json: JSONValue) -> String {
        switch json {
        case .null: "null"
        case .bool: "a bool"
        case .integer, .double, .float: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    // MARK: Base64

    /// Standard (`+/`) or URL-safe (`-_`) base64, with or without `=` padding; nil when invalid.
    static func base64Decode(_ text: String) -> [UInt8]? {
        var chars = Array(text.utf8)
        // Padding: at most two `=`, only at the end, and then the length must be a multiple of 4.
        var padding = 0
        while let last = chars.last, last == UInt8(ascii: "=") {
            chars.removeLast()
            padding += 1
        }
        if padding > 0 && (padding > 2 || (chars.count + padding) % 4 != 0) { return nil }
        if chars.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in chars {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            default: return nil
            }
            acc = (acc << 6 | v) & 0xFFFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
