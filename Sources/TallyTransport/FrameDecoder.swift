public import NIOCore

/// Splits a byte stream into frames.
///
/// A frame whose declared payload is larger than `maxPayloadSize` is not buffered: its header is
/// reported as ``InboundFrame/oversized(kind:callID:length:)`` and its payload skipped as it
/// arrives, so a peer cannot make the decoder allocate what it declares.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    /// Largest payload accepted, in bytes.
    public var maxPayloadSize: Int
    private var bytesToSkip = 0

    /// Creates a decoder.
    /// - Parameter maxPayloadSize: Largest payload accepted, in bytes.
    public init(maxPayloadSize: Int) {
        self.maxPayloadSize = maxPayloadSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if bytesToSkip > 0 {
            let skipped = min(bytesToSkip, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: skipped)
            bytesToSkip -= skipped
            return bytesToSkip == 0 ? .continue : .needMoreData
        }
        guard buffer.readableBytes >= Frame.headerSize else { return .needMoreData }
        let start = buffer.readerIndex
        let magic = buffer.getInteger(at: start, as: UInt8.self)!
        guard magic == Frame.magic else { throw FrameError.badMagic(magic) }
        let kind = FrameKind(rawValue: buffer.getInteger(at: start + 1, as: UInt8.self)!)
        let flags = FrameFlags(rawValue: buffer.getInteger(at: start + 2, as: UInt8.self)!)
        let reserved = buffer.getInteger(at: start + 3, as: UInt8.self)!
        guard reserved == 0 else { throw FrameError.reservedBits(reserved) }
        let callID = buffer.getInteger(at: start + 4, as: UInt32.self)!
        let length = buffer.getInteger(at: start + 8, as: UInt32.self)!
        if Int(length) > maxPayloadSize {
            buffer.moveReaderIndex(forwardBy: Frame.headerSize)
            bytesToSkip = Int(length)
            context.fireChannelRead(wrapInboundOut(.oversized(kind: kind, callID: callID, length: length)))
            return .continue
        }
        guard buffer.readableBytes >= Frame.headerSize + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        let payload = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(.frame(Frame(kind: kind, flags: flags, callID: callID, payload: payload))))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue, buffer.readableBytes > 0 {}
        if buffer.readableBytes > 0 || bytesToSkip > 0 {
            let leftOver = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: leftOver)
            bytesToSkip = 0
            throw FrameError.truncated(leftOver)
        }
        return .needMoreData
    }
}
