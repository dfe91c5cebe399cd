public import NIOCore

/// One frame of the wire protocol: a 12-byte header and a payload.
///
/// Header, all integers big-endian:
/// `magic (1) | kind (1) | flags (1) | reserved, zero (1) | call id (4) | payload length (4)`.
public struct Frame: Sendable, Hashable {
    /// The first header byte of protocol version 1; anything else means the stream is out of sync.
    public static let magic: UInt8 = 0xA1
    /// Bytes in a header.
    public static let headerSize = 12

    /// The frame's kind.
    public var kind: FrameKind
    /// The frame's flags.
    public var flags: FrameFlags
    /// The call the frame belongs to; 0 for connection-level frames.
    public var callID: UInt32
    /// The payload.
    public var payload: ByteBuffer

    /// Creates a frame.
    public init(kind: FrameKind, flags: FrameFlags = [], callID: UInt32, payload: ByteBuffer = ByteBuffer()) {
        self.kind = kind
        self.flags = flags
        self.callID = callID
        self.payload = payload
    }

    /// A WINDOW frame handing `credit` bytes back for a call.
    public static func window(callID: UInt32, credit: Int) -> Frame {
        var payload = ByteBuffer()
        payload.writeInteger(UInt32(clamping: credit))
        return Frame(kind: .window, callID: callID, payload: payload)
    }

    /// The bytes a frame costs against a flow-control window: header plus payload.
    public static func cost(payloadSize: Int) -> Int {
        headerSize + payloadSize
    }
}

/// What the frame decoder hands on: a frame, or the header of one whose payload was too large
/// and has been skipped without being buffered.
public enum InboundFrame: Sendable, Hashable {
    /// A complete frame.
    case frame(Frame)
    /// A frame whose declared payload exceeded the limit; its payload was discarded.
    case oversized(kind: FrameKind, callID: UInt32, length: UInt32)
}
