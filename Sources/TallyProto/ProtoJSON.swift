/// A JSON value, as produced by the proto3 JSON mapping of the generated messages.
///
/// Objects keep their keys in a dictionary; ``serialized(pretty:)`` writes them sorted, so the
/// same value always gives the same text.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// An integer written as a JSON number (32-bit protobuf integers, unknown enum numbers).
    case integer(Int64)
    /// A double: finite values as JSON numbers, NaN and the infinities as the strings
    /// `"NaN"`, `"Infinity"`, `"-Infinity"`.
    case double(Double)
    /// A float, written with the shortest text that reads back as the same float.
    case float(Float)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A 64-bit integer: the proto3 mapping writes it as a decimal string.
    public static func int64(_ value: Int64) -> JSONValue { .string(String(value)) }

    /// An unsigned 64-bit integer: the proto3 mapping writes it as a decimal string.
    public static func uint64(_ value: UInt64) -> JSONValue { .string(String(value)) }

    /// Bytes: the proto3 mapping writes them as standard base64 with padding.
    public static func bytes(_ value: [UInt8]) -> JSONValue { .string(Base64.encode(value)) }

    /// The value as JSON text: keys sorted, two-space indentation when `pretty`.
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .double(let d): out += Self.number(d)
        case .float(let f): out += Self.number(f)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                Self.newline(&out, pretty: pretty, indent: indent + 1)
                item.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            Self.newline(&out, pretty: pretty, indent: indent)
            out += "]"
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            out += "{"
            for (i, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out += "," }
                Self.newline(&out, pretty: pretty, indent: indent + 1)
                Self.quote(key, into: &out)
                out += pretty ? ": " : ":"
                members[key]!.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            Self.newline(&out, pretty: pretty, indent: indent)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, pretty: Bool, indent: Int) {
        guard pretty else { return }
        out += "\n"
        out += String(repeating: "  ", count: indent)
    }

    private static func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F) -> String {
        if value.isNaN { return "\"NaN\"" }
        if value.isInfinite { return value < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
        return value.description
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// A value with a proto3 JSON form: every generated message and enum.
public protocol ProtoJSONEncodable {
    /// The value in the canonical proto3 JSON mapping: lowerCamelCase field names, 64-bit
    /// integers as strings, bytes as base64, enums by name, fields at their default value left
    /// out (except members of a oneof or optional fields that are set).
    var protoJSON: JSONValue { get }
}

extension ProtoJSONEncodable {
    /// The proto3 JSON text of the value, keys sorted.
    public func jsonString(pretty: Bool = true) -> String {
        protoJSON.serialized(pretty: pretty)
    }
}

/// Standard base64 with padding (RFC 4648 §4).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
