public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#endif
public import TallyProto
public import TallyRPC

/// Configuration of a client connection.
public struct ClientConfiguration: Sendable {
    /// Path of the daemon's Unix socket (for a TCP ``address``, its URL, for messages).
    public var socketPath: String
    /// Where the daemon is: `.unix(socketPath)` unless set otherwise.
    public var address: DaemonAddress
    /// The access token sent in the HELLO (required on TCP; `TALLY_TOKEN`).
    public var token: String?
    /// A PEM file of the certificate authorities to trust for TLS instead of the system's
    /// (`TALLY_CA`, for a private CA).
    public var caFile: String?
    /// Name sent in the handshake, for the daemon's logs.
    public var clientName: String
    /// Largest frame payload this client accepts (default 4 MiB).
    public var maxFrameSize: Int
    /// Flow-control credit this client grants the server per call (default 1 MiB).
    public var initialWindow: Int
    /// Time to connect and finish the handshake (default 5 s).
    public var connectTimeout: Duration
    /// One more daemon uid to talk to besides the client's own and root (see ``ServerIdentity``).
    public var trustedDaemonUID: UInt32?
    /// How often the connection sends a PING, so that the daemon's idle timeout (`tally serve
    /// --idle-timeout`, 300 s by default) does not close a client that is only quiet; `nil` for
    /// never (default 60 s).
    public var keepaliveInterval: Duration?

    /// Creates a configuration; everything but the socket path has a default.
    public init(
        socketPath: String,
        clientName: String = "tally-swift",
        maxFrameSize: Int = 4 << 20,
        initialWindow: Int = 1 << 20,
        connectTimeout: Duration = .seconds(5),
        trustedDaemonUID: UInt32? = nil,
        keepaliveInterval: Duration? = .seconds(60)
    ) {
        self.keepaliveInterval = keepaliveInterval
        self.socketPath = socketPath
        self.address = .unix(socketPath)
        self.clientName = clientName
        self.maxFrameSize = maxFrameSize
        self.initialWindow = initialWindow
        self.connectTimeout = connectTimeout
        self.trustedDaemonUID = trustedDaemonUID
    }
}

extension ClientConfiguration {
    /// A configuration for a daemon at `address`, with an access token and a CA file for TLS.
    public init(address: DaemonAddress, token: String? = nil, caFile: String? = nil, clientName: String = "tally-swift") {
        switch address {
        case .unix(let path):
            self.init(socketPath: path, clientName: clientName)
        case .tcp:
            self.init(socketPath: address.description, clientName: clientName)
        }
        self.address = address
        self.token = token
        self.caFile = caFile
    }
}

