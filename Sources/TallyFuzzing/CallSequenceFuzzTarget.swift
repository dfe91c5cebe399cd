import Foundation
import Logging
import TallyAPI
import TallyProto
public import TallyRPC
import TallyServer
import TallyTransport
#if canImport(Glibc)
import Glibc
#endif

/// Fuzz target of call sequences on one connection to the real daemon.
///
/// A ``TallyDaemon`` (store, services, socket server; as in the server tests) runs in this
/// process on a temporary socket and data folder, started once. Each input is decoded as a
/// ``CallProgram``: a HELLO with any window and frame size, then START, MESSAGE, WINDOW, CANCEL
/// and HALF_CLOSE over up to 8 calls, raw frames, PINGs, and a reader that stops and resumes
/// reading. The program runs on a fresh connection with a non-blocking socket: what it sends is
/// queued and written as the socket takes it, whether or not it reads. Request payloads are built
/// for the call's request type from the operation's bytes (run ids are those of runs the
/// program started), or are empty or raw bytes. What must hold:
/// - no crash of the daemon (it runs in this process);
/// - every frame from the daemon is well formed and expected: HELLO first, no frame for a call
///   that was never started or after its END, one END per call, whose payload is a `CallEnd`;
///   at most one response on a single-response call; a MESSAGE no larger than the negotiated
///   frame size; streaming responses within the credit the client granted (a MESSAGE only while
///   the call's window is above 0);
/// - while the reader is stopped, the process's heap grows by less than ``bufferBound``
///   (allocated bytes; under AddressSanitizer its own counter), and another client's Ping still
///   succeeds;
/// - at the end the reader resumes and CANCELs every call still open: each then ends within
///   ``endTimeout``, unless the daemon closed the connection.
///
/// Calls that could run commands or reach the network (creating or changing evaluation
/// providers) are left out of ``methods``.
public enum CallSequenceFuzzTarget {
    /// Most the heap may grow while the reader is stopped. The programs send at most
    /// ``maximumRequestBytes`` and start at most ``maximumCalls`` calls, so what the daemon
    /// legitimately holds for them is far below this.
    public static let bufferBound = 64 << 20
    /// Request payload bytes a program may send in all; MESSAGEs past it are skipped.
    public static let maximumRequestBytes = 4 << 20
    /// STARTs past this many are skipped.
    public static let maximumCalls = 24
    /// How long the calls still open at the end have to end after their CANCEL. A call whose
    /// handler waits on the store may wait behind another call's write, and under the fuzzing
    /// build (AddressSanitizer, coverage counters) on a loaded two-core machine that has taken
    /// more than 5 s; a call that ignores its CANCEL never ends, so a generous bound still
    /// catches it.
    public static let endTimeout: Duration = .seconds(20)

    /// The methods a START can name, by index (the index is part of the corpus: append only).
    /// The first ones are those the call shapes and the known crashes need.
    public static let methods: [MethodDescriptor] = {
        var list: [MethodDescriptor] = [
            DiagnosticsService.Method.echo,  // 0
            DiagnosticsService.Method.echoStream,  // 1
            DiagnosticsService.Method.echoCollect,  // 2
            DiagnosticsService.Method.echoBidi,  // 3
            SystemService.Method.ping,  // 4
            SystemService.Method.info,  // 5
            TrackingService.Method.createExperiment,  // 6
            TrackingService.Method.startRun,  // 7
            TrackingService.Method.logMetrics,  // 8
            TrackingService.Method.streamMetrics,  // 9
            TrackingService.Method.logParams,  // 10
            TrackingService.Method.getMetricHistory,  // 11
            TrackingService.Method.watchRun,  // 12
            TrackingService.Method.endRun,  // 13
            TrackingService.Method.getRun,  // 14
        ]
        let excluded: Set<String> = [ExperimentsService.Method.createProvider.path, ExperimentsService.Method.updateProvider.path]
        for (method, _) in MessageFuzzTarget.methods where !excluded.contains(method.path) && !list.contains(method) {
            list.append(method)
        }
        return list
    }()

    /// The path a START names for a method index.
    public static func path(forMethod index: Int) -> String {
        let index = index % (methods.count + 1)
        return index < methods.count ? methods[index].path : "/tally.v1.Nowhere/Nothing"
    }

    static let requestTypes: [String: any ProtoMessage.Type] = {
        var types: [String: any ProtoMessage.Type] = [:]
        for (method, request) in MessageFuzzTarget.methods { types[method.path] = request }
        return types
    }()

