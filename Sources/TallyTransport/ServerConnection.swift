import Logging
import NIOCore
import Synchronization
import TallyProto
import TallyRPC

/// Serves one accepted connection: handshake, call multiplexing, flow control, deadlines,
/// cancellation and draining, as docs/protocol.md describes.
///
/// One task reads frames in order and never waits on a handler; each call's handler runs in a
/// task of its own. Frames go out through one ``FrameOutbox``: answers made in the same turn of
/// the event loop are written with one flush.
final class ServerConnection: Sendable {
    let id: UInt64
    private let router: RPCRouter
    private let limits: ConnectionLimits
    private let serverName: String
    private let logger: Logger
    private let channel: any Channel
    private let outbox: FrameOutbox
    private let stats: TransportStats
    private let state = Mutex(State())
    /// Streaming calls opened by the read being decoded: their handlers start once the read is
    /// (``readComplete()``), so a handler finds every message that read brought already queued
    /// (a run's start, points and end sent together are committed together).
    private let opened = Mutex<[(callID: UInt32, entry: CallEntry, requests: RawMessageStream)]>([])
    /// Set once reading has failed; later frames are dropped.
    private let readFailed = Atomic<Bool>(false)
    /// When the connection was last active (a frame received, a call ended), in nanoseconds
    /// since ``epoch``: the idle timeout counts from there.
    private let lastActive = Atomic<Int64>(0)
    private let epoch = ContinuousClock.now
    /// The connection's event loop as an executor: every handler runs there with
    /// ``ConnectionLimits/HandlerExecutor/eventLoop``, and the handlers of routes marked
    /// non-blocking (``RPCRouter/Route/nonBlocking``) always do.
    private let loopExecutor: EventLoopTaskExecutor
    /// Who is at the other end, as the services see it (until a HELLO's token says otherwise).
    private let caller: Caller
    /// Checks the HELLO's access token, on a listener that requires one (TCP).
    private let authenticator: (@Sendable (String) -> Result<Caller, RPCError>)?

    init(
        id: UInt64,
        caller: Caller,
        authenticator: (@Sendable (String) -> Result<Caller, RPCError>)? = nil,
        router: RPCRouter,
        limits: ConnectionLimits,
        serverName: String,
        logger: Logger,
        channel: any Channel,
        stats: TransportStats
    ) {
        self.id = id
        self.caller = caller
        self.authenticator = authenticator
        self.router = router
        self.limits = limits
        self.serverName = serverName
        var logger = logger
        logger[metadataKey: "connection"] = "\(id)"
        self.logger = logger
        self.channel = channel
        self.loopExecutor = EventLoopTaskExecutor(channel.eventLoop)
        self.outbox = FrameOutbox(channel: channel, limit: limits.outboundBufferSize)
        self.stats = stats
    }

    // MARK: - Running

    /// Serves the connection until its channel closes, then ends every open call and waits for
    /// their handlers. Frames reach ``receive(_:)`` from the channel's ``ServerFrameHandler``.
    func run() async {
        logger.debug("connection opened")
        let handshakeTimeout = limits.handshakeTimeout
        let handshakeTimer = Task { [self] in
            do { try await Task.sleep(for: handshakeTimeout) } catch { return }
            if state.withLock({ $0.phase == .awaitingHello }) {
                goAwayAndClose(ConnectionError(code: .deadlineExceeded, message: "no HELLO within \(handshakeTimeout)"))
            }
        }
        let idleTimer = limits.idleTimeout.map { timeout in
            Task { [self] in await closeWhenIdle(after: timeout) }
        }
        try? await channel.closeFuture.get()
        handshakeTimer.cancel()
        idleTimer?.cancel()
        let open = state.withLock { $0.close() }
        let gone = RPCError(code: .cancelled, message: "the connection closed")
        outbox.fail(gone)
        for entry in open {
            entry.task?.cancel()
            entry.requestTimer?.cancel()
            entry.requestContinuation?.finish(throwing: gone)
            entry.outboundWindow.fail(gone)
        }
        for entry in open {
            await entry.task?.value
        }
        for observer in router.connectionClosed {
            await observer(id)
        }
        logger.debug("connection closed")
    }