/// A connection to a Tally daemon over its Unix socket, or over TCP with TLS, carrying any number
/// of concurrent calls.
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
    private let outbox: FrameOutbox
    /// Runs tasks on the connection's event loop (see ``taskExecutor``).
    private let executor: EventLoopTaskExecutor

    /// An open call: a streaming one with its response stream, or a unary one waiting for its END.
    enum OpenCall {
        case stream(SocketClientCall)
        case unary(UnaryClientCall)
    }

    struct CallEntry {
        let call: OpenCall
        var consumedSinceGrant = 0

        /// Ends the call with the daemon's status, or the connection's failure.
        func end(_ status: RPCError?) {
            switch call {
            case .stream(let call): call.end(status)
            case .unary(let call): call.end(status)
            }
        }
    }

    struct State {
        var hello: HelloReply?
        var handshake: CheckedContinuation<HelloReply, any Error>?
        var calls: [UInt32: CallEntry] = [:]
        var nextCallID: UInt32 = 1
        var slots: FlowWindow?
        var goAway: RPCError?
        var closed: RPCError?
        /// START payloads of unary calls without metadata, by method path.
        var startPayloads: [String: ByteBuffer] = [:]
    }

    private init(channel: any Channel, configuration: ClientConfiguration, logger: Logger) {
        self.channel = channel
        self.configuration = configuration
        self.logger = logger
        self.executor = EventLoopTaskExecutor(channel.eventLoop)
        self.outbox = FrameOutbox(channel: channel)
    }

    /// A task executor that runs jobs on this connection's event loop.
    ///
    /// A task that makes many small calls in a row can prefer it
    /// (`withTaskExecutorPreference(connection.taskExecutor) { ... }`): its calls are then written
    /// and their answers delivered on the thread that reads the socket, with no wake-up of another
    /// thread in between. Such a task must not block or compute for long: it holds up every
    /// call of the connection while it runs.
    public var taskExecutor: any TaskExecutor { executor }

    /// Connects to the daemon and performs the handshake.
    /// - Parameters:
    ///   - configuration: Socket path and limits.
    ///   - logger: Logger for connection events.
    /// - Returns: A ready connection.
    /// - Throws: ``RPCError`` UNAVAILABLE naming the socket when no daemon answers there,
    ///   PERMISSION_DENIED when the daemon runs as another user (``ServerIdentity``), or the
    ///   status of the daemon's refusal.
    public static func connect(
        configuration: ClientConfiguration,
        logger: Logger = Logger(label: "tally.client")
    ) async throws -> ClientConnection {
        let path = configuration.socketPath
        let maxFrame = configuration.maxFrameSize
        let connection: ClientConnection
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(configuration.connectTimeout.wholeMilliseconds))
        @Sendable func initialize(_ channel: any Channel, tls: NIOSSLContext?, host: String?) -> EventLoopFuture<ClientConnection> {
            channel.eventLoop.makeCompletedFuture {
                let connection = ClientConnection(channel: channel, configuration: configuration, logger: logger)
                if let tls {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: host))
                }
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadSize: maxFrame)))
                try channel.pipeline.syncOperations.addHandler(ClientFrameHandler(connection: connection))
                return connection
            }
        }
        do {
            switch configuration.address {
            case .unix(let socket):
                connection = try await bootstrap.connect(unixDomainSocketPath: socket) { initialize($0, tls: nil, host: nil) }
            case .tcp(let host, let port, let useTLS):
                let tls = useTLS ? try Self.clientContext(caFile: configuration.caFile) : nil
                // Server names are checked against the certificate; an IP address is matched
                // against its IP entries, without SNI.
                let isAddress = (try? SocketAddress(ipAddress: host, port: port)) != nil
                connection = try await bootstrap
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: host, port: port) { initialize($0, tls: tls, host: isAddress ? nil : host) }
            }
        } catch let error as RPCError {
            throw error
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
            let hint = if case .unix = configuration.address { "start it with `tally serve`" } else { "is it listening there (tally serve --listen)?" }
            throw RPCError(
                code: .unavailable,
                message: "cannot connect to the Tally daemon at \(path): \(reason); \(hint)",
                cause: error
            )
        }
        // Nothing is sent before the daemon's uid is known to be trusted (on TCP, TLS and the
        // daemon's certificate stand for it).
        if case .unix = configuration.address {
            do {
                try await ServerIdentity.verify(connection.channel, path: path, trusted: configuration.trustedDaemonUID)
            } catch {
                await connection.close()
                throw error
            }
        }
        var hello = Hello()
        hello.minVersion = ProtocolVersion.minimum
        hello.maxVersion = ProtocolVersion.current
        hello.clientName = configuration.clientName
        hello.maxFrameSize = UInt32(configuration.maxFrameSize)
        hello.initialWindow = UInt32(configuration.initialWindow)
        hello.token = configuration.token ?? ""
        connection.enqueue([Frame(kind: .hello, callID: 0, payload: ServerConnection.buffer(hello))])
        let handshakeTimeout = configuration.connectTimeout
        let timer = Task {
            do { try await Task.sleep(for: handshakeTimeout) } catch { return }
            connection.failHandshake(RPCError(code: .deadlineExceeded, message: "the daemon at \(path) did not answer the handshake within \(handshakeTimeout)"))
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
        if let interval = configuration.keepaliveInterval {
            connection.startKeepalive(every: interval)
        }
        return connection
    }

    /// The TLS context of a client: the system's trust roots, or only the CAs of `caFile`.
    static func clientContext(caFile: String?) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw RPCError(code: .invalidArgument, message: "cannot read the CA certificates in \(caFile) (TALLY_CA): \(error)", cause: error)
            }
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw RPCError(code: .internalError, message: "cannot set up TLS: \(error)", cause: error)
        }
    }

    /// How the connection reaches the daemon: "unix", "tls" or "tcp".
    public var transportName: String {
        switch configuration.address {
        case .unix: "unix"
        case .tcp(_, _, let tls): tls ? "tls" : "tcp"
        }
    }

    /// The subject of the daemon's TLS certificate ("CN=tally.example.org,O=Example"); `nil`
    /// off TLS.
    public func peerCertificateSubject() async -> String? {
        guard case .tcp(_, _, true) = configuration.address else { return nil }
        let certificate = try? await channel.eventLoop.submit { [channel] in
            try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate
        }.get()
        guard let certificate, let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else {
            return nil
        }
        return parsed.subject.description
    }

    /// Sends a PING every `interval` from the channel's event loop until the channel closes.
    private func startKeepalive(every interval: Duration) {
        let (seconds, attoseconds) = interval.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let nanoseconds = overflow ? Int64.max : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
        let delay = TimeAmount.nanoseconds(max(1_000_000, nanoseconds))
        let task = channel.eventLoop.scheduleRepeatedTask(initialDelay: delay, delay: delay) { [weak self] task in
            guard let self else {
                task.cancel()
                return
            }
            self.enqueue([Frame(kind: .ping, callID: 0, payload: ByteBuffer())])
        }
        channel.closeFuture.whenComplete { _ in task.cancel() }
    }

    /// Closes the connection; open calls fail with UNAVAILABLE.
    public func close() async {
        channel.close(promise: nil)
        try? await channel.closeFuture.get()
    }

    // MARK: - Reading

    /// Called on the event loop when the channel has closed: ends every open call.
    func connectionEnded(_ closing: RPCError) {
        let (calls, handshake, goAway) = state.withLock { state in
            let error = state.goAway ?? closing
            state.closed = error
            defer {
                state.calls.removeAll()
                state.handshake = nil
            }
            return (Array(state.calls.values), state.handshake, error)
        }
        for entry in calls {
            entry.end(goAway)
            releaseSlot()
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

    /// Handles one frame from the daemon, on the event loop.
    func handle(_ frame: Frame) throws {
        var bytes: [UInt8] { Array(frame.payload.readableBytesView) }
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
            switch state.withLock({ $0.calls[frame.callID]?.call }) {
            case .stream(let call)?: call.deliver(bytes)
            case .unary(let call)?: call.deliver(bytes)
            case nil: break
            }
        case .end:
            let status: RPCError?
            if frame.payload.readableBytes == 0 {
                status = nil  // an empty CallEnd: OK
            } else if let end = try? CallEnd(serializedBytes: bytes) {
                status = end.code == 0 ? nil : RPCError(code: RPCError.Code(rawValue: end.code), message: end.message, details: end.details)
            } else {
                status = RPCError(code: .internalError, message: "the daemon sent an END frame that is not a valid tally.v1.CallEnd")
            }
            switch state.withLock({ $0.calls.removeValue(forKey: frame.callID)?.call }) {
            case .stream(let call)?:
                call.end(status)
                call.releaseSlotOnce()
            case .unary(let call)?:
                call.end(status)
                releaseSlot()
            case nil:
                break
            }
        case .window:
            guard frame.payload.readableBytes == 4, let credit = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self) else {
                throw RPCError(code: .internalError, message: "the daemon sent a malformed WINDOW frame")
            }
            if case .stream(let call)? = state.withLock({ $0.calls[frame.callID]?.call }) {
                call.window.release(Int(credit))
            }
        case .ping:
            enqueue([Frame(kind: .pong, callID: 0, payload: frame.payload)])
        case .goAway:
            let goAway = (try? GoAway(serializedBytes: bytes)) ?? GoAway()
            let error = RPCError(code: RPCError.Code(rawValue: goAway.code), message: goAway.message)
            let (refused, handshake) = state.withLock { state in
                state.goAway = error
                let refused = state.calls.filter { $0.key > goAway.lastCallId }
                for id in refused.keys { state.calls.removeValue(forKey: id) }
                defer { state.handshake = nil }
                return (refused, state.handshake)
            }
            for entry in refused.values {
                entry.end(error)
                if case .stream(let call) = entry.call { call.releaseSlotOnce() } else { releaseSlot() }
            }
            handshake?.resume(throwing: error)
        default:
            break
        }
    }

    /// Hands frames to the event loop in one go, in the order of calls to this method; the
    /// future completes when the last one is written.
    func submit(_ frames: [Frame]) -> EventLoopFuture<Void> {
        outbox.submit(frames)
    }

    /// Hands frames to the event loop in one go, in the order of calls to this method.
    func enqueue(_ frames: [Frame]) {
        outbox.enqueue(frames)
    }

    // MARK: - Calls

    public func openCall(_ method: MethodDescriptor, options: CallOptions) async throws -> any ClientCall {
        let (slots, window) = try state.withLock { state in
            if let error = state.closed ?? state.goAway {
                throw RPCError(code: .unavailable, message: "the connection cannot take new calls: \(error.message)")
            }
            return (state.slots, Int(state.hello?.initialWindow ?? 0))
        }
        try await slots?.acquire(1)
        let call = SocketClientCall(method: method, options: options, connection: self, window: window)
        if let timeout = options.timeout {
            let task = Task { [weak call] in
                do { try await Task.sleep(for: timeout) } catch { return }
                call?.abort(RPCError(code: .deadlineExceeded, message: "the call did not finish within its timeout of \(timeout)"))
            }
            call.setDeadlineTask(task)
        }
        return call
    }

    /// Makes a unary call without a per-call response stream: START and the request go to the
    /// event loop without waiting for the write, and the daemon's END resumes the caller
    /// directly. Calls with a timeout take the general path, which also keeps a timer.
    public func unaryCall(_ method: MethodDescriptor, request: [UInt8], options: CallOptions) async throws -> [UInt8] {
        guard options.timeout == nil else {
            return try await unaryThroughCall(method, request: request, options: options)
        }
        let (slots, limit) = try state.withLock { state in
            if let error = state.closed ?? state.goAway {
                throw RPCError(code: .unavailable, message: "the connection cannot take new calls: \(error.message)")
            }
            return (state.slots, Int(state.hello?.maxFrameSize ?? 0))
        }
        guard request.count <= limit else {
            throw RPCError(code: .resourceExhausted, message: "request of \(request.count) bytes exceeds the frame limit of \(limit) bytes")
        }
        try await slots?.acquire(1)
        let call = UnaryClientCall()
        let registered: Result<UInt32, RPCError> = state.withLock { state in
            if let error = state.closed {
                return .failure(RPCError(code: .unavailable, message: "the connection to the daemon is closed: \(error.message)"))
            }
            if let error = state.goAway {
                return .failure(RPCError(code: .unavailable, message: "the connection cannot take new calls: \(error.message)"))
            }
            let id = state.nextCallID
            state.nextCallID += 1
            state.calls[id] = CallEntry(call: .unary(call))
            // Under the lock, so that START frames reach the wire in the order of their ids.
            enqueue([
                startFrame(id: id, method: method, options: options, state: &state),
                Frame(kind: .message, flags: .endStream, callID: id, payload: ByteBuffer(bytes: request)),
            ])
            return .success(id)
        }
        let id: UInt32
        switch registered {
        case .success(let assigned): id = assigned
        case .failure(let error):
            releaseSlot()
            throw error
        }
        return try await withTaskCancellationHandler {
            try await call.response()
        } onCancel: {
            if call.end(RPCError(code: .cancelled, message: "the call was cancelled by the client")) {
                abandon(id)
            }
        }
    }

    /// The START frame of a unary call; the payload of a call without metadata is encoded once
    /// per method and kept.
    private func startFrame(id: UInt32, method: MethodDescriptor, options: CallOptions, state: inout State) -> Frame {
        guard options.metadata.isEmpty, options.timeout == nil else {
            return SocketClientCall.startFrame(id: id, method: method, options: options)
        }
        if let payload = state.startPayloads[method.path] {
            return Frame(kind: .start, callID: id, payload: payload)
        }
        let frame = SocketClientCall.startFrame(id: id, method: method, options: options)
        state.startPayloads[method.path] = frame.payload
        return frame
    }

    /// Writes a call's frames; the first time, assigns its id and sends START before them.
    ///
    /// Ids are assigned and START frames handed to the event loop under one lock, so the daemon
    /// sees call ids strictly increasing, as the protocol requires.
    fileprivate func write(_ call: SocketClientCall, _ makeFrames: (UInt32) -> [Frame]) async throws {
        let future: EventLoopFuture<Void> = try state.withLock { state in
            if let error = state.closed {
                throw RPCError(code: .unavailable, message: "the connection to the daemon is closed: \(error.message)")
            }
            switch try call.claimID(next: state.nextCallID) {
            case .assigned(let id):
                if let error = state.goAway {
                    throw RPCError(code: .unavailable, message: "the connection cannot take new calls: \(error.message)")
                }
                state.nextCallID += 1
                state.calls[id] = CallEntry(call: .stream(call))
                return submit([call.startFrame(id: id)] + makeFrames(id))
            case .existing(let id):
                return submit(makeFrames(id))
            }
        }
        do {
            try await future.get()
        } catch {
            throw RPCError(code: .unavailable, message: "the connection to the daemon closed", cause: error)
        }
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
        enqueue([Frame.window(callID: callID, credit: grant)])
    }

    /// Tells the daemon a started call was abandoned on the client's side. The call keeps its
    /// entry (and its concurrency slot) until the daemon's END arrives.
    fileprivate func abandon(_ callID: UInt32?) {
        guard let callID else { return }
        let open = state.withLock { $0.calls[callID] != nil }
        if open {
            enqueue([Frame(kind: .cancel, callID: callID)])
        }
    }

    fileprivate func releaseSlot() {
        state.withLock { $0.slots }?.release(1)
    }

    fileprivate var peerMaxFrame: Int {
        state.withLock { Int($0.hello?.maxFrameSize ?? 0) }
    }
}

