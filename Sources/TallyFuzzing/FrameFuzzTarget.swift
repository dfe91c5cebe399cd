import NIOCore
import NIOEmbedded
import TallyTransport

/// Fuzz target of the frame decoder (docs/protocol.md, section 2).
///
/// Input: `limit selector (1) | split seed (1) | byte stream`. The stream goes through
/// `ByteToMessageHandler(FrameDecoder(maxPayloadSize:))` on an `EmbeddedChannel`, cut into
/// chunks chosen by the seed (seed 0: one write), then the channel is closed (EOF). The limit is
/// one of ``limits``, picked by the first byte. Errors are
/// expected; what must hold:
/// - no crash, and no allocation beyond the input: a payload is never larger than the limit;
/// - the frames, oversized headers and final error are exactly those of a simple reference
///   decoder that reads the whole stream at once (so the chunking never changes the result);
/// - every decoded frame re-encodes to the bytes it was read from.
public enum FrameFuzzTarget {
    /// Payload limits the first byte picks from: tiny ones to exercise the oversized path, the
    /// default 4 MiB.
    static let limits = [0, 1, 4, 12, 64, 255, 4096, 4 << 20]

    public static func run(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let limit = limits[Int(data[0]) % limits.count]
        let seed = data[1]
        let stream = Array(data[2...])
        let expected = reference(stream, maxPayloadSize: limit)
        let actual = decodeInChunks(stream, maxPayloadSize: limit, seed: seed)
        guard actual == expected else {
            fuzzFailure("chunked decoding (seed \(seed), limit \(limit)) gave \(actual), the reference gave \(expected)")
        }
        for event in expected.events {
            switch event.frame {
            case .frame(let frame):
                guard frame.payload.readableBytes <= limit else {
                    fuzzFailure("payload of \(frame.payload.readableBytes) bytes over the limit \(limit)")
                }
                var out = ByteBuffer()
                do {
                    try FrameEncoder().encode(data: frame, out: &out)
                } catch {
                    fuzzFailure("re-encoding a decoded frame threw \(error)")
                }
                guard stream.count >= out.readableBytes, out.readableBytesView.elementsEqual(stream[event.offset..<(event.offset + out.readableBytes)]) else {
                    fuzzFailure("frame at offset \(event.offset) re-encodes to different bytes")
                }
            case .oversized(_, _, let length):
                guard Int(length) > limit else { fuzzFailure("oversized header of \(length) bytes within the limit \(limit)") }
            }
        }
    }

    // MARK: Outcome

    struct Event: Equatable, CustomStringConvertible {
        var frame: InboundFrame
        /// Offset of the frame's header in the stream (not compared: the channel does not report it).
        var offset: Int

        static func == (a: Event, b: Event) -> Bool { a.frame == b.frame }

        var description: String {
            switch frame {
            case .frame(let f): "frame(\(f.kind) flags \(f.flags.rawValue) call \(f.callID) \(f.payload.readableBytes) bytes)"
            case .oversized(let kind, let callID, let length): "oversized(\(kind) call \(callID) \(length) bytes)"
            }
        }
    }

    struct Outcome: Equatable, CustomStringConvertible {
        var events: [Event] = []
        var error: FrameError.Code?

        var description: String {
            "\(events.map(\.description)) error \(error?.rawValue ?? "none")"
        }
    }

    /// Decodes `stream` in one pass, without NIO: the protocol as docs/protocol.md states it.
    static func reference(_ stream: [UInt8], maxPayloadSize: Int) -> Outcome {
        var outcome = Outcome()
        var offset = 0
        func integer(_ at: Int, _ count: Int) -> UInt32 {
            stream[at..<(at + count)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        while stream.count - offset >= Frame.headerSize {
            guard stream[offset] == Frame.magic else {
                outcome.error = .badMagic
                return outcome
            }
            guard stream[offset + 3] == 0 else {
                outcome.error = .reservedBits
                return outcome
            }
            let kind = FrameKind(rawValue: stream[offset + 1])
            let flags = FrameFlags(rawValue: stream[offset + 2])
            let callID = integer(offset + 4, 4)
            let length = Int(integer(offset + 8, 4))
            let payloadStart = offset + Frame.headerSize
            if length > maxPayloadSize {
                outcome.events.append(Event(frame: .oversized(kind: kind, callID: callID, length: UInt32(length)), offset: offset))
                guard stream.count - payloadStart >= length else {
                    // EOF in the middle of the skipped payload.
                    outcome.error = .truncated
                    return outcome
                }
                offset = payloadStart + length
                continue
            }
            guard stream.count - payloadStart >= length else { break }
            let payload = ByteBuffer(bytes: stream[payloadStart..<(payloadStart + length)])
            outcome.events.append(Event(frame: .frame(Frame(kind: kind, flags: flags, callID: callID, payload: payload)), offset: offset))
            offset = payloadStart + length
        }
        if offset < stream.count {
            outcome.error = .truncated
        }
        return outcome
    }

    /// Collects what the decoder hands on.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = InboundFrame
        var frames: [InboundFrame] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            frames.append(unwrapInboundIn(data))
        }
    }

    static func decodeInChunks(_ stream: [UInt8], maxPayloadSize: Int, seed: UInt8) -> Outcome {
        let channel = EmbeddedChannel()
        let collector = Collector()
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadSize: maxPayloadSize)))
            try channel.pipeline.syncOperations.addHandler(collector)
        } catch {
            fuzzFailure("cannot set up the channel: \(error)")
        }
        var random = FuzzRandom(seed: UInt64(seed))
        // Seed 0: the whole stream in one write; else chunks of 1 up to `seed` bytes, but no
        // more than about 64 writes (each costs far more than the decoding).
        let largest = seed == 0 ? max(stream.count, 1) : Int(seed)
        let smallest = max(1, stream.count / 64)
        var outcome = Outcome()
        var offset = 0
        do {
            while offset < stream.count {
                let size = min(max(random.next(upTo: largest), smallest), stream.count - offset)
                var buffer = channel.allocator.buffer(capacity: size)
                buffer.writeBytes(stream[offset..<(offset + size)])
                try channel.writeInbound(buffer)
                offset += size
            }
            _ = try channel.finish()
        } catch let error as FrameError {
            outcome.error = error.code
            _ = try? channel.finish(acceptAlreadyClosed: true)
        } catch {
            fuzzFailure("the decoder threw \(error), which is not a FrameError")
        }
        // Offsets are not known here; the reference's are used for the re-encoding check.
        outcome.events = collector.frames.map { Event(frame: $0, offset: 0) }
        return outcome
    }
}
