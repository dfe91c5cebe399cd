import Foundation
import Testing
import TallyProto

/// The test vectors scripts/make-test-vectors writes with Python's protobuf (Vectors/vectors.json).
struct Vector: Decodable, Sendable, CustomTestStringConvertible {
    /// Full name of the message type.
    let message: String
    /// Name of the vector, unique per message.
    let name: String
    /// The encoded bytes, in hex.
    let hex: String
    /// For invalid vectors: the ProtoError code the decoder must report.
    let code: String?
    /// For valid vectors: the message as proto3 JSON, from Python's `json_format.MessageToJson`.
    let json: String?

    var testDescription: String { "\(message) \(name)" }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let nibble: UInt8 = c <= 0x39 ? c - 0x30 : c - 0x61 + 10
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return out
    }

    var type: (any ProtoMessage.Type)? { ProtoRegistry.messageTypes[message] }
}

struct VectorFile: Decodable, Sendable {
    let valid: [Vector]
    let invalid: [Vector]

    static func load() throws -> VectorFile {
        guard let url = Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Vectors") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
    }

    static let shared: VectorFile = {
        do {
            return try load()
        } catch {
            fatalError("cannot load Vectors/vectors.json: \(error)")
        }
    }()

    static func named(_ name: String, message: String = "tally.v1.Sample") -> Vector? {
        shared.valid.first { $0.message == message && $0.name == name }
    }
}
