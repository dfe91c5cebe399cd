public import TallyProto

/// One method of a service with the message types of its calls: what a gateway needs to turn
/// proto3 JSON into a request and a response back into JSON.
///
/// The generated service enums list theirs in `schemas` (`TrackingService.schemas`).
public struct MethodSchema: Sendable {
    /// The method: service, name, call shape and wire path.
    public let descriptor: MethodDescriptor
    /// The message type of the method's requests.
    public let requestType: any (ProtoMessage & ProtoJSONDecodable).Type
    /// The message type of the method's responses.
    public let responseType: any (ProtoMessage & ProtoJSONDecodable).Type

    /// Creates a schema.
    /// - Parameters:
    ///   - descriptor: The method.
    ///   - requestType: The message type of its requests.
    ///   - responseType: The message type of its responses.
    public init(
        descriptor: MethodDescriptor,
        requestType: any (ProtoMessage & ProtoJSONDecodable).Type,
        responseType: any (ProtoMessage & ProtoJSONDecodable).Type
    ) {
        self.descriptor = descriptor
        self.requestType = requestType
        self.responseType = responseType
    }
}
