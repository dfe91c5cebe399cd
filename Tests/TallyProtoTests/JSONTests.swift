import Foundation
import Testing
import TallyProto

/// A parsed JSON document, for comparing JSON values rather than their text.
enum ParsedJSON: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ParsedJSON])
    case object([String: ParsedJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? container.decode(Double.self) {
            self = .number(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([ParsedJSON].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: ParsedJSON].self))
        }
    }

    static func parse(_ text: String) throws -> ParsedJSON {
        try JSONDecoder().decode(ParsedJSON.self, from: Data(text.utf8))
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): "{" + o.keys.sorted().map { "\($0): \(o[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
}

@Suite("proto3 JSON mapping")
struct JSONTests {
    @Test("Swift JSON equals Python's MessageToJson", arguments: VectorFile.shared.valid)
    func matchesPython(vector: Vector) throws {
        let type = try #require(vector.type, "no registered type \(vector.message)")
        let expected = try ParsedJSON.parse(try #require(vector.json, "vector has no json"))
        let swift = try Self.json(type, vector.bytes)
        let actual = try ParsedJSON.parse(swift)
        #expect(actual == expected, "Swift: \(swift)")
    }

    static func json<M: ProtoMessage>(_: M.Type, _ bytes: [UInt8]) throws -> String {
        try M(serializedBytes: bytes).jsonString()
    }

    @Test("every valid vector carries Python's JSON")
    func vectorsHaveJSON() {
        #expect(VectorFile.shared.valid.allSatisfy { $0.json != nil })
    }

    @Test("serialization is deterministic: sorted keys, fixed indentation")
    func deterministic() {
        let value = JSONValue.object(["b": .integer(1), "a": .array([.bool(true), .null]), "é": .object([:]), "B": .array([])])
        #expect(value.serialized(pretty: false) == #"{"B":[],"a":[true,null],"b":1,"é":{}}"#)
        #expect(value.serialized() == """
            {
              "B": [],
              "a": [
                true,
                null
              ],
              "b": 1,
              "é": {}
            }
            """)
    }

    @Test("numbers, strings and bytes follow the proto3 mapping")
    func scalars() {
        #expect(JSONValue.double(.nan).serialized() == #""NaN""#)
        #expect(JSONValue.double(.infinity).serialized() == #""Infinity""#)
        #expect(JSONValue.double(-.infinity).serialized() == #""-Infinity""#)
        #expect(JSONValue.double(1e-5).serialized() == "1e-05")
        #expect(JSONValue.double(0.25).serialized() == "0.25")
        #expect(JSONValue.float(0.1).serialized() == "0.1")
        #expect(JSONValue.int64(-(1 << 62)).serialized() == #""-4611686018427387904""#)
        #expect(JSONValue.uint64(.max).serialized() == #""18446744073709551615""#)
        #expect(JSONValue.string("a\"b\\c\n\u{01}é").serialized() == #""a\"b\\c\n\u0001é""#)
        #expect(JSONValue.bytes([]).serialized() == #""""#)
        #expect(JSONValue.bytes([0xFB]).serialized() == #""+w==""#)
        #expect(JSONValue.bytes([0xFB, 0xFF]).serialized() == #""+/8=""#)
        #expect(JSONValue.bytes(Array("foobar".utf8)).serialized() == #""Zm9vYmFy""#)
    }

    @Test("enums print by name, unknown numbers as numbers; set oneof members print at zero")
    func enumsAndPresence() {
        var sample = Sample()
        sample.fKind = .large
        sample.rKind = [SampleKind(rawValue: 99), .unspecified]
        sample.oStep = 0
        sample.choice = .cString("")
        #expect(sample.jsonString(pretty: false)
            == #"{"cString":"","fKind":"SAMPLE_KIND_LARGE","oStep":"0","rKind":[99,"SAMPLE_KIND_UNSPECIFIED"]}"#)
        #expect(Sample().jsonString() == "{}")
    }
}
