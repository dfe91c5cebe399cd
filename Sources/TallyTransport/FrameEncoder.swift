public import NIOCore

/// Writes frames: header, then payload.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    /// Creates an encoder.
    public init() {}

    public func encode(data frame: Frame, out: inout ByteBuffer) throws {
        write(frame, into: &out)
    }

    /// Appends a frame's header and payload to a buffer.
    /// - Parameters:
    ///   - frame: The frame.
    ///   - out: The buffer.
    public func write(_ frame: Frame, into out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: Frame.headerSize + frame.payload.readableBytes)
        writeHeader(frame, into: &out)
        out.writeImmutableBuffer(frame.payload)
    }

    /// Appends a frame's header only; its payload must follow.
    /// - Parameters:
    ///   - frame: The frame.
    ///   - out: The buffer.
    public func writeHeader(_ frame: Frame, into out: inout ByteBuffer) {
        out.writeInteger(Frame.magic)
        out.writeInteger(frame.kind.rawValue)
        out.writeInteger(frame.flags.rawValue)
        out.writeInteger(UInt8(0))
        out.writeInteger(frame.callID)
        out.writeInteger(UInt32(truncatingIfNeeded: frame.payload.readableBytes))
    }
}