    /// What a program got back, for tests.
    public struct Outcome: Sendable {
        /// Status code of each call's END, by call id (ids are given from 1 in START order).
        public var endCodes: [UInt32: UInt32] = [:]
        /// The code of the daemon's GOAWAY, if it sent one.
        public var goAwayCode: UInt32?
        /// The most the process's memory grew while the reader was stopped.
        public var largestGrowth = 0
        /// Whether the daemon closed the connection before the program's end.
        public var closedByDaemon = false
        /// Bytes of a frame the daemon's close cut short (0: none); see ``FrameConnection``.
        public var cutFrameBytes = 0
    }

    /// One program at a time per process: the memory measured is the whole process's.
    private static let oneAtATime = NSLock()

    /// Runs one input; returns only when every invariant held.
    /// - Parameter awaitLimit: How long an AWAIT waits for its call to end (tests that need a
    ///   call's answer on a loaded machine give more than the fuzzer's 500 ms).
    @discardableResult
    public static func run(_ data: UnsafeRawBufferPointer, awaitLimit: Duration = .milliseconds(500)) -> Outcome {
        oneAtATime.lock()
        defer { oneAtATime.unlock() }
        let program = CallProgram(decoding: data)
        let socketPath = FuzzDaemon.shared.socketPath
        guard let session = CallSession(program: program, socketPath: socketPath, awaitLimit: awaitLimit) else {
            fuzzFailure("cannot connect to the daemon at \(socketPath)")
        }
        session.run()
        return session.outcome
    }

    /// ``run(_:)`` on bytes.
    @discardableResult
    public static func run(_ bytes: [UInt8], awaitLimit: Duration = .milliseconds(500)) -> Outcome {
        bytes.withUnsafeBytes { run($0, awaitLimit: awaitLimit) }
    }

    // MARK: Heap

    #if FUZZING
    /// AddressSanitizer's count of bytes allocated and not freed (the fuzzing build always has
    /// AddressSanitizer; its allocator does not feed mallinfo).
    @_silgen_name("__sanitizer_get_current_allocated_bytes")
    private static func sanitizerAllocatedBytes() -> Int
    #endif

    /// Memory the whole process uses: under AddressSanitizer the bytes allocated and not freed,
    /// else the resident set (which grows when the heap outgrows what it has held before).
    public static func heapInUse() -> Int {
        #if FUZZING
        return sanitizerAllocatedBytes()
        #else
        return residentBytes()
        #endif
    }

    static func residentBytes() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

// MARK: - The daemon

/// The daemon the call-sequence target talks to, started once per process on a temporary
/// socket and data folder (in /dev/shm when there is one, so commits do not wait for a disk),
/// both removed at exit.
final class FuzzDaemon: Sendable {
    let socketPath: String
    let daemon: TallyDaemon

    static let shared = FuzzDaemon()

    static var folders: [String] {
        let pid = ProcessInfo.processInfo.processIdentifier
        var folders = ["/tmp/tally-fuzz-calls-\(pid)"]
        if access("/dev/shm", W_OK) == 0 { folders.append("/dev/shm/tally-fuzz-calls-\(pid)") }
        return folders
    }

    private init() {
        let folders = Self.folders
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
        do {
            try FileManager.default.createDirectory(atPath: folders[0], withIntermediateDirectories: true)
        } catch {
            fuzzFailure("cannot create \(folders[0]): \(error)")
        }
        socketPath = folders[0] + "/tally.sock"
        let configuration = DaemonConfiguration(socketPath: socketPath, homeDirectory: folders[folders.count - 1] + "/home")
        var logger = Logger(label: "tally.fuzz.calls")
        logger.logLevel = ProcessInfo.processInfo.environment["TALLY_FUZZ_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let daemon = TallyDaemon(configuration: configuration, logger: logger)
        self.daemon = daemon
        atexit { FuzzDaemon.removeFolders() }
        Task.detached {
            do {
                try await daemon.run()
            } catch {
                fuzzFailure("the daemon stopped: \(error)")
            }
        }
        let ready = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await daemon.waitUntilReady()
            } catch {
                fuzzFailure("the daemon did not start: \(error)")
            }
            ready.signal()
        }
        if ready.wait(timeout: .now() + 60) == .timedOut {
            fuzzFailure("the daemon did not start within 60 s")
        }
    }

    static func removeFolders() {
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
    }
}

// MARK: - One program on one connection

