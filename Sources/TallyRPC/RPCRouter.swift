/// Maps method paths to handlers.
///
/// Services register their methods with the generated `registerMethods(with:)`; transports look
/// routes up by the path a client sent.
public struct RPCRouter: Sendable {
    /// One registered method.
    public struct Route: Sendable {
        /// The method.
        public let method: MethodDescriptor
        /// Its handler.
        public let handler: RouteHandler
        /// The handler never blocks and does no file I/O: it only checks, converts and awaits
        /// (the store, other tasks). A transport may run it on the thread that reads the call's
        /// frames, saving a thread hop each way (``RPCRouter/markNonBlocking(_:)``).
        public internal(set) var nonBlocking = false
    }

    private var routes: [String: Route] = [:]

    /// Called by transports once a connection has closed and every call on it has ended, with
    /// the connection's id (``ServerContext/connectionID``): services that keep state per
    /// connection (a run's writer) learn that it is gone.
    public var connectionClosed: [@Sendable (UInt64) async -> Void] = []

    /// Creates an empty router.
    public init() {}

    /// Registers a handler, replacing any earlier one for the same method.
    /// - Parameters:
    ///   - method: The method.
    ///   - handler: Serves its calls.
    public mutating func register(_ method: MethodDescriptor, handler: @escaping RouteHandler) {
        routes[method.path] = Route(method: method, handler: handler)
    }

    /// Says that the handler of `method` never blocks and does no file I/O, so a transport may
    /// run it on its I/O thread (a run's stream is answered without a hop to the shared pool and
    /// back). A method not registered yet is ignored.
    public mutating func markNonBlocking(_ method: MethodDescriptor) {
        routes[method.path]?.nonBlocking = true
    }

    /// The route for a wire path such as "/tally.v1.System/Info", if one is registered.
    public func route(for path: String) -> Route? {
        routes[path]
    }

    /// Every registered method, sorted by path.
    public var methods: [MethodDescriptor] {
        routes.values.map(\.method).sorted { $0.path < $1.path }
    }
}

extension RPCRouter {
    /// Wraps every route so that a caller whose role is below the one `roles` gives its method
    /// (by path; a method not in it needs ``Role/admin``) gets PERMISSION_DENIED before the
    /// handler runs and before any request is read.
    /// - Parameter roles: The least role per method path.
    public mutating func requireRoles(_ roles: [String: Role]) {
        for (path, route) in routes {
            let needed = roles[path] ?? .admin
            let handler = route.handler
            let name = route.method.method
            var wrapped = Route(method: route.method, handler: { call in
                try call.context.caller.require(needed, for: name)
                try await handler(call)
            })
            wrapped.nonBlocking = route.nonBlocking
            routes[path] = wrapped
        }
    }
}
