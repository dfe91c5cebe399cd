public import Logging
import NIOCore
import NIOPosix
import Synchronization
public import TallyProto
public import TallyRPC

/// Configuration of a client connection.
public struct ClientConfiguration: Sendable {
    /// Path of the daemon's Unix socket.
    public var socketPath: String
    /// Name sent in the handshake, for the daemon's logs.
    public var clientName: String
    /// Largest frame payload this client accepts (default 4 MiB).
    public var maxFrameSize: Int
    /// Flow-control credit this client grants the server per call (default 1 MiB).
    public var initialWindow: Int
    /// Time to connect and finish the handshake (default 5 s).
    public var connectTimeout: Duration

    /// Creates a configuration; everything but the socket path has a default.
    public init(
        socketPath: String,
        clientName: String = "tally-swift",
        maxFrameSize: Int = 4 << 20,
        initialWindow: Int = 1 << 20,
        connectTimeout: Duration = .seconds(5)
    ) {
        self.socketPath = socketPath
        self.clientName = clientName
        self.maxFrameSize = maxFrameSize
        self.initialWindow = initialWindow
        self.connectTimeout = connectTimeout
    }
}

/// A connection to a Tally daemon over its Unix socket, carrying any number of concurrent calls.
///
/// Calls beyond the daemon's concurrency limit wait for a free slot. When the connection closes,
/// every open call fails with UNAVAILABLE.
public final class ClientConnection: ClientTransport, Sendable {
    /// The daemon's handshake answer: protocol version, limits, connection id.
    public var serverHello: HelloReply { state.withLock { $0.hello ?? HelloReply() } }

    let configuration: ClientConfiguration
    private let channel: any Channel
    private let logger: Logger
    private let state = Mutex(State())
    private let readerDone: Mutex<Task<Void, Never>?> = Mutex(nil)

    struct CallEntry {
        let continuation: RawMessageStream.Continuation
        let window: FlowWindow
        var consumedSinceGrant = 0
        var deadlineTask: Task<Void, Never>?
    }

    struct State {
        var outbound: NIOAsyncChannelOutboundWriter<Frame>?
        var hello: HelloReply?
        var handshake: CheckedContinuation<HelloReply, any Error>?
        var calls: [UInt32: CallEntry] = [:]
        var nextCallID: UInt32 = 1
        var slots: FlowWindow?
        var goAway: RPCError?
        var goAwayLastCallID: UInt32 = .max
        var closed: RPCError?
    }

