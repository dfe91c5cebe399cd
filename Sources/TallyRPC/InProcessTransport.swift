public import Logging
import Synchronization

/// A transport that calls a router in the same process, without sockets or framing.
///
/// Service tests use it to exercise every RPC with the same typed clients the socket transport
/// serves; status mapping, deadlines and cancellation go through ``ServerCallRunner`` exactly as
/// they do on a real connection.
public struct InProcessTransport: ClientTransport {
    /// The routes calls go to.
    public let router: RPCRouter
    /// The logger handlers see, with call ids attached.
    public let logger: Logger
    private let callIDs = CallIDGenerator()

    /// Creates a transport over `router`.
    /// - Parameters:
    ///   - router: The routes.
    ///   - logger: The logger handlers see.
    public init(router: RPCRouter, logger: Logger = Logger(label: "tally.inprocess")) {
        self.router = router
        self.logger = logger
    }

    public func openCall(_ method: MethodDescriptor, options: CallOptions) async throws -> any ClientCall {
        guard let route = router.route(for: method.path) else {
            throw RPCError(code: .unimplemented, message: "method \(method.path) is not implemented by this server")
        }
        let callID = callIDs.next()
        var logger = logger
        logger[metadataKey: "call"] = "\(callID)"
        let context = ServerContext(
            method: route.method,
            callID: callID,
            connectionID: 0,
            deadline: options.timeout.map { ContinuousClock.now.advanced(by: $0) },
            metadata: options.metadata,
            logger: logger
        )
        return InProcessCall(route: route, context: context)
    }
}

final class CallIDGenerator: Sendable {
    private let value = Atomic<UInt32>(0)
    func next() -> UInt32 {
        value.wrappingAdd(1, ordering: .relaxed).newValue
    }
}

private final class InProcessCall: ClientCall {
    let responses: RawMessageStream
    private let requestContinuation: RawMessageStream.Continuation
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(route: RPCRouter.Route, context: ServerContext) {
        let (requests, requestContinuation) = RawMessageStream.makeStream()
        let (responses, responseContinuation) = RawMessageStream.makeStream()
        self.requestContinuation = requestContinuation
        self.responses = responses
        let call = ServerCall(
            context: context,
            requests: requests,
            responses: InProcessWriter(continuation: responseContinuation)
        )
        let task = Task {
            if let status = await ServerCallRunner.run(route.handler, call: call) {
                responseContinuation.finish(throwing: status)
            } else {
                responseContinuation.finish()
            }
        }
        self.task.withLock { $0 = task }
        responseContinuation.onTermination = { termination in
            if case .cancelled = termination { task.cancel() }
        }
    }

    func send(_ message: [UInt8], endStream: Bool) async throws {
        if case .terminated = requestContinuation.yield(message) {
            throw RPCError(code: .failedPrecondition, message: "the call's request stream is closed")
        }
        if endStream { requestContinuation.finish() }
    }

    func halfClose() async throws {
        requestContinuation.finish()
    }

    func cancel() {
        task.withLock { $0?.cancel() }
    }
}

private struct InProcessWriter: RawMessageWriter {
    let continuation: RawMessageStream.Continuation

    func write(_ message: [UInt8]) async throws {
        if case .terminated = continuation.yield(message) {
            throw RPCError(code: .cancelled, message: "the client is gone")
        }
    }
}
