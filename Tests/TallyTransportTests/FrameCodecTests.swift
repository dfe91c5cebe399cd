import NIOCore
import NIOEmbedded
import Testing
@testable import TallyTransport

/// A small deterministic generator, so random chunkings are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Frame codec")
struct FrameCodecTests {
    static let sampleFrames: [Frame] = [
        Frame(kind: .hello, callID: 0, payload: ByteBuffer(bytes: [0x08, 0x01, 0x10, 0x01])),
        Frame(kind: .start, callID: 1, payload: ByteBuffer(string: "/tally.v1.System/Info")),
        Frame(kind: .message, flags: .endStream, callID: 1, payload: ByteBuffer()),
        Frame(kind: .message, callID: 0xFFFF_FFFF, payload: ByteBuffer(bytes: Array(repeating: 0xAB, count: 70_000))),
        Frame(kind: .window, callID: 7, payload: ByteBuffer(bytes: [0, 1, 0, 0])),
        Frame(kind: .end, callID: 3, payload: ByteBuffer(bytes: [0x08, 0x05])),
    ]

    func makeChannel(maxPayload: Int = 1 << 20) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadSize: maxPayload)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        return channel
    }

    func encode(_ frames: [Frame]) throws -> ByteBuffer {
        var out = ByteBuffer()
        for frame in frames {
            try FrameEncoder().encode(data: frame, out: &out)
        }
        return out
    }

    func readAll(_ channel: EmbeddedChannel) throws -> [InboundFrame] {
        var result: [InboundFrame] = []
        while let event = try channel.readInbound(as: InboundFrame.self) {
            result.append(event)
        }
        return result
    }

    @Test("header layout is big-endian with magic, kind, flags, reserved, call id, length")
    func headerLayout() throws {
        let bytes = try encode([Frame(kind: .message, flags: .endStream, callID: 0x0102_0304, payload: ByteBuffer(bytes: [9, 8, 7]))])
        #expect(Array(bytes.readableBytesView) == [0xA1, 3, 1, 0, 1, 2, 3, 4, 0, 0, 0, 3, 9, 8, 7])
    }

    @Test("frames survive any split of the byte stream", arguments: [1, 2, 3, 11, 12, 13, 4096, 0])
    func splitStream(chunk: Int) throws {
        let channel = try makeChannel()
        var bytes = try encode(Self.sampleFrames)
        var rng = SplitMix64(state: UInt64(chunk) &+ 42)
        while bytes.readableBytes > 0 {
            // chunk 0 means random chunk sizes.
            let size = chunk == 0 ? Int.random(in: 1...97, using: &rng) : chunk
            let slice = bytes.readSlice(length: min(size, bytes.readableBytes))!
            try channel.writeInbound(slice)
        }
        let decoded = try readAll(channel)
        #expect(decoded == Self.sampleFrames.map { .frame($0) })
        #expect(try channel.finish().isClean)
    }

    @Test("an outbound frame is written as header plus payload")
    func outboundThroughPipeline() throws {
        let channel = try makeChannel()
        try channel.writeOutbound(Self.sampleFrames[1])
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(written == (try encode([Self.sampleFrames[1]])))
    }

    @Test("an over-size frame is reported and skipped without buffering, and the next frame still decodes")
    func oversize() throws {
        let channel = try makeChannel(maxPayload: 1024)
        var header = ByteBuffer()
        header.writeInteger(Frame.magic)
        header.writeInteger(FrameKind.message.rawValue)
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt32(5))
        header.writeInteger(UInt32(5000))
        try channel.writeInbound(header)
        #expect(try readAll(channel) == [.oversized(kind: .message, callID: 5, length: 5000)])
        // Stream the skipped payload in pieces; nothing is emitted for it.
        for _ in 0..<5 {
            try channel.writeInbound(ByteBuffer(bytes: Array(repeating: 0xEE, count: 1000)))
            #expect(try readAll(channel).isEmpty)
        }
        let next = Frame(kind: .cancel, callID: 5)
        try channel.writeInbound(try encode([next]))
        #expect(try readAll(channel) == [.frame(next)])
    }

    @Test("a length up to 2^32-1 never allocates: it is reported as over-size at once")
    func hugeLength() throws {
        let channel = try makeChannel(maxPayload: 4 << 20)
        var header = ByteBuffer()
        header.writeBytes([0xA1, 2, 0, 0, 0, 0, 0, 9, 0xFF, 0xFF, 0xFF, 0xFF])
        try channel.writeInbound(header)
        #expect(try readAll(channel) == [.oversized(kind: .start, callID: 9, length: UInt32.max)])
    }

    @Test("bad magic is a connection error", arguments: [UInt8(0x00), 0xA0, 0xA2, 0x47])
    func badMagic(magic: UInt8) throws {
        let channel = try makeChannel()
        var bytes = try encode([Frame(kind: .ping, callID: 0)])
        bytes.setInteger(magic, at: bytes.readerIndex)
        #expect(throws: FrameError.self) {
            try channel.writeInbound(bytes)
        }
    }

    @Test("non-zero reserved byte is a connection error")
    func reservedByte() throws {
        let channel = try makeChannel()
        var bytes = try encode([Frame(kind: .ping, callID: 0)])
        bytes.setInteger(UInt8(1), at: bytes.readerIndex + 3)
        let error = #expect(throws: FrameError.self) {
            try channel.writeInbound(bytes)
        }
        #expect(error?.code == .reservedBits)
    }

    @Test("unknown kinds reach the connection, which decides")
    func unknownKind() throws {
        let channel = try makeChannel()
        let frame = Frame(kind: FrameKind(rawValue: 0x7F), callID: 1, payload: ByteBuffer(bytes: [1]))
        try channel.writeInbound(try encode([frame]))
        #expect(try readAll(channel) == [.frame(frame)])
        #expect(!frame.kind.isKnown)
    }

    @Test("a hang-up in the middle of a frame is reported as truncated", arguments: [1, 5, 12, 20])
    func truncated(keep: Int) throws {
        let channel = try makeChannel()
        let bytes = try encode([Frame(kind: .message, callID: 1, payload: ByteBuffer(bytes: Array(repeating: 1, count: 40)))])
        try channel.writeInbound(bytes.getSlice(at: 0, length: keep)!)
        #expect(try readAll(channel).isEmpty)
        channel.pipeline.fireChannelInactive()
        let error = #expect(throws: FrameError.self) {
            try channel.throwIfErrorCaught()
        }
        #expect(error?.code == .truncated)
    }
}