    private init(channel: any Channel, configuration: ClientConfiguration, logger: Logger) {
        self.channel = channel
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects to the daemon and performs the handshake.
    /// - Parameters:
    ///   - configuration: Socket path and limits.
    ///   - logger: Logger for connection events.
    /// - Returns: A ready connection.
    /// - Throws: ``RPCError`` UNAVAILABLE naming the socket when no daemon answers there, or the
    ///   status of the daemon's refusal.
    public static func connect(
        configuration: ClientConfiguration,
        logger: Logger = Logger(label: "tally.client")
    ) async throws -> ClientConnection {
        let path = configuration.socketPath
        let maxFrame = configuration.maxFrameSize
        let asyncChannel: NIOAsyncChannel<InboundFrame, Frame>
        do {
            asyncChannel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(configuration.connectTimeout.components.seconds * 1000)))
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadSize: maxFrame)))
                        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
                        return try NIOAsyncChannel<InboundFrame, Frame>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RPCError(
                code: .unavailable,
                message: "cannot connect to the Tally daemon at \(path) (\(error)); start it with `tally serve`",
                cause: error
            )
        }
        let connection = ClientConnection(channel: asyncChannel.channel, configuration: configuration, logger: logger)
        let reader = Task {
            await connection.run(asyncChannel)
        }
        connection.readerDone.withLock { $0 = reader }
        let timeout = configuration.connectTimeout
        let timer = Task {
            do { try await Task.sleep(for: timeout) } catch { return }
            connection.failHandshake(RPCError(code: .deadlineExceeded, message: "the daemon at \(path) did not answer the handshake within \(timeout)"))
        }
        defer { timer.cancel() }
        do {
            _ = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HelloReply, any Error>) in
                let early: RPCError? = connection.state.withLock { state in
                    if let hello = state.hello {
                        continuation.resume(returning: hello)
                        return nil
                    }
                    if let closed = state.closed { return closed }
                    state.handshake = continuation
                    return nil
                }
                if let early { continuation.resume(throwing: early) }
            }
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    /// Closes the connection; open calls fail with UNAVAILABLE.
    public func close() async {
        channel.close(promise: nil)
        let reader = readerDone.withLock { $0 }
        await reader?.value
    }

    // MARK: - Reading

    private func run(_ asyncChannel: NIOAsyncChannel<InboundFrame, Frame>) async {
        var closing = RPCError(code: .unavailable, message: "the connection to the daemon closed")
        do {
            try await asyncChannel.executeThenClose { inbound, outbound in
                state.withLock { $0.outbound = outbound }
                var hello = Hello()
                hello.minVersion = ProtocolVersion.minimum
                hello.maxVersion = ProtocolVersion.current
                hello.clientName = configuration.clientName
                hello.maxFrameSize = UInt32(configuration.maxFrameSize)
                hello.initialWindow = UInt32(configuration.initialWindow)
                try await outbound.write(Frame(kind: .hello, callID: 0, payload: ServerConnection.buffer(hello)))
                for try await event in inbound {
                    guard case .frame(let frame) = event else {
                        throw RPCError(code: .resourceExhausted, message: "the daemon sent a frame over the negotiated limit")
                    }
                    try await handle(frame, outbound: outbound)
                }
            }
        } catch let error as RPCError {
            closing = error
        } catch {
            closing = RPCError(code: .unavailable, message: "the connection to the daemon failed: \(error)", cause: error)
        }
        let (calls, handshake, goAway) = state.withLock { state in
            state.outbound = nil
            let error = state.goAway ?? closing
            state.closed = error
            defer {
                state.calls.removeAll()
                state.handshake = nil
            }
            return (Array(state.calls.values), state.handshake, error)
        }
        for entry in calls {
            entry.deadlineTask?.cancel()
            entry.continuation.finish(throwing: goAway)
            entry.window.fail(goAway)
        }
        handshake?.resume(throwing: goAway)
        state.withLock { $0.slots }?.fail(goAway)
    }

    private func failHandshake(_ error: RPCError) {
        let handshake = state.withLock { state in
            defer { state.handshake = nil }
            return state.handshake
        }
        if handshake != nil {
            handshake?.resume(throwing: error)
            channel.close(promise: nil)
        }
    }

    private func handle(_ frame: Frame, outbound: NIOAsyncChannelOutboundWriter<Frame>) async throws {
        let bytes = Array(frame.payload.readableBytesView)
        switch frame.kind {
        case .hello:
            let reply = try HelloReply(serializedBytes: bytes)
            let handshake = state.withLock { state in
                state.hello = reply
                state.slots = FlowWindow(initial: Int(max(reply.maxConcurrentCalls, 1)))
                defer { state.handshake = nil }
                return state.handshake
            }
            handshake?.resume(returning: reply)
        case .message:
            let continuation = state.withLock { $0.calls[frame.callID]?.continuation }
            continuation?.yield(bytes)
        case .end:
            let end = (try? CallEnd(serializedBytes: bytes)) ?? CallEnd()
            let status: RPCError? = end.code == 0
                ? nil
                : RPCError(code: RPCError.Code(rawValue: end.code), message: end.message, details: end.details)
            finishCall(frame.callID, status: status)
        case .window:
            guard frame.payload.readableBytes == 4, let credit = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self) else {
                throw RPCError(code: .internalError, message: "the daemon sent a malformed WINDOW frame")
            }
            state.withLock { $0.calls[frame.callID]?.window }?.release(Int(credit))
        case .ping:
            try await outbound.write(Frame(kind: .pong, callID: 0, payload: frame.payload))
        case .goAway:
            let goAway = (try? GoAway(serializedBytes: bytes)) ?? GoAway()
            let error = RPCError(code: RPCError.Code(rawValue: goAway.code), message: goAway.message)
            let refused: [UInt32] = state.withLock { state in
                state.goAway = error
                state.goAwayLastCallID = goAway.lastCallId
                return state.calls.keys.filter { $0 > goAway.lastCallId }
            }
            for id in refused { finishCall(id, status: error) }
            let handshake = state.withLock { state in
                defer { state.handshake = nil }
                return state.handshake
            }
            handshake?.resume(throwing: error)
        default:
            break
        }
    }

    // MARK: - Calls

    public func openCall(_ method: MethodDescriptor, options: CallOptions) async throws -> any ClientCall {
        let slots = try state.withLock { state in
            if let error = state.closed ?? state.goAway {
                throw RPCError(code: .unavailable, message: "the connection cannot take new calls: \(error.message)")
            }
            return state.slots
        }
        try await slots?.acquire(1)
        let (responses, continuation) = RawMessageStream.makeStream()
        let call: SocketClientCall = try state.withLock { state in
            if let error = state.closed ?? state.goAway {
                throw RPCError(code: .unavailable, message: "the connection cannot take new calls: \(error.message)")
            }
            let id = state.nextCallID
            state.nextCallID += 1
            let window = FlowWindow(initial: Int(state.hello?.initialWindow ?? 0))
            state.calls[id] = CallEntry(continuation: continuation, window: window)
            return SocketClientCall(id: id, method: method, options: options, connection: self, responses: responses, window: window)
        }
        continuation.onTermination = { [weak call] termination in
            if case .cancelled = termination { call?.cancel() }
        }
        if let timeout = options.timeout {
            let id = call.id
            let task = Task { [weak self] in
                do { try await Task.sleep(for: timeout) } catch { return }
                self?.expire(id, after: timeout)
            }
            state.withLock { $0.calls[id]?.deadlineTask = task }
        }
        return call
    }

    /// The response stream of a call whose consumer takes messages: hands credit back.
    fileprivate func consumed(_ callID: UInt32, bytes: Int) {
        let grant: Int = state.withLock { state in
            guard var entry = state.calls[callID] else { return 0 }
            entry.consumedSinceGrant += bytes
            var grant = 0
            if entry.consumedSinceGrant >= configuration.initialWindow / 2 {
                grant = entry.consumedSinceGrant
                entry.consumedSinceGrant = 0
            }
            state.calls[callID] = entry
            return grant
        }
        guard grant > 0 else { return }
        var payload = ByteBuffer()
        payload.writeInteger(UInt32(clamping: grant))
        let frame = Frame(kind: .window, callID: callID, payload: payload)
        Task { try? await self.write([frame]) }
    }

    fileprivate func write(_ frames: [Frame]) async throws {
        guard let outbound = state.withLock({ $0.outbound }) else {
            throw state.withLock { $0.closed } ?? RPCError(code: .unavailable, message: "the connection to the daemon is closed")
        }
        do {
            try await outbound.write(contentsOf: frames)
        } catch {
            throw RPCError(code: .unavailable, message: "the connection to the daemon closed", cause: error)
        }
    }

    /// Ends a call locally; `sendCancel` also tells the daemon.
    fileprivate func finishCall(_ callID: UInt32, status: RPCError?, sendCancel: Bool = false) {
        let (entry, slots) = state.withLock { state in
            (state.calls.removeValue(forKey: callID), state.slots)
        }
        guard let entry else { return }
        entry.deadlineTask?.cancel()
        if let status {
            entry.continuation.finish(throwing: status)
            entry.window.fail(status)
        } else {
            entry.continuation.finish()
            entry.window.fail(RPCError(code: .failedPrecondition, message: "the call has ended"))
        }
        slots?.release(1)
        if sendCancel {
            Task { try? await self.write([Frame(kind: .cancel, callID: callID)]) }
        }
    }

    private func expire(_ callID: UInt32, after timeout: Duration) {
        finishCall(
            callID,
            status: RPCError(code: .deadlineExceeded, message: "the call did not finish within its timeout of \(timeout)"),
            sendCancel: true
        )
    }

    fileprivate var peerMaxFrame: Int {
        state.withLock { Int($0.hello?.maxFrameSize ?? 0) }
    }
}

