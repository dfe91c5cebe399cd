import TallyAPI
public import TallyProto
public import TallyRPC

/// The methods the gateway serves: every method of the router whose request and response types the
/// generated schemas name, by wire path. Nothing here is written per method.
public struct GatewayMethods: Sendable {
    /// One method reachable over HTTP.
    public struct Entry: Sendable {
        /// The method's schema (descriptor, request and response types).
        public let schema: MethodSchema
        /// Its handler in the router.
        public let route: RPCRouter.Route
    }

    /// Methods that act with the daemon's own authority (providers hold API keys and commands);
    /// they stay on the socket, where the peer's uid is known, and answer PERMISSION_DENIED here.
    public static let socketOnly: Set<String> = [
        ExperimentsService.Method.createProvider.path,
        ExperimentsService.Method.updateProvider.path,
        ExperimentsService.Method.deleteProvider.path,
    ]

    /// Every schema the generated services declare.
    public static var allSchemas: [MethodSchema] {
        SystemService.schemas + DiagnosticsService.schemas + TrackingService.schemas + ExperimentsService.schemas
    }

    private let entries: [String: Entry]

    /// The methods of `router` that have a schema.
    public init(router: RPCRouter, schemas: [MethodSchema] = GatewayMethods.allSchemas) {
        var entries: [String: Entry] = [:]
        for schema in schemas {
            guard let route = router.route(for: schema.descriptor.path) else { continue }
            entries[schema.descriptor.path] = Entry(schema: schema, route: route)
        }
        self.entries = entries
    }

    /// The method at `/<service>/<method>`, or the status to answer.
    public func lookup(service: String, method: String) -> Result<Entry, RPCError> {
        let path = "/\(service)/\(method)"
        if Self.socketOnly.contains(path) {
            return .failure(RPCError(code: .permissionDenied, message: "\(path) is served on the daemon's socket only (it acts with the daemon's own authority)"))
        }
        guard let entry = entries[path] else {
            return .failure(RPCError(code: .unimplemented, message: "method \(path) is not implemented by this server"))
        }
        return .success(entry)
    }

    /// Every method, sorted by path, as `GET /api/methods` lists them.
    public var listing: JSONValue {
        let methods = entries.values.sorted { $0.schema.descriptor.path < $1.schema.descriptor.path }.map { entry -> JSONValue in
            let descriptor = entry.schema.descriptor
            return .object([
                "path": .string(descriptor.path),
                "kind": .string(Self.kindName(descriptor.kind)),
                "requestType": .string(entry.schema.requestType.protoMessageName),
                "responseType": .string(entry.schema.responseType.protoMessageName),
                "http": .bool(!Self.socketOnly.contains(descriptor.path)),
            ])
        }
        return .object(["methods": .array(methods)])
    }

    static func kindName(_ kind: CallKind) -> String {
        switch kind {
        case .unary: "unary"
        case .serverStreaming: "server_streaming"
        case .clientStreaming: "client_streaming"
        case .bidirectional: "bidirectional"
        }
    }
}