    // MARK: - Idle timeout

    private func markActive() {
        let elapsed = (ContinuousClock.now - epoch).components
        lastActive.store(elapsed.seconds &* 1_000_000_000 &+ elapsed.attoseconds / 1_000_000_000, ordering: .relaxed)
    }

    private func lastActiveInstant() -> ContinuousClock.Instant {
        epoch + .nanoseconds(lastActive.load(ordering: .relaxed))
    }

    /// Sends GOAWAY UNAVAILABLE and closes the connection once it has had no call open and
    /// received no frame for `timeout`. Returns when it did, or when cancelled.
    private func closeWhenIdle(after timeout: Duration) async {
        markActive()
        var deadline = lastActiveInstant() + timeout
        while true {
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
            let busy = state.withLock { $0.phase == .awaitingHello || !$0.calls.isEmpty }
            let now = ContinuousClock.now
            if busy {
                // A call is open (or the handshake timer is in charge): not idle.
                deadline = now + timeout
                continue
            }
            let due = lastActiveInstant() + timeout
            if due > now {
                deadline = due
                continue
            }
            let (lastCallID, stillIdle) = state.withLock { state in
                let idle = state.calls.isEmpty && state.phase == .ready
                if idle { _ = state.startDraining() }
                return (state.lastCallID, idle)
            }
            guard stillIdle else { return }
            logger.debug("closing idle connection", metadata: ["idle": "\(timeout)"])
            let error = ConnectionError(code: .unavailable, message: "the connection was idle for \(timeout)")
            outbox.enqueue([Self.goAwayFrame(error, lastCallID: lastCallID)])
            outbox.close()
            return
        }
    }

    // MARK: - Reading

    /// Handles one event from the frame decoder, on the event loop. After a protocol error the
    /// connection sends GOAWAY, closes and ignores whatever else arrives.
    func receive(_ event: InboundFrame) {
        guard !readFailed.load(ordering: .relaxed) else { return }
        if limits.idleTimeout != nil { markActive() }
        do {
            try handle(event)
        } catch {
            receiveError(error)
        }
    }

    /// The connection cannot go on reading: a protocol violation (GOAWAY, then close) or a
    /// failure of the socket (close).
    func receiveError(_ error: any Error) {
        guard readFailed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        switch error {
        case let error as ConnectionError:
            logger.notice("closing connection", metadata: ["reason": "\(error)"])
            goAwayAndClose(error)
        case let error as FrameError where error.code == .truncated:
            // The peer has already closed its end: there is no one to send a GOAWAY to.
            logger.notice("connection ended in the middle of a frame", metadata: ["reason": "\(error)"])
            outbox.close()
        case let error as FrameError:
            logger.notice("closing connection", metadata: ["reason": "\(error)"])
            goAwayAndClose(ConnectionError(code: .invalidArgument, message: error.message))
        default:
            logger.debug("connection read ended", metadata: ["error": "\(error)"])
            outbox.close()
        }
    }

    /// Stops taking calls: sends GOAWAY, lets calls in flight finish, then closes.
    func drain() {
        let (changed, idle, lastCallID, wasHandshaking) = state.withLock { state in
            let handshaking = state.phase == .awaitingHello
            let changed = state.startDraining()
            return (changed, state.calls.isEmpty, state.lastCallID, handshaking)
        }
        guard changed else { return }
        if !wasHandshaking {
            let error = ConnectionError(code: .unavailable, message: "the server is shutting down")
            outbox.enqueue([Self.goAwayFrame(error, lastCallID: lastCallID)])
        }
        if idle || wasHandshaking {
            outbox.close()
        }
    }

    /// Sends GOAWAY with `error` and closes the connection, cancelling its calls, when it has
    /// authenticated as a caller for whom `shouldClose` is true (a revoked or expired token).
    /// - Returns: Whether it closes.
    func closeIfAuthenticated(as shouldClose: (Caller) -> Bool, error: ConnectionError) -> Bool {
        let caller = state.withLock { $0.authenticated }
        guard let caller, shouldClose(caller), !readFailed.exchange(true, ordering: .relaxed) else { return false }
        logger.notice("closing connection", metadata: ["reason": "\(error.message)", "user": "\(caller.identity)"])
        goAwayAndClose(error)
        return true
    }

