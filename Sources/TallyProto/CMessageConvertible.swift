import CProtobufC

/// A generated message type that converts to and from its protoc-c struct.
///
/// The conformances are generated with the message types; only TallyProto touches the C structs.
protocol CMessageConvertible: ProtoMessage {
    /// The protoc-c struct of the message (`Tally__V1__Sample`).
    associatedtype CStruct

    /// protobuf-c's descriptor of the message.
    static var cDescriptor: UnsafePointer<ProtobufCMessageDescriptor> { get }

    /// Initializes `c` to the empty message (protoc-c's `…__init`).
    static func cInit(_ c: UnsafeMutablePointer<CStruct>)

    /// Creates the message from a struct protobuf-c unpacked (its strings already validated).
    init(cMessage c: UnsafePointer<CStruct>)

    /// Writes the message into `c` (already initialized); every buffer comes from `arena`.
    func fill(_ c: UnsafeMutablePointer<CStruct>, arena: CArena) throws(ProtoError)
}
