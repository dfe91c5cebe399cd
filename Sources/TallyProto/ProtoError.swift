/// An error encoding or decoding a protobuf message.
public struct ProtoError: Error, CustomStringConvertible, Hashable {
    /// What kind of error it is. Extensible: compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String

        /// Creates a code named `name`.
        public init(_ name: String) { self.name = name }

        /// The bytes are not a valid protobuf encoding of the message.
        public static let malformed = Code("malformed")
        /// A string holds a NUL byte or is not valid UTF-8.
        public static let invalidString = Code("invalidString")
        /// The message could not be encoded.
        public static let encodingFailed = Code("encodingFailed")

        /// The code's name.
        public var description: String { name }
    }

    /// What kind of error it is.
    public var code: Code
    /// What went wrong, without the field path.
    public var message: String
    /// The field the error is about when known, as a dotted path from the message's full name
    /// (`"tally.v1.Sample.f_point.key"`).
    public var fieldPath: String?

    /// Creates an error.
    public init(code: Code, message: String, fieldPath: String? = nil) {
        self.code = code
        self.message = message
        self.fieldPath = fieldPath
    }

    /// The message, prefixed with the field path when known:
    /// `field tally.v1.Sample.f_string: string contains a NUL byte`.
    public var description: String {
        if let fieldPath { return "field \(fieldPath): \(message)" }
        return message
    }

    /// The same error with `component` prepended to its field path.
    func prefixingPath(with component: String) -> ProtoError {
        var copy = self
        copy.fieldPath = fieldPath.map { "\(component).\($0)" } ?? component
        return copy
    }
}
