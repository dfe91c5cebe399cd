import Foundation
import Testing
import TallyProto

@Suite("Vectors from Python's protobuf")
struct VectorTests {
    @Test("decode, re-encode to Python's bytes, decode again to the same value", arguments: VectorFile.shared.valid)
    func roundTrip(vector: Vector) throws {
        let type = try #require(vector.type, "no registered type \(vector.message)")
        try Self.roundTrip(type, vector.bytes)
    }

    static func roundTrip<M: ProtoMessage>(_: M.Type, _ bytes: [UInt8]) throws {
        let decoded = try M(serializedBytes: bytes)
        let encoded = try decoded.serializedBytes()
        #expect(encoded == bytes, "re-encoded bytes differ from Python's")
        let again = try M(serializedBytes: encoded)
        #expect(again == decoded)
        let inPlace = try bytes.withUnsafeBytes { try M(serializedBytes: $0) }
        #expect(inPlace == decoded)
        if bytes.isEmpty {
            #expect(decoded == M())
        } else {
            #expect(decoded != M(), "non-empty vector decoded to the empty message")
        }
    }

    @Test("invalid bytes are rejected with the expected code", arguments: VectorFile.shared.invalid)
    func rejection(vector: Vector) throws {
        let type = try #require(vector.type, "no registered type \(vector.message)")
        let expected = ProtoError.Code(try #require(vector.code))
        let rejected = Self.decodeError(type, vector.bytes)
        let error = try #require(rejected, "the bytes were accepted")
        #expect(error.code == expected, "\(error)")
        #expect(error.description.contains(vector.message), "\(error)")
    }

    static func decodeError<M: ProtoMessage>(_: M.Type, _ bytes: [UInt8]) -> ProtoError? {
        do {
            _ = try M(serializedBytes: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("every registered message has vectors, every vector's message is registered")
    func coverage() {
        let vectorMessages = Set(VectorFile.shared.valid.map(\.message))
        #expect(vectorMessages == Set(ProtoRegistry.messageTypes.keys))
        for (name, type) in ProtoRegistry.messageTypes {
            #expect(type.protoMessageName == name)
        }
        #expect(VectorFile.shared.invalid.count >= 10)
    }

    @Test("the empty message is zero bytes", arguments: ProtoRegistry.messageTypes.keys.sorted())
    func emptyMessage(name: String) throws {
        let type = try #require(ProtoRegistry.messageTypes[name])
        try Self.checkEmpty(type)
    }

    static func checkEmpty<M: ProtoMessage>(_: M.Type) throws {
        #expect(try M().serializedBytes() == [])
        #expect(try M(serializedBytes: []) == M())
        #expect(try M(serializedBytes: UnsafeRawBufferPointer(start: nil, count: 0)) == M())
    }
}