/// One call on a ``ClientConnection``.
final class SocketClientCall: ClientCall {
    enum Phase {
        case idle
        case open(UInt32)
        case ended(UInt32?, RPCError?)
    }

    enum Claim {
        case assigned(UInt32)
        case existing(UInt32)
    }

    let responses: RawMessageStream
    let window: FlowWindow
    private let continuation: RawMessageStream.Continuation
    private let method: MethodDescriptor
    private let options: CallOptions
    private let connection: ClientConnection
    private let phase = Mutex<Phase>(.idle)
    private let deadlineTask = Mutex<Task<Void, Never>?>(nil)
    private let idCell = AtomicCell()
    private let slotReleased = Atomic<Bool>(false)

    fileprivate init(method: MethodDescriptor, options: CallOptions, connection: ClientConnection, window: Int) {
        self.method = method
        self.options = options
        self.connection = connection
        self.window = FlowWindow(initial: window)
        let (stream, continuation) = RawMessageStream.makeStream()
        self.continuation = continuation
        let idCell = self.idCell
        // Consumption hands credit back to the daemon.
        self.responses = stream.onConsumed { [weak connection] size in
            let id = idCell.load()
            guard id != 0 else { return }
            connection?.consumed(id, bytes: Frame.cost(payloadSize: size))
        }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination {
                self?.abort(RPCError(code: .cancelled, message: "the call was cancelled by the client"))
            }
        }
    }

    func send(_ message: [UInt8], endStream: Bool) async throws {
        let limit = connection.peerMaxFrame
        guard message.count <= limit else {
            throw RPCError(code: .resourceExhausted, message: "request of \(message.count) bytes exceeds the frame limit of \(limit) bytes")
        }
        try await window.acquire(Frame.cost(payloadSize: message.count))
        let payload = ByteBuffer(bytes: message)
        try await connection.write(self) { id in
            [Frame(kind: .message, flags: endStream ? .endStream : [], callID: id, payload: payload)]
        }
    }

    func halfClose() async throws {
        try await connection.write(self) { id in [Frame(kind: .halfClose, callID: id)] }
    }

    func cancel() {
        abort(RPCError(code: .cancelled, message: "the call was cancelled by the client"))
    }

    func setDeadlineTask(_ task: Task<Void, Never>) {
        deadlineTask.withLock { $0 = task }
    }

    /// Called under the connection's lock when the call writes.
    func claimID(next: UInt32) throws -> Claim {
        try phase.withLock { phase in
            switch phase {
            case .idle:
                phase = .open(next)
                idCell.store(next)
                return .assigned(next)
            case .open(let id):
                return .existing(id)
            case .ended(_, let status):
                throw status ?? RPCError(code: .failedPrecondition, message: "the call has already ended")
            }
        }
    }

    func startFrame(id: UInt32) -> Frame {
        Self.startFrame(id: id, method: method, options: options)
    }

    /// The START frame of a call.
    static func startFrame(id: UInt32, method: MethodDescriptor, options: CallOptions) -> Frame {
        var start = CallStart()
        start.method = method.path
        if let timeout = options.timeout {
            start.timeoutMs = UInt64(max(1, timeout.wholeMilliseconds))
        }
        start.metadata = options.metadata
        return Frame(kind: .start, callID: id, payload: ServerConnection.buffer(start))
    }

    func deliver(_ message: [UInt8]) {
        continuation.yield(message)
    }

    /// Ends the call with the daemon's END (or the connection's failure). Idempotent.
    func end(_ status: RPCError?) {
        guard transitionToEnded(status) != nil else { return }
        finish(status)
    }

    /// Ends the call from the client's side: cancellation or deadline. Idempotent.
    func abort(_ status: RPCError) {
        guard let previous = transitionToEnded(status) else { return }
        if case .open(let id) = previous {
            connection.abandon(id)
        } else {
            releaseSlotOnce()  // never reached the daemon
        }
        finish(status)
    }

    /// Gives the call's concurrency slot back, once: when the daemon's END arrives, the
    /// connection closes, or the call never started.
    func releaseSlotOnce() {
        if slotReleased.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            connection.releaseSlot()
        }
    }

    /// Moves to `.ended`, returning the previous phase, or `nil` if the call had already ended.
    private func transitionToEnded(_ status: RPCError?) -> Phase? {
        phase.withLock { phase in
            switch phase {
            case .idle:
                phase = .ended(nil, status)
                return .idle
            case .open(let id):
                phase = .ended(id, status)
                return .open(id)
            case .ended:
                return nil
            }
        }
    }

    private func finish(_ status: RPCError?) {
        deadlineTask.withLock { $0 }?.cancel()
        if let status {
            continuation.finish(throwing: status)
            window.fail(status)
        } else {
            continuation.finish()
            window.fail(RPCError(code: .failedPrecondition, message: "the call has ended"))
        }
    }
}

/// A call id shared with the response stream's credit callback (0 until assigned).
final class AtomicCell: Sendable {
    private let value = Atomic<UInt32>(0)
    func load() -> UInt32 { value.load(ordering: .acquiring) }
    func store(_ newValue: UInt32) { value.store(newValue, ordering: .releasing) }
}
