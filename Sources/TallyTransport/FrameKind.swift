/// The kind of a frame: the second byte of its header. See docs/protocol.md.
public struct FrameKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Client: `tally.v1.Hello`; server: `tally.v1.HelloReply`. Call id 0.
    public static let hello = FrameKind(rawValue: 1)
    /// Opens a call: `tally.v1.CallStart`.
    public static let start = FrameKind(rawValue: 2)
    /// One message of a call; flag ``FrameFlags/endStream`` half-closes.
    public static let message = FrameKind(rawValue: 3)
    /// Half-closes the client's side of a call. Empty payload.
    public static let halfClose = FrameKind(rawValue: 4)
    /// Ends a call, server to client, exactly once: `tally.v1.CallEnd`.
    public static let end = FrameKind(rawValue: 5)
    /// Cancels a call, client to server. Empty payload.
    public static let cancel = FrameKind(rawValue: 6)
    /// Liveness probe, call id 0; the payload (up to 64 bytes) comes back in a PONG.
    public static let ping = FrameKind(rawValue: 7)
    /// Answer to PING, same payload.
    public static let pong = FrameKind(rawValue: 8)
    /// No new calls on this connection: `tally.v1.GoAway`. Call id 0.
    public static let goAway = FrameKind(rawValue: 9)
    /// Flow-control credit for a call: a 4-byte big-endian byte count.
    public static let window = FrameKind(rawValue: 10)

    private static let names: [UInt8: String] = [
        1: "HELLO", 2: "START", 3: "MESSAGE", 4: "HALF_CLOSE", 5: "END", 6: "CANCEL",
        7: "PING", 8: "PONG", 9: "GOAWAY", 10: "WINDOW",
    ]

    /// Whether this version of the protocol defines the kind.
    public var isKnown: Bool { Self.names[rawValue] != nil }

    public var description: String { Self.names[rawValue] ?? "UNKNOWN(\(rawValue))" }
}
