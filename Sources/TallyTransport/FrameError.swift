/// A violation of the framing that leaves the byte stream unusable.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, RawRepresentable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The first header byte was not ``Frame/magic``.
        public static let badMagic = Code(rawValue: "bad_magic")
        /// The reserved header byte was not zero.
        public static let reservedBits = Code(rawValue: "reserved_bits")
        /// The peer hung up in the middle of a frame.
        public static let truncated = Code(rawValue: "truncated")
    }

    /// What went wrong.
    public var code: Code
    /// A description for logs and GOAWAY messages.
    public var message: String

    public var description: String { message }

    static func badMagic(_ byte: UInt8) -> FrameError {
        FrameError(code: .badMagic, message: "bad frame magic 0x\(String(byte, radix: 16)) (expected 0xa1): the stream is out of sync or not a Tally client")
    }

    static func reservedBits(_ byte: UInt8) -> FrameError {
        FrameError(code: .reservedBits, message: "reserved header byte is 0x\(String(byte, radix: 16)), must be 0")
    }

    static func truncated(_ bytes: Int) -> FrameError {
        FrameError(code: .truncated, message: "connection closed in the middle of a frame (\(bytes) bytes left over)")
    }
}