/// What the client knows about one call it started.
struct FuzzCall {
    let id: UInt32
    /// Nil for a method that does not exist or a START sent as a raw frame.
    let method: MethodDescriptor?
    var ended = false
    var endCode: UInt32 = 0
    /// MESSAGEs that came after the END (at most one, after an END for a broken rule).
    var messagesAfterEnd = 0
    var cancelSent = false
    var responses = 0
    /// Cost of the MESSAGEs received (12 + payload each).
    var receivedCost = 0
    /// Credit the client granted: its initial window plus its WINDOW frames.
    var granted: Int
}

/// Runs one ``CallProgram`` against the daemon and checks what comes back.
final class CallSession {
    let program: CallProgram
    let connection: FrameConnection
    let socketPath: String

    var calls: [UInt32: FuzzCall] = [:]
    var slots = [UInt32?](repeating: nil, count: CallProgram.slots)
    var nextCallID: UInt32 = 1
    var started = 0
    var requestBytes = 0
    var knownRuns: [String] = []
    var helloSent = false
    var reply: HelloReply?
    var goAway: GoAway?
    var peerWindow: Int
    /// The payload limit of MESSAGE frames from the daemon.
    var maxFrame = 4 << 20
    /// Heap in use when the reader stopped; nil while it reads.
    var stoppedBaseline: Int?
    var stoppedEver = false
    /// Time left for operations that wait.
    var waitBudget: Duration = .milliseconds(300)
    var blockBudget: Duration = .seconds(2)
    var outcome = CallSequenceFuzzTarget.Outcome()

    let awaitLimit: Duration

    init?(program: CallProgram, socketPath: String, awaitLimit: Duration) {
        guard let connection = FrameConnection(path: socketPath) else { return nil }
        self.program = program
        self.connection = connection
        self.socketPath = socketPath
        self.awaitLimit = awaitLimit
        peerWindow = program.initialWindow == 0 ? 1 << 20 : Int(program.initialWindow)
        blockBudget = max(.seconds(2), awaitLimit * 4)
    }

    func run() {
        if program.sendsHello {
            var hello = Hello()
            switch program.versions {
            case .current: (hello.minVersion, hello.maxVersion) = (1, 1)
            case .wide: (hello.minVersion, hello.maxVersion) = (0, 9)
            case .unsupported: (hello.minVersion, hello.maxVersion) = (2, 3)
            }
            hello.clientName = "tally-fuzz-calls"
            hello.initialWindow = program.initialWindow
            hello.maxFrameSize = program.maxFrameSize
            send(.hello, callID: 0, payload: encode(hello))
            helloSent = true
        }
        for operation in program.operations {
            if connection.closed { break }
            trace("> \(operation)")
            perform(operation)
            pump(for: .zero)
        }
        finish()
    }

    // MARK: Operations

