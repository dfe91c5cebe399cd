import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import TallyTransport

/// The frame vectors of Tests/TallyProtoTests/Vectors/vectors.json ("frames"), written by
/// scripts/make-test-vectors and shared with the Python client's tests: both transports must
/// produce and read exactly these bytes.
struct FrameVector: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let kind: UInt8
    let flags: UInt8
    let call_id: UInt32
    let payload: String
    let hex: String

    var testDescription: String { name }

    var frame: Frame {
        Frame(kind: FrameKind(rawValue: kind), flags: FrameFlags(rawValue: flags), callID: call_id,
              payload: ByteBuffer(bytes: Self.bytes(payload)))
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
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

    static let all: [FrameVector] = {
        struct File: Decodable { let frames: [FrameVector] }
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TallyProtoTests/Vectors/vectors.json")
        do {
            return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).frames
        } catch {
            fatalError("cannot load the frame vectors at \(url.path): \(error)")
        }
    }()
}

@Suite("Frame vectors shared with the Python client")
struct FrameVectorTests {
    @Test("the vectors are there")
    func present() {
        #expect(FrameVector.all.count >= 10)
    }

    @Test("encoding gives the vector's bytes", arguments: FrameVector.all)
    func encode(vector: FrameVector) throws {
        var out = ByteBuffer()
        try FrameEncoder().encode(data: vector.frame, out: &out)
        #expect(Array(out.readableBytesView) == FrameVector.bytes(vector.hex))
    }

    @Test("decoding the vector's bytes gives the frame", arguments: FrameVector.all)
    func decode(vector: FrameVector) throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadSize: 4 << 20)))
        try channel.writeInbound(ByteBuffer(bytes: FrameVector.bytes(vector.hex)))
        let decoded = try channel.readInbound(as: InboundFrame.self)
        #expect(decoded == .frame(vector.frame))
        #expect(try channel.readInbound(as: InboundFrame.self) == nil)
        #expect(try channel.finish().isClean)
    }
}