    /// Closes the connection at once; its calls are cancelled.
    func forceClose() {
        channel.close(promise: nil)
    }

    private func goAwayAndClose(_ error: ConnectionError) {
        let lastCallID = state.withLock { $0.lastCallID }
        outbox.enqueue([Self.goAwayFrame(error, lastCallID: lastCallID)])
        outbox.close()
    }

    static func goAwayFrame(_ error: ConnectionError, lastCallID: UInt32) -> Frame {
        var goAway = GoAway()
        goAway.code = error.code.rawValue
        goAway.message = error.message
        goAway.lastCallId = lastCallID
        return Frame(kind: .goAway, callID: 0, payload: buffer(goAway))
    }

    // MARK: - Frames

    private func handle(_ event: InboundFrame) throws {
        switch event {
        case .oversized(let kind, let callID, let length):
            let message = "\(kind) frame of \(length) bytes exceeds the limit of \(limits.maxFrameSize) bytes"
            // Precedence: the first-frame rule, then unknown kinds, then the size.
            if kind != .hello {
                try state.withLock { try $0.requireHandshake(for: kind) }
            }
            guard kind.isKnown else {
                throw ConnectionError(code: .invalidArgument, message: "unknown frame kind \(kind.rawValue)")
            }
            // Only a call's START or MESSAGE can be refused alone; anything else ends the connection.
            guard callID != 0, kind == .message || kind == .start else {
                throw ConnectionError(code: .resourceExhausted, message: message)
            }
            if kind == .start {
                try state.withLock { try $0.claimCallID(callID) }
                return try writeEnd(callID, RPCError(code: .resourceExhausted, message: message))
            }
            let open = try state.withLock { state in
                if state.calls[callID] != nil { return true }
                try state.checkUnknownCall(callID, kind: kind)
                return false
            }
            if open {
                try endCall(callID, RPCError(code: .resourceExhausted, message: message))
            }
        case .frame(let frame):
            if frame.kind != .hello {
                try state.withLock { try $0.requireHandshake(for: frame.kind) }
            }
            switch frame.kind {
            case .hello: try handleHello(frame)
            case .start: try handleStart(frame)
            case .message: try handleMessage(frame)
            case .halfClose: try handleHalfClose(frame)
            case .cancel: try handleCancel(frame)
            case .window: try handleWindow(frame)
            case .ping: try handlePing(frame)
            case .pong: break
            case .goAway: handleGoAway()
            case .end:
                throw ConnectionError(code: .invalidArgument, message: "END frames are sent by the server only")
            default:
                throw ConnectionError(code: .invalidArgument, message: "unknown frame kind \(frame.kind.rawValue)")
            }
        }
    }

    private func handleHello(_ frame: Frame) throws {
        guard frame.callID == 0 else {
            throw ConnectionError(code: .invalidArgument, message: "HELLO must be sent on call id 0")
        }
        let hello: Hello
        do {
            hello = try Hello(serializedBytes: Array(frame.payload.readableBytesView))
        } catch {
            throw ConnectionError(code: .invalidArgument, message: "HELLO payload is not a valid tally.v1.Hello: \(error)")
        }
        try state.withLock { try $0.receiveHello() }
        let lowest = max(hello.minVersion, ProtocolVersion.minimum)
        let highest = min(hello.maxVersion, ProtocolVersion.current)
        guard lowest <= highest else {
            throw ConnectionError(
                code: .failedPrecondition,
                message: "the client speaks protocol versions \(hello.minVersion)–\(hello.maxVersion); this daemon speaks \(ProtocolVersion.minimum)–\(ProtocolVersion.current)"
            )
        }
        var caller = self.caller
        if let authenticator {
            switch authenticator(hello.token) {
            case .success(let known):
                caller = known
            case .failure(let refusal):
                logger.notice("refused connection", metadata: ["reason": "\(refusal.message)", "client": "\(hello.clientName)"])
                throw ConnectionError(code: .unauthenticated, message: refusal.message)
            }
        }
        let peerMaxFrame = hello.maxFrameSize == 0 ? limits.maxFrameSize : min(limits.maxFrameSize, Int(hello.maxFrameSize))
        let peerWindow = hello.initialWindow == 0 ? ConnectionLimits().initialWindow : Int(hello.initialWindow)
        let authenticated = authenticator == nil ? nil : caller
        state.withLock { state in
            state.peerMaxFrame = peerMaxFrame
            state.peerWindow = peerWindow
            state.authenticated = authenticated
        }
        var reply = HelloReply()
        reply.version = highest
        reply.serverName = serverName
        reply.maxFrameSize = UInt32(clamping: peerMaxFrame)
        reply.maxConcurrentCalls = UInt32(clamping: limits.maxConcurrentCalls)
        reply.initialWindow = UInt32(clamping: limits.initialWindow)
        reply.connectionId = id
        reply.user = caller.userName
        reply.role = caller.role.name
        logger.debug("handshake", metadata: ["client": "\(hello.clientName)", "version": "\(highest)"])
        outbox.enqueue([Frame(kind: .hello, callID: 0, payload: Self.buffer(reply))])
    }

