/// Flags of a frame: the third byte of its header.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// On MESSAGE: this is the sender's last message of the call.
    public static let endStream = FrameFlags(rawValue: 0x01)
}
