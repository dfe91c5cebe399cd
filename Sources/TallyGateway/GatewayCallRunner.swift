public import Logging
import Synchronization
public import TallyProto
public import TallyRPC

/// Runs a router's calls for the HTTP side: requests decoded from proto3 JSON, responses encoded
/// to it, with the same ``ServerCallRunner`` (status mapping, deadlines, cancellation, logging of
/// INTERNAL answers) as the socket transport. Knows nothing of HTTP.
public final class GatewayCallRunner: Sendable {
    /// Most responses a unary-shaped answer (unary, client-streaming, bidirectional) collects.
    public static let maximumCollectedResponses = 100_000
    /// Most bytes of serialized responses such an answer collects.
    public static let maximumCollectedBytes = 64 << 20

    let logger: Logger
    private let callIDs = Atomic<UInt32>(0)

    /// Creates a runner whose calls log through `logger`.
    public init(logger: Logger) {
        self.logger = logger
    }

    /// Decodes the request body of a call: one JSON object (an empty body is the default message)
    /// for unary and server-streaming methods, a JSON array of objects for the others.
    /// - Throws: ``RPCError`` INVALID_ARGUMENT naming what is wrong.
    public func decodeRequests(_ body: [UInt8], for schema: MethodSchema) throws(RPCError) -> [[UInt8]] {
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let json: JSONValue
        if isBlank {
            json = schema.descriptor.kind.takesOneRequest ? .object([:]) : .array([])
        } else {
            do {
                json = try JSONValue.parse(body)
            } catch {
                throw RPCError(code: .invalidArgument, message: "the request body is not JSON: \(error)")
            }
        }
        let requestType = schema.requestType
        func encode(_ value: JSONValue, at index: Int?) throws(RPCError) -> [UInt8] {
            let place = index.map { "request \($0)" } ?? "the request"
            do {
                let message = try requestType.init(protoJSON: value)
                return try message.serializedBytes()
            } catch let error as ProtoError {
                throw RPCError(code: .invalidArgument, message: "\(place) cannot be encoded: \(error)")
            } catch {
                throw RPCError(code: .invalidArgument, message: "\(place) is not a \(requestType.protoMessageName): \(error)")
            }
        }
        if schema.descriptor.kind.takesOneRequest {
            return [try encode(json, at: nil)]
        }
        guard case .array(let items) = json else {
            throw RPCError(code: .invalidArgument, message: "\(schema.descriptor.path) takes a stream of requests: send a JSON array of \(requestType.protoMessageName) objects")
        }
        var requests: [[UInt8]] = []
        requests.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            requests.append(try encode(item, at: index))
        }
        return requests
    }

    /// A response message as proto3 JSON.
    public func encodeResponse(_ bytes: [UInt8], for schema: MethodSchema) throws(RPCError) -> JSONValue {
        do {
            return try schema.responseType.init(serializedBytes: bytes).protoJSON
        } catch {
            throw RPCError(code: .internalError, message: "internal error", cause: error)
        }
    }

    private func call(_ entry: GatewayMethods.Entry, requests: [[UInt8]], writer: any RawMessageWriter) -> ServerCall {
        let callID = callIDs.wrappingAdd(1, ordering: .relaxed).newValue
        var logger = logger
        logger[metadataKey: "http-call"] = "\(callID)"
        let context = ServerContext(
            method: entry.route.method,
            callID: callID,
            connectionID: 0,
            logger: logger,
            caller: .daemonUser
        )
        let stream: RawMessageStream
        if requests.count == 1, entry.schema.descriptor.kind.takesOneRequest {
            stream = .single(requests[0])
        } else {
            let (made, continuation) = RawMessageStream.makeStream()
            for request in requests { continuation.yield(request) }
            continuation.finish()
            stream = made
        }
        return ServerCall(context: context, requests: stream, responses: writer)
    }

    /// Runs a call whose answer is collected: the one response of a unary or client-streaming
    /// method, or every response of a bidirectional one (as an array).
    public func collect(_ entry: GatewayMethods.Entry, requests: [[UInt8]]) async -> Result<JSONValue, RPCError> {
        let writer = CollectingWriter()
        if let failure = await ServerCallRunner.run(entry.route.handler, call: call(entry, requests: requests, writer: writer)) {
            return .failure(failure)
        }
        let responses = writer.collected
        do throws(RPCError) {
            if entry.schema.descriptor.kind == .bidirectional {
                var items: [JSONValue] = []
                for response in responses { items.append(try encodeResponse(response, for: entry.schema)) }
                return .success(.array(items))
            }
            guard let first = responses.first else {
                return .failure(RPCError(code: .internalError, message: "internal error", cause: GatewayError(code: .setupFailed, message: "the handler of \(entry.schema.descriptor.path) ended OK without a response")))
            }
            return .success(try encodeResponse(first, for: entry.schema))
        } catch {
            return .failure(error)
        }
    }

    /// Runs a call whose responses are passed to `emit` one by one as the handler writes them; the
    /// handler waits while `emit` does (a slow HTTP reader slows the call down, it does not fill
    /// memory). Returns the status the call ended with.
    public func stream(_ entry: GatewayMethods.Entry, requests: [[UInt8]], emit: @escaping @Sendable (JSONValue) async throws -> Void) async -> RPCError? {
        let schema = entry.schema
        let writer = EmittingWriter { bytes in
            try await emit(try self.encodeResponse(bytes, for: schema))
        }
        return await ServerCallRunner.run(entry.route.handler, call: call(entry, requests: requests, writer: writer))
    }
}

extension CallKind {
    /// Whether the method takes exactly one request (unary and server-streaming).
    var takesOneRequest: Bool {
        self == .unary || self == .serverStreaming
    }
}

/// Keeps the responses of a call, within the runner's bounds.
private final class CollectingWriter: RawMessageWriter {
    private struct State {
        var messages: [[UInt8]] = []
        var bytes = 0
    }

    private let state = Mutex(State())

    var collected: [[UInt8]] { state.withLock { $0.messages } }

    func write(_ message: [UInt8]) async throws {
        let accepted = state.withLock { state -> Bool in
            guard state.messages.count < GatewayCallRunner.maximumCollectedResponses,
                  state.bytes + message.count <= GatewayCallRunner.maximumCollectedBytes
            else { return false }
            state.messages.append(message)
            state.bytes += message.count
            return true
        }
        guard accepted else {
            throw RPCError(code: .resourceExhausted, message: "the answer is larger than an HTTP response collects (\(GatewayCallRunner.maximumCollectedResponses) messages, \(GatewayCallRunner.maximumCollectedBytes) bytes); use the socket for it")
        }
    }
}

/// Hands each response to a closure.
private struct EmittingWriter: RawMessageWriter {
    let emit: @Sendable ([UInt8]) async throws -> Void

    func write(_ message: [UInt8]) async throws {
        try await emit(message)
    }
}