    private func handleStart(_ frame: Frame) throws {
        let callID = frame.callID
        let (draining, authenticated) = try state.withLock { state in
            try state.claimCallID(callID)
            return (state.phase != .ready, state.authenticated)
        }
        if draining {
            return try writeEnd(callID, RPCError(code: .unavailable, message: "the server is shutting down and takes no new calls"))
        }
        let start: CallStart
        if let known = state.withLock({ $0.knownStarts[frame.payload] }) {
            // The same START as an earlier call's (same method, deadline and metadata).
            start = known
        } else {
            do {
                start = try CallStart(serializedBytes: Array(frame.payload.readableBytesView))
            } catch {
                return try writeEnd(callID, RPCError(code: .invalidArgument, message: "START payload is not a valid tally.v1.CallStart: \(error)"))
            }
            state.withLock { $0.remember(start, payload: frame.payload) }
        }
        guard let route = router.route(for: start.method) else {
            return try writeEnd(callID, RPCError(code: .unimplemented, message: "method \(start.method) is not implemented by this server"))
        }
        var callLogger = logger
        // Setting metadata copies the handler's metadata: worth it only when debug lines are kept.
        if logger.logLevel <= .debug {
            callLogger[metadataKey: "call"] = "\(callID)"
            callLogger[metadataKey: "method"] = "\(start.method)"
        }
        let deadline = start.timeoutMs > 0
            ? ContinuousClock.now.advanced(by: .milliseconds(Int64(clamping: start.timeoutMs)))
            : nil
        let context = ServerContext(
            method: route.method,
            callID: callID,
            connectionID: id,
            deadline: deadline,
            metadata: start.metadata,
            logger: callLogger,
            caller: authenticated ?? caller
        )
        let (admitted, peerWindow) = state.withLock { state in
            (state.calls.count < limits.maxConcurrentCalls, state.peerWindow)
        }
        guard admitted else {
            return try writeEnd(
                callID,
                RPCError(code: .resourceExhausted, message: "too many concurrent calls on this connection (limit \(limits.maxConcurrentCalls))")
            )
        }
        let entry = CallEntry(
            route: route,
            context: context,
            outboundWindow: FlowWindow(initial: peerWindow),
            inboundCredit: limits.initialWindow
        )
        if route.method.kind.hasSingleRequest {
            if let deadline {
                // The request must arrive before the deadline too.
                entry.requestTimer = Task { [self] in
                    do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
                    let waiting = state.withLock { $0.calls[callID].map { !$0.receivedRequest } ?? false }
                    if waiting {
                        try? self.endCall(callID, RPCError(code: .deadlineExceeded, message: "the call's deadline passed before its request arrived"))
                    }
                }
            }
            state.withLock { $0.calls[callID] = entry }
            return
        }
        let (requests, continuation) = RawMessageStream.makeStream { [self] size in
            self.consumed(callID, bytes: Frame.cost(payloadSize: size))
        }
        entry.requestContinuation = continuation
        state.withLock { $0.calls[callID] = entry }
        opened.withLock { $0.append((callID, entry, requests)) }
    }

