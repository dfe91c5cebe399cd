/// Names one method of one service and the shape of its calls.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// Full service name, "tally.v1.Tracking".
    public let service: String
    /// Method name, "LogMetrics".
    public let method: String
    /// The call shape.
    public let kind: CallKind
    /// The path used on the wire, "/tally.v1.Tracking/LogMetrics".
    public let path: String

    /// Creates a descriptor.
    /// - Parameters:
    ///   - service: Full service name.
    ///   - method: Method name.
    ///   - kind: The call shape.
    public init(service: String, method: String, kind: CallKind) {
        self.service = service
        self.method = method
        self.kind = kind
        self.path = "/\(service)/\(method)"
    }

    public var description: String { path }
}
