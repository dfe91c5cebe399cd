/// A protobuf message type of the Tally protocol.
///
/// The conforming types are generated from the .proto files by `scripts/generate-protos`; they
/// encode and decode through protoc-c's C structs and the protobuf-c runtime.
/// Each also has its proto3 JSON form (`protoJSON`, `jsonString()`).
public protocol ProtoMessage: Sendable, Hashable, ProtoJSONEncodable {
    /// The full protobuf name of the message, such as `"tally.v1.Sample"`.
    static var protoMessageName: String { get }

    /// Creates a message with every field at its default value.
    init()

    /// Decodes a message from its protobuf wire bytes.
    ///
    /// - Throws: `ProtoError` with code `.malformed` when the bytes are not a valid encoding of
    ///   the message, `.invalidString` when a string field holds a NUL byte or invalid UTF-8.
    init(serializedBytes bytes: [UInt8]) throws(ProtoError)

    /// Decodes a message from its protobuf wire bytes, read in place.
    ///
    /// - Throws: the same errors as `init(serializedBytes:)` taking an array.
    init(serializedBytes bytes: UnsafeRawBufferPointer) throws(ProtoError)

    /// Encodes the message to its protobuf wire bytes.
    ///
    /// Map entries are written in key order, so equal messages encode to equal bytes.
    ///
    /// - Throws: `ProtoError` with code `.invalidString` when a string holds a NUL byte (protobuf-c
    ///   cannot carry it), `.encodingFailed` when protobuf-c fails.
    func serializedBytes() throws(ProtoError) -> [UInt8]
}