    func perform(_ operation: CallProgram.Operation) {
        switch operation {
        case .start(let slot, let method, let deadline):
            guard started < CallSequenceFuzzTarget.maximumCalls else { return }
            started += 1
            let path = CallSequenceFuzzTarget.path(forMethod: method)
            var start = CallStart()
            start.method = path
            let timeouts: [UInt64] = [0, 1, 10, 100, 1000, 60_000, 1 << 40, .max]
            start.timeoutMs = deadline == 0 ? 0 : timeouts[Int(deadline) % timeouts.count]
            if deadline & 0x80 != 0 { start.metadata = ["x-fuzz": String(deadline)] }
            let id = newCall(slot: slot, method: CallSequenceFuzzTarget.methods.first { $0.path == path })
            send(.start, callID: id, payload: encode(start))
        case .message(let slot, let template, let size, let value):
            guard let id = slots[slot], let call = calls[id] else { return }
            let payload = requestPayload(for: call, template: template, size: size, value: value)
            guard requestBytes + payload.count <= CallSequenceFuzzTarget.maximumRequestBytes else { return }
            requestBytes += payload.count
            send(.message, flags: template & 0x80 != 0 ? 1 : 0, callID: id, payload: payload)
        case .window(let slot, let credit):
            guard let id = slots[slot] else { return }
            calls[id]?.granted += Int(credit)
            send(.window, callID: id, payload: withUnsafeBytes(of: credit.bigEndian, Array.init))
        case .cancel(let slot):
            guard let id = slots[slot] else { return }
            calls[id]?.cancelSent = true
            send(.cancel, callID: id)
        case .halfClose(let slot):
            guard let id = slots[slot] else { return }
            send(.halfClose, callID: id)
        case .stopReading:
            guard stoppedBaseline == nil else { return }
            connection.reading = false
            stoppedEver = true
            stoppedBaseline = CallSequenceFuzzTarget.heapInUse()
        case .resumeReading:
            connection.reading = true
            stoppedBaseline = nil
        case .wait(let milliseconds):
            let wait = min(Duration.milliseconds(milliseconds % 64), waitBudget)
            waitBudget -= wait
            pump(for: wait)
            checkGrowth()
        case .await(let slot):
            guard let id = slots[slot] else { return }
            block(limit: awaitLimit) { session in session.calls[id]?.ended ?? true }
        case .settle:
            settle()
        case .ping(let length):
            send(.ping, callID: 0, payload: (0..<(length % 65)).map { UInt8(truncatingIfNeeded: $0) })
        case .raw(let slot, let kind, let flags, let payload):
            var id: UInt32 = slot.map { slots[$0] ?? (nextCallID + UInt32($0)) } ?? 0
            if kind == FrameKind.start.rawValue, let slot {
                guard started < CallSequenceFuzzTarget.maximumCalls else { return }
                started += 1
                id = newCall(slot: slot, method: nil)
            }
            if kind == FrameKind.window.rawValue, payload.count == 4 {
                calls[id]?.granted += Int(payload.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            requestBytes += payload.count
            send(FrameKind(rawValue: kind), flags: flags, callID: id, payload: payload)
        }
    }

    func newCall(slot: Int, method: MethodDescriptor?) -> UInt32 {
        let id = nextCallID
        nextCallID += 1
        calls[id] = FuzzCall(id: id, method: method, granted: peerWindow)
        slots[slot] = id
        return id
    }

    /// Waits, reading if the reader reads, until `done` holds, the connection closes, or `limit`
    /// (or the program's budget for waiting) passes. While the reader is stopped, the heap's
    /// growth is checked every 10 ms.
    func block(limit: Duration, until done: (CallSession) -> Bool) {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + min(limit, blockBudget)
        while !done(self), !connection.closed, clock.now < end {
            pump(for: .milliseconds(10))
            checkGrowth()
        }
        blockBudget -= clock.now - start
    }

    /// With the reader stopped: lets the daemon write until memory stops growing (less than
    /// 1 MiB in 100 ms, at most 1 s), checking the bound all along, then checks that another
    /// client is served. With the reader reading: waits for every call to end (at most 500 ms).
    func settle() {
        guard stoppedBaseline != nil else {
            block(limit: .milliseconds(500)) { session in session.calls.values.allSatisfy(\.ended) }
            return
        }
        var samples: [(ContinuousClock.Instant, Int)] = []
        let window: Duration = .milliseconds(100)
        block(limit: .seconds(1)) { _ in
            let now = ContinuousClock.now
            samples.append((now, CallSequenceFuzzTarget.heapInUse()))
            guard let first = samples.first, now - first.0 >= window else { return false }
            let old = samples.last { now - $0.0 >= window }!
            return samples.last!.1 - old.1 < 1 << 20
        }
        checkGrowth()
        probeAnotherClient()
    }

    func checkGrowth() {
        guard let baseline = stoppedBaseline else { return }
        let growth = CallSequenceFuzzTarget.heapInUse() - baseline
        trace("  memory growth while not reading: \(growth) bytes")
        outcome.largestGrowth = max(outcome.largestGrowth, growth)
        if growth > CallSequenceFuzzTarget.bufferBound {
            fuzzFailure("the heap grew by \(growth) bytes (bound \(CallSequenceFuzzTarget.bufferBound)) while the client did not read (HELLO initial_window \(program.initialWindow), max_frame_size \(program.maxFrameSize); calls \(calls.values.sorted { $0.id < $1.id }.map { "\($0.id) \($0.method?.method ?? "?")" }))")
        }
    }

    /// Another client on its own connection: HELLO, then a unary Ping, answered within 5 s.
    func probeAnotherClient() {
        guard let other = FrameConnection(path: socketPath) else {
            fuzzFailure("another client cannot connect while a client does not read")
        }
        var hello = Hello()
        hello.minVersion = 1
        hello.maxVersion = 1
        hello.clientName = "tally-fuzz-probe"
        var start = CallStart()
        start.method = SystemService.Method.ping.path
        var ping = PingRequest()
        ping.payload = [1, 2, 3]
        other.enqueue(kind: .hello, callID: 0, payload: encode(hello))
        other.enqueue(kind: .start, callID: 1, payload: encode(start))
        other.enqueue(kind: .message, callID: 1, payload: encode(ping))
        var end: CallEnd?
        let deadline = ContinuousClock.now + .seconds(5)
        while end == nil, !other.closed, ContinuousClock.now < deadline {
            other.pump(timeout: .milliseconds(10)) { kind, _, callID, payload in
                if kind == FrameKind.end.rawValue, callID == 1 { end = (try? CallEnd(serializedBytes: payload)) ?? CallEnd() }
            }
        }
        other.close()
        guard let end else {
            fuzzFailure("another client's Ping got no answer within 5 s while a client did not read\(other.closed ? " (the daemon closed its connection)" : "")")
        }
        guard end.code == 0 else {
            fuzzFailure("another client's Ping failed with code \(end.code) (\(end.message)) while a client did not read")
        }
    }

    /// Resumes reading, cancels every call still open and waits for each to end.
    func finish() {
        checkGrowth()
        connection.reading = true
        stoppedBaseline = nil
        for id in calls.keys.sorted() where !(calls[id]!.ended) && !connection.closed {
            calls[id]!.cancelSent = true
            send(.cancel, callID: id)
        }
        let clock = ContinuousClock()
        let end = clock.now + CallSequenceFuzzTarget.endTimeout
        while !connection.closed, calls.values.contains(where: { !$0.ended }), clock.now < end {
            pump(for: .milliseconds(10))
        }
        outcome.closedByDaemon = connection.closed
        outcome.cutFrameBytes = connection.cutFrameBytes
        if connection.cutFrameBytes > 0 { trace("  the daemon closed in the middle of a frame (\(connection.cutFrameBytes) bytes of it came)") }
        if !connection.closed {
            let open = calls.values.filter { !$0.ended }.map(\.id).sorted()
            if !open.isEmpty {
                let names = calls.values.sorted { $0.id < $1.id }.map { "\($0.id) \($0.method?.method ?? "?")\($0.ended ? "" : " (open)")" }
                fuzzFailure("calls \(open) did not end within \(CallSequenceFuzzTarget.endTimeout) of their CANCEL; calls of the program: \(names)")
            }
        }
        connection.close()
        if stoppedEver { probeAnotherClient() }
    }

    // MARK: Frames

    func send(_ kind: FrameKind, flags: UInt8 = 0, callID: UInt32, payload: [UInt8] = []) {
        connection.enqueue(kind: kind, flags: flags, callID: callID, payload: payload)
    }

    func pump(for duration: Duration) {
        let clock = ContinuousClock()
        let end = clock.now + duration
        repeat {
            let left = end - clock.now
            connection.pump(timeout: left > .zero ? left : .zero) { kind, flags, callID, payload in
                self.received(kind: kind, flags: flags, callID: callID, payload: payload)
            }
        } while clock.now < end && !connection.closed
    }

    /// With TALLY_FUZZ_TRACE set, the operations and the frames received go to standard error.
    static let tracing = ProcessInfo.processInfo.environment["TALLY_FUZZ_TRACE"] != nil

    func trace(_ line: @autoclosure () -> String) {
        guard Self.tracing else { return }
        FileHandle.standardError.write(Data("\(line())\n".utf8))
    }

    func received(kind: UInt8, flags: UInt8, callID: UInt32, payload: [UInt8]) {
        let name = FrameKind(rawValue: kind).description
        if Self.tracing {
            var detail = ""
            if kind == FrameKind.end.rawValue, let end = try? CallEnd(serializedBytes: payload), end.code != 0 { detail = " code \(end.code) \(end.message)" }
            if kind == FrameKind.goAway.rawValue, let away = try? GoAway(serializedBytes: payload) { detail = " code \(away.code) \(away.message)" }
            trace("< \(name) call \(callID) \(payload.count) bytes\(detail)")
        }
        if reply == nil, goAway == nil, kind != FrameKind.hello.rawValue, kind != FrameKind.goAway.rawValue {
            fuzzFailure("the daemon's first frame is \(name) on call \(callID), not HELLO or GOAWAY")
        }
        switch FrameKind(rawValue: kind) {
        case .hello:
            guard helloSent, reply == nil, callID == 0 else {
                fuzzFailure("unexpected HELLO on call \(callID) (HELLO sent: \(helloSent), already answered: \(reply != nil))")
            }
            guard let decoded = try? HelloReply(serializedBytes: payload) else {
                fuzzFailure("the HELLO reply is not a tally.v1.HelloReply")
            }
            if program.maxFrameSize != 0, decoded.maxFrameSize > program.maxFrameSize {
                fuzzFailure("the daemon's max_frame_size \(decoded.maxFrameSize) is above the client's \(program.maxFrameSize)")
            }
            reply = decoded
            maxFrame = Int(decoded.maxFrameSize)
        case .message:
            guard var call = calls[callID] else {
                fuzzFailure("MESSAGE for call \(callID), which the client never started")
            }
            if call.ended {
                // docs/protocol.md 4.4: when the server ends a running streaming call because the
                // client broke a rule, the one response its handler was writing may follow the END.
                let ruleBroken = call.endCode == RPCError.Code.invalidArgument.rawValue || call.endCode == RPCError.Code.resourceExhausted.rawValue
                guard let method = call.method, !method.kind.hasSingleResponse, ruleBroken, call.messagesAfterEnd == 0 else {
                    fuzzFailure("MESSAGE for call \(callID) (\(call.method?.path ?? "?")) after its END (code \(call.endCode), \(call.messagesAfterEnd) MESSAGEs after it before)")
                }
                call.messagesAfterEnd += 1
            }
            guard payload.count <= maxFrame else {
                fuzzFailure("MESSAGE of \(payload.count) bytes on call \(callID), over the negotiated frame size \(maxFrame)")
            }
            if let method = call.method {
                if method.kind.hasSingleResponse, call.responses > 0 {
                    fuzzFailure("a second response on \(method.kind) call \(callID) (\(method.path))")
                }
                if !method.kind.hasSingleResponse, call.receivedCost >= call.granted {
                    fuzzFailure("MESSAGE on call \(callID) (\(method.path)) with its window used up: \(call.receivedCost) bytes received of \(call.granted) granted")
                }
                if method == TrackingService.Method.startRun, let run = try? Run(serializedBytes: payload), knownRuns.count < 16 {
                    knownRuns.append(run.id)
                }
            }
            call.responses += 1
            call.receivedCost += Frame.cost(payloadSize: payload.count)
            calls[callID] = call
        case .end:
            guard calls[callID] != nil else {
                fuzzFailure("END for call \(callID), which the client never started")
            }
            guard !calls[callID]!.ended else {
                fuzzFailure("a second END for call \(callID)")
            }
            guard let end = try? CallEnd(serializedBytes: payload) else {
                fuzzFailure("the END of call \(callID) is not a tally.v1.CallEnd")
            }
            calls[callID]!.ended = true
            calls[callID]!.endCode = end.code
            outcome.endCodes[callID] = end.code
        case .window:
            guard payload.count == 4 else {
                fuzzFailure("WINDOW of \(payload.count) bytes from the daemon")
            }
            guard callID != 0, calls[callID] != nil else {
                fuzzFailure("WINDOW for call \(callID), which the client never started")
            }
        case .pong, .ping:
            break
        case .goAway:
            guard callID == 0, let decoded = try? GoAway(serializedBytes: payload) else {
                fuzzFailure("GOAWAY on call \(callID) or not a tally.v1.GoAway")
            }
            goAway = decoded
            outcome.goAwayCode = decoded.code
        default:
            fuzzFailure("the daemon sent a \(name) frame (flags \(flags), call \(callID))")
        }
    }

    // MARK: Requests

    /// A run id for a request: one of the runs this program started, or one that does not exist.
    func runID(_ reference: Int) -> String {
        knownRuns.isEmpty ? "r\(reference)" : knownRuns[reference % knownRuns.count]
    }

    static let payloadSizes = [0, 1, 16, 1024, 16 << 10, 64 << 10, 256 << 10, 1 << 20]
    static let counts: [UInt32] = [0, 1, 2, 10, 100, 10_000, 1 << 20, .max]
    static let specialSteps: [Int64] = [.max, .min, -1, 0]
    static let specialValues: [Double] = [.infinity, -.infinity, .nan, 0, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 1]

    /// The request bytes of a MESSAGE. Template: bit 7 END_STREAM, bits 3–6 a reference (which
    /// run, which experiment), bits 0–2 the variant: 0 ordinary, 1 extreme values, 2 empty,
    /// 3 the value's 8 bytes as they are, others ordinary.
    func requestPayload(for call: FuzzCall, template: UInt8, size: UInt8, value: UInt64) -> [UInt8] {
        let variant = template & 7
        let reference = Int((template >> 3) & 0x0F)
        switch variant {
        case 2: return []
        case 3: return withUnsafeBytes(of: value.bigEndian, Array.init)
        default: break
        }
        let extreme = variant == 1
        let signed = Int64(bitPattern: value)
        guard let method = call.method else { return withUnsafeBytes(of: value.bigEndian, Array.init) }
        let bytes = Self.payloadSizes[Int(size & 7)]
        switch CallSequenceFuzzTarget.requestTypes[method.path] {
        case is EchoRequest.Type:
            var request = EchoRequest()
            request.payload = [UInt8](repeating: UInt8(truncatingIfNeeded: value), count: bytes)
            request.count = Self.counts[Int((size >> 3) & 7)]
            if extreme {
                request.delayMs = UInt32(truncatingIfNeeded: value) & 0x3FF
                request.failCode = UInt32(truncatingIfNeeded: value >> 16) % 20
                request.failMessage = "fuzz"
            } else {
                request.delayMs = size >> 6 == 3 ? 1 : 0
            }
            return encode(request)
        case is MetricBatch.Type:
            var batch = MetricBatch()
            batch.runId = runID(reference)
            let points = 1 + Int((size >> 5) & 3)
            batch.keys = (0..<min(points, 3)).map { "m\($0)" }
            batch.keyIndex = (0..<points).map { UInt32($0 % batch.keys.count) }
            batch.values = (0..<points).map { i in extreme ? Self.specialValues[Int(truncatingIfNeeded: value >> (8 * UInt64(i % 8))) & 7] : Double(i) }
            switch (size >> 3) & 3 {
            case 0: batch.steps = []
            case 1: batch.steps = (0..<points).map { signed &+ Int64($0) }
            case 2: batch.steps = (0..<points).map { Self.specialSteps[(Int(truncatingIfNeeded: value) &+ $0) & 3] }
            default: batch.steps = [Int64](repeating: signed, count: points)
            }
            if extreme { batch.timestampsMs = (0..<points).map { signed &- Int64($0) } }
            batch.sequence = value
            return encode(batch)
        case is StartRunRequest.Type:
            var request = StartRunRequest()
            var experiment = ExperimentRef()
            experiment.ref = .name("fuzz-\(reference % 4)")
            request.experiment = experiment
            request.createExperiment = !extreme
            request.name = "run"
            if extreme {
                var param = ParamValue()
                param.kind = .intValue(signed)
                request.params = ["p": param]
                request.parentRunId = runID(reference)
            }
            return encode(request)
        case is CreateExperimentRequest.Type:
            var request = CreateExperimentRequest()
            request.name = "fuzz-\(reference % 4)"
            request.getIfExists = !extreme
            return encode(request)
        case is WatchRunRequest.Type:
            var request = WatchRunRequest()
            request.runId = runID(reference)
            request.includeHistory = size & 1 != 0
            return encode(request)
        case is GetMetricHistoryRequest.Type:
            var request = GetMetricHistoryRequest()
            request.runId = runID(reference)
            request.maxPoints = UInt32(size)
            if extreme {
                request.minStep = signed
                request.maxStep = .max
            }
            return encode(request)
        case is LogParamsRequest.Type:
            var request = LogParamsRequest()
            request.runId = runID(reference)
            var param = ParamValue()
            param.kind = extreme ? .doubleValue(Double(bitPattern: value)) : .intValue(signed)
            request.params = ["p\(size & 3)": param]
            return encode(request)
        case is EndRunRequest.Type:
            var request = EndRunRequest()
            request.runId = runID(reference)
            request.status = RunStatus(rawValue: Int32(size % 6))
            request.error = extreme ? "e" : ""
            return encode(request)
        case is GetRunRequest.Type:
            var request = GetRunRequest()
            request.runId = runID(reference)
            return encode(request)
        case is PingRequest.Type:
            var request = PingRequest()
            request.payload = [UInt8](repeating: 7, count: min(bytes, 1024))
            return encode(request)
        default:
            // Any other request type: empty (all defaults), or the value's bytes.
            return extreme ? withUnsafeBytes(of: value.bigEndian, Array.init) : []
        }
    }
}

private func encode(_ message: some ProtoMessage) -> [UInt8] {
    (try? message.serializedBytes()) ?? []
}

// MARK: - Socket

/// A non-blocking Unix-socket client of raw frames: frames to send are queued and written as the
/// socket takes them; frames are read only while ``reading`` is set.
final class FrameConnection {
    let fd: Int32
    var reading = true
    /// The daemon closed the connection (or it failed).
    private(set) var closed = false
    private var outgoing: [UInt8] = []
    private var outgoingStart = 0
    private var incoming: [UInt8] = []
    private var incomingStart = 0
    private var chunk = [UInt8](repeating: 0, count: 256 << 10)
    /// Bytes of a frame cut short by the daemon's close; 0 when none.
    private(set) var cutFrameBytes = 0

    init?(path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            return nil
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    private var descriptorOpen = true

    func close() {
        guard descriptorOpen else { return }
        descriptorOpen = false
        closed = true
        Glibc.close(fd)
    }

    func enqueue(kind: FrameKind, flags: UInt8 = 0, callID: UInt32, payload: [UInt8] = []) {
        guard !closed else { return }
        outgoing += [Frame.magic, kind.rawValue, flags, 0]
        outgoing += withUnsafeBytes(of: callID.bigEndian, Array.init)
        outgoing += withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init)
        outgoing += payload
    }

    /// One round: waits up to `timeout` for the socket, then writes what it takes and reads
    /// what has come (while reading), handing each complete frame to `frame`.
    func pump(timeout: Duration, _ frame: (_ kind: UInt8, _ flags: UInt8, _ callID: UInt32, _ payload: [UInt8]) -> Void) {
        guard !closed else { return }
        var events: Int16 = 0
        if reading { events |= Int16(POLLIN) }
        if outgoingStart < outgoing.count { events |= Int16(POLLOUT) }
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let ready = poll(&descriptor, 1, events == 0 && milliseconds == 0 ? 0 : milliseconds)
        guard ready > 0 else { return }
        if descriptor.revents & Int16(POLLOUT) != 0 || descriptor.revents & Int16(POLLERR | POLLHUP) != 0 {
            writeSome()
        }
        if reading, descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            readSome(frame)
        } else if !reading, descriptor.revents & Int16(POLLERR) != 0 {
            closed = true
        } else if !reading, descriptor.revents & Int16(POLLHUP) != 0, milliseconds > 0 {
            // The daemon hung up and the reader is stopped: poll would return at once.
            usleep(UInt32(min(milliseconds, 10)) * 1000)
        }
    }

    private func writeSome() {
        while outgoingStart < outgoing.count {
            let written = outgoing[outgoingStart...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written > 0 {
                outgoingStart += written
            } else {
                if written < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                // The daemon closed its side; what is left cannot be sent.
                outgoing.removeAll()
                outgoingStart = 0
                return
            }
        }
        if outgoingStart == outgoing.count {
            outgoing.removeAll(keepingCapacity: true)
            outgoingStart = 0
        } else if outgoingStart > 1 << 20 {
            outgoing.removeFirst(outgoingStart)
            outgoingStart = 0
        }
    }

    private func readSome(_ frame: (_ kind: UInt8, _ flags: UInt8, _ callID: UInt32, _ payload: [UInt8]) -> Void) {
        for _ in 0..<16 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                closed = true
                break
            }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                closed = true
                break
            }
            incoming += chunk[0..<count]
            parse(frame)
        }
        if closed, incoming.count > incomingStart {
            // The daemon closed in the middle of a frame. Not a failure: a connection closed
            // (after a GOAWAY) while frames were still queued for a socket the client did not
            // drain loses what was not written yet, possibly part of a frame.
            cutFrameBytes = incoming.count - incomingStart
        }
    }

    private func parse(_ frame: (_ kind: UInt8, _ flags: UInt8, _ callID: UInt32, _ payload: [UInt8]) -> Void) {
        while incoming.count - incomingStart >= Frame.headerSize {
            let h = incomingStart
            guard incoming[h] == Frame.magic, incoming[h + 3] == 0 else {
                fuzzFailure("a frame header from the daemon with magic \(incoming[h]) and reserved byte \(incoming[h + 3])")
            }
            let callID = incoming[(h + 4)..<(h + 8)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let length = Int(incoming[(h + 8)..<(h + 12)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            guard length <= 64 << 20 else {
                fuzzFailure("a frame of \(length) bytes from the daemon")
            }
            guard incoming.count - h - Frame.headerSize >= length else { break }
            let payload = Array(incoming[(h + Frame.headerSize)..<(h + Frame.headerSize + length)])
            incomingStart = h + Frame.headerSize + length
            frame(incoming[h + 1], incoming[h + 2], callID, payload)
        }
        if incomingStart == incoming.count {
            incoming.removeAll(keepingCapacity: true)
            incomingStart = 0
        } else if incomingStart > 1 << 20 {
            incoming.removeFirst(incomingStart)
            incomingStart = 0
        }
    }
}
