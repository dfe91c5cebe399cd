import Logging
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Logs failures of `accept` on the listening socket, rate-limited: the first of a run of
/// failures is logged at once, later ones at most once a minute, with how many there were.
///
/// The failures themselves are handled by ``AcceptErrorHandler``: after an `accept` error
/// (EMFILE, ENFILE, ENOBUFS, ENOMEM when descriptors or memory run out) it stops accepting for
/// 250 ms instead of retrying at once, so the daemon does not spin while descriptors are
/// exhausted; the connections waiting in the backlog are accepted once descriptors are free.
final class AcceptErrorLog: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let logger: Logger
    private let interval: Duration
    private let state = Mutex(State())
    private let failures = Atomic<Int>(0)

    init(logger: Logger, interval: Duration = .seconds(60)) {
        self.logger = logger
        self.interval = interval
    }

    /// Accept failures so far.
    var count: Int { failures.load(ordering: .relaxed) }

    func record(_ error: any Error) {
        failures.wrappingAdd(1, ordering: .relaxed)
        let now = ContinuousClock.now
        let suppressed: Int? = state.withLock { state in
            if let last = state.lastLogged, now - last < interval {
                state.suppressed += 1
                return nil
            }
            defer {
                state.lastLogged = now
                state.suppressed = 0
            }
            return state.suppressed
        }
        guard let suppressed else { return }
        var metadata: Logger.Metadata = ["error": "\(error)", "pause": "250 ms"]
        if suppressed > 0 { metadata["failures since last logged"] = "\(suppressed)" }
        let exhausted: Bool
        if let error = error as? IOError {
            exhausted = [EMFILE, ENFILE].contains(error.errnoCode)
        } else {
            exhausted = false
        }
        logger.error(
            exhausted
                ? "cannot accept connections: out of file descriptors; pausing accept (raise the descriptor limit or lower --max-connections)"
                : "cannot accept a connection; pausing accept",
            metadata: metadata
        )
    }
}

/// The first handler of the listening channel: reports errors of `accept` to an
/// ``AcceptErrorLog`` and, when descriptors or memory are exhausted, stops accepting for a while.
///
/// NIO's own `AcceptBackoffHandler` does not help here: when the first `accept` of a readable
/// event fails, NIO keeps its read pending and the listening socket registered, the socket stays
/// readable, and the event loop spins at 100% of a core. Turning `autoRead` off unregisters the
/// socket; turning it back on after ``pause`` accepts again (and pauses again if it still fails).
final class AcceptErrorHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel

    private let log: AcceptErrorLog
    private let pause: TimeAmount
    private var paused = false

    init(log: AcceptErrorLog, pause: TimeAmount = .milliseconds(250)) {
        self.log = log
        self.pause = pause
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        log.record(error)
        if let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode), !paused,
           let options = context.channel.syncOptions {
            paused = true
            try? options.setOption(.autoRead, value: false)
            let channel = context.channel
            context.eventLoop.assumeIsolated().scheduleTask(in: pause) { [self] in
                paused = false
                if channel.isActive {
                    try? channel.syncOptions?.setOption(.autoRead, value: true)
                }
            }
        }
        context.fireErrorCaught(error)
    }
}