    /// The frames of one read are handled: starts the handlers of the streaming calls they opened
    /// (those still open).
    func readComplete() {
        let calls = opened.withLock { opened -> [(callID: UInt32, entry: CallEntry, requests: RawMessageStream)] in
            defer { opened.removeAll() }
            return opened
        }
        for call in calls where state.withLock({ $0.calls[call.callID] === call.entry }) {
            startHandler(call.callID, entry: call.entry, requests: call.requests)
        }
    }

    private func handleMessage(_ frame: Frame) throws {
        let callID = frame.callID
        enum Action {
            case ignore
            case start(CallEntry, [UInt8])
            case end(RPCError)
        }
        let bytes = Array(frame.payload.readableBytesView)
        let endStream = frame.flags.contains(.endStream)
        let action: Action = try state.withLock { state in
            guard let entry = state.calls[callID] else {
                try state.checkUnknownCall(callID, kind: .message)
                return .ignore  // the call has ended; late frames are expected
            }
            if entry.requestsClosed {
                return .end(RPCError(code: .invalidArgument, message: "MESSAGE after the client half-closed the call"))
            }
            if entry.route.method.kind.hasSingleRequest {
                entry.receivedRequest = true
                entry.requestsClosed = true
                entry.requestTimer?.cancel()
                entry.requestTimer = nil
                state.calls[callID] = entry
                return .start(entry, bytes)
            }
            guard entry.inboundCredit > 0 else {
                return .end(RPCError(code: .resourceExhausted, message: "the client sent past its flow-control window"))
            }
            entry.inboundCredit -= Frame.cost(payloadSize: bytes.count)
            entry.requestContinuation?.yield(bytes)
            if endStream {
                entry.requestContinuation?.finish()
                entry.requestsClosed = true
            }
            state.calls[callID] = entry
            return .ignore
        }
        switch action {
        case .ignore:
            break
        case .start(let entry, let bytes):
            startHandler(callID, entry: entry, requests: .single(bytes))
        case .end(let error):
            try endCall(callID, error)
        }
    }

    private func handleHalfClose(_ frame: Frame) throws {
        let callID = frame.callID
        let error: RPCError? = try state.withLock { state in
            guard let entry = state.calls[callID] else {
                try state.checkUnknownCall(callID, kind: .halfClose)
                return nil
            }
            if entry.route.method.kind.hasSingleRequest {
                return entry.receivedRequest
                    ? nil
                    : RPCError(code: .invalidArgument, message: "the client half-closed a \(entry.route.method.kind) call without sending its request")
            }
            entry.requestsClosed = true
            entry.requestContinuation?.finish()
            state.calls[callID] = entry
            return nil
        }
        if let error { try endCall(callID, error) }
    }

    private func handleCancel(_ frame: Frame) throws {
        let callID = frame.callID
        let cancelled = RPCError(code: .cancelled, message: "the client cancelled the call")
        let (found, task) = try state.withLock { state in
            guard let entry = state.calls[callID] else {
                try state.checkUnknownCall(callID, kind: .cancel)
                return (false, nil as Task<Void, Never>?)
            }
            entry.cancelledByClient = true
            entry.requestContinuation?.finish(throwing: cancelled)
            entry.requestContinuation = nil
            state.calls[callID] = entry
            return (true, entry.task)
        }
        guard found else { return }
        if let task {
            task.cancel()  // the handler ends, and its END says CANCELLED
        } else {
            try endCall(callID, cancelled)
        }
    }