/// One call on a ``ClientConnection``.
final class SocketClientCall: ClientCall {
    let id: UInt32
    let responses: RawMessageStream
    private let method: MethodDescriptor
    private let options: CallOptions
    private let connection: ClientConnection
    private let window: FlowWindow
    private let started = Atomic<Bool>(false)

    fileprivate init(
        id: UInt32,
        method: MethodDescriptor,
        options: CallOptions,
        connection: ClientConnection,
        responses: RawMessageStream,
        window: FlowWindow
    ) {
        self.id = id
        self.method = method
        self.options = options
        self.connection = connection
        self.window = window
        // Wrap the raw stream so consumption hands credit back to the daemon.
        self.responses = responses.onConsumed { [weak connection] size in
            connection?.consumed(id, bytes: Frame.cost(payloadSize: size))
        }
    }

    func send(_ message: [UInt8], endStream: Bool) async throws {
        let limit = connection.peerMaxFrame
        guard message.count <= limit else {
            throw RPCError(code: .resourceExhausted, message: "request of \(message.count) bytes exceeds the frame limit of \(limit) bytes")
        }
        try await window.acquire(Frame.cost(payloadSize: message.count))
        var frames = startFrames()
        frames.append(Frame(kind: .message, flags: endStream ? .endStream : [], callID: id, payload: ByteBuffer(bytes: message)))
        try await connection.write(frames)
    }

    func halfClose() async throws {
        var frames = startFrames()
        frames.append(Frame(kind: .halfClose, callID: id))
        try await connection.write(frames)
    }

    func cancel() {
        connection.finishCall(
            id,
            status: RPCError(code: .cancelled, message: "the call was cancelled by the client"),
            sendCancel: started.load(ordering: .relaxed)
        )
    }

    /// The START frame, the first time a frame of this call is written.
    private func startFrames() -> [Frame] {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return [] }
        var start = CallStart()
        start.method = method.path
        if let timeout = options.timeout {
            let (seconds, attoseconds) = timeout.components
            start.timeoutMs = UInt64(max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        }
        start.metadata = options.metadata
        return [Frame(kind: .start, callID: id, payload: ServerConnection.buffer(start))]
    }
}