    private func handleWindow(_ frame: Frame) throws {
        guard frame.payload.readableBytes == 4, let credit = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self) else {
            throw ConnectionError(code: .invalidArgument, message: "WINDOW payload must be a 4-byte credit")
        }
        let window = try state.withLock { state in
            guard let entry = state.calls[frame.callID] else {
                try state.checkUnknownCall(frame.callID, kind: .window)
                return nil as FlowWindow?
            }
            return entry.outboundWindow
        }
        guard let window, credit > 0 else { return }
        // The send window is a signed 64-bit count that the client's grants may raise to at most
        // 2^32 - 1 (the largest initial window): a client only hands back what it consumed.
        // Only this reader raises it, so the check cannot race with another grant.
        let available = window.available
        guard available <= Self.maxSendWindow - Int(credit) else {
            throw ConnectionError(
                code: .invalidArgument,
                message: "WINDOW of \(credit) bytes for call \(frame.callID) would raise its send window from \(available) above \(Self.maxSendWindow) bytes"
            )
        }
        window.release(Int(credit))
    }

    /// The largest send window a client may grant a call: 2^32 - 1 bytes.
    static let maxSendWindow = Int(UInt32.max)

    private func handlePing(_ frame: Frame) throws {
        guard frame.callID == 0, frame.payload.readableBytes <= 64 else {
            throw ConnectionError(code: .invalidArgument, message: "PING must use call id 0 and carry at most 64 bytes")
        }
        outbox.enqueue([Frame(kind: .pong, callID: 0, payload: frame.payload)])
    }

    private func handleGoAway() {
        let idle = state.withLock { state in
            _ = state.startDraining()
            return state.calls.isEmpty
        }
        if idle { outbox.close() }
    }

    // MARK: - Calls

    private func startHandler(_ callID: UInt32, entry: CallEntry, requests: RawMessageStream) {
        let writer = ServerResponseWriter(connection: self, callID: callID, kind: entry.route.method.kind, window: entry.outboundWindow)
        let call = ServerCall(context: entry.context, requests: requests, responses: writer)
        let handler = entry.route.handler
        stats.callStarted()
        let body: @Sendable () async -> Void = {
            let status = await ServerCallRunner.run(handler, call: call)
            await self.finishCall(callID, status: status)
            self.stats.callFinished()
        }
        let onLoop = limits.handlerExecutor == .eventLoop || entry.route.nonBlocking
        let task = onLoop ? Task(executorPreference: loopExecutor, operation: body) : Task(executorPreference: globalConcurrentExecutor, operation: body)
        state.withLock { $0.calls[callID]?.task = task }
    }

    /// Called by a call's own task when its handler returns: sends the END (and a held response).
    ///
    /// A held response waits for room in the outbox first; the call stays open (and counts
    /// against the concurrency limit) until its frames are handed in.
    private func finishCall(_ callID: UInt32, status: RPCError?) async {
        let pending: (cancelled: Bool, response: [UInt8]?)? = state.withLock { state in
            state.calls[callID].map { ($0.cancelledByClient, $0.pendingResponse) }
        }
        guard let pending else { return }  // the connection already ended it
        var status = status
        var reserved = 0
        var response: Frame?
        if status == nil, !pending.cancelled, let bytes = pending.response {
            let size = Frame.cost(payloadSize: bytes.count)
            do {
                try await outbox.reserve(size)
                reserved = size
                response = Frame(kind: .message, callID: callID, payload: ByteBuffer(bytes: bytes))
            } catch {
                status = RPCError(code: .cancelled, message: "the call was cancelled")
            }
        }
        let (entry, idle) = state.withLock { state in
            (state.calls.removeValue(forKey: callID), state.isDrainedAndIdle)
        }
        guard let entry else {
            // The connection ended the call while the response waited.
            if reserved > 0 { outbox.cancelReservation(reserved) }
            return
        }
        if limits.idleTimeout != nil { markActive() }
        if entry.cancelledByClient {
            status = RPCError(code: .cancelled, message: "the client cancelled the call")
            response = nil
        }
        let ended = RPCError(code: .cancelled, message: "the call has ended")
        entry.requestContinuation?.finish(throwing: ended)
        entry.outboundWindow.fail(ended)
        var frames: [Frame] = []
        if let response { frames.append(response) }
        frames.append(Frame(kind: .end, callID: callID, payload: Self.endPayload(status)))
        if let status, status.code != .cancelled {
            entry.context.logger.debug("call failed", metadata: ["status": "\(status)"])
        }
        outbox.enqueue(frames, reserved: response == nil ? 0 : reserved)
        if response == nil, reserved > 0 { outbox.cancelReservation(reserved) }
        if idle { outbox.close() }
    }

    /// Ends a call from the connection's side (protocol error, limit): cancels its handler.
    /// Ends an open call with `error`: only the caller that removes the call from the table sends
    /// its END, so two events ending it at once (its deadline and the client's CANCEL, say) send
    /// one END between them.
    private func endCall(_ callID: UInt32, _ error: RPCError) throws {
        let (entry, idle) = state.withLock { state in
            (state.calls.removeValue(forKey: callID), state.isDrainedAndIdle)
        }
        guard let entry else { return }
        entry.task?.cancel()
        entry.requestTimer?.cancel()
        entry.requestContinuation?.finish(throwing: error)
        entry.outboundWindow.fail(error)
        outbox.enqueue([Frame(kind: .end, callID: callID, payload: Self.endPayload(error))])
        if idle { outbox.close() }
    }

    private func writeEnd(_ callID: UInt32, _ error: RPCError?) throws {
        outbox.enqueue([Frame(kind: .end, callID: callID, payload: Self.endPayload(error))])
    }

    /// The handler consumed a request message: give the client credit back in batches.
    private func consumed(_ callID: UInt32, bytes: Int) {
        let grant: Int = state.withLock { state in
            guard let entry = state.calls[callID] else { return 0 }
            entry.consumedSinceGrant += bytes
            var grant = 0
            if entry.consumedSinceGrant >= limits.initialWindow / 2 || entry.inboundCredit <= 0 {
                grant = entry.consumedSinceGrant
                entry.inboundCredit += grant
                entry.consumedSinceGrant = 0
            }
            state.calls[callID] = entry
            return grant
        }
        guard grant > 0 else { return }
        outbox.enqueue([Frame.window(callID: callID, credit: grant)])
    }

    // MARK: - Response writing

    fileprivate func write(response: [UInt8], callID: UInt32, kind: CallKind, window: FlowWindow) async throws {
        let limit = state.withLock { $0.peerMaxFrame }
        guard response.count <= limit else {
            throw RPCError(code: .resourceExhausted, message: "response of \(response.count) bytes exceeds the frame limit of \(limit) bytes")
        }
        if kind.hasSingleResponse {
            try state.withLock { state in
                guard let entry = state.calls[callID] else {
                    throw RPCError(code: .cancelled, message: "the call has ended")
                }
                guard entry.pendingResponse == nil else {
                    throw RPCError(code: .internalError, message: "a \(kind) call may answer only once")
                }
                entry.pendingResponse = response
            }
            return
        }
        try await window.acquire(Frame.cost(payloadSize: response.count))
        // Then room in the connection's outbox: a peer that grants a huge window but does not
        // read makes this wait, not the daemon buffer.
        let size = Frame.cost(payloadSize: response.count)
        try await outbox.reserve(size)
        guard state.withLock({ $0.calls[callID] != nil }) else {
            outbox.cancelReservation(size)
            throw RPCError(code: .cancelled, message: "the call has ended")
        }
        // Copied into a buffer only once admitted: a waiting writer holds one copy.
        outbox.enqueue([Frame(kind: .message, callID: callID, payload: ByteBuffer(bytes: response))], reserved: size)
    }

    // MARK: - Payloads

    static func buffer(_ message: some ProtoMessage) -> ByteBuffer {
        // Control messages are built here from valid values; encoding them cannot fail.
        ByteBuffer(bytes: (try? message.serializedBytes()) ?? [])
    }

    static func endPayload(_ error: RPCError?) -> ByteBuffer {
        guard let error else { return ByteBuffer() }
        var end = CallEnd()
        end.code = error.code.rawValue
        end.message = error.message
        end.details = error.details
        return buffer(end)
    }
}

/// The response side of one server call on a connection.
private struct ServerResponseWriter: RawMessageWriter {
    let connection: ServerConnection
    let callID: UInt32
    let kind: CallKind
    let window: FlowWindow

    func write(_ message: [UInt8]) async throws {
        try await connection.write(response: message, callID: callID, kind: kind, window: window)
    }
}
