import Synchronization
import TallyProto
import TallyStore

/// Fans run events (new points, params, status changes) out to the watchers of each run.
///
/// Each watcher has a bounded buffer. A watcher that falls behind by more than `bufferLimit`
/// events, or by more than `pointLimit` metric points, is cut off: its stream ends with
/// ``Overflow`` and its call ends with RESOURCE_EXHAUSTED, so a slow reader never slows ingest or
/// other watchers, and a stalled one holds a bounded amount of memory.
final class RunEventHub: Sendable {
    /// The watcher read too slowly and was dropped.
    struct Overflow: Error {}

    /// Points sent to a watcher and not yet read by it.
    final class Backlog: Sendable {
        let points = Atomic<Int>(0)
    }

    /// The events of one watcher; reading them takes their points off its backlog.
    struct Events: AsyncSequence, Sendable {
        typealias Element = RunEvent
        let stream: AsyncThrowingStream<RunEvent, any Error>
        let backlog: Backlog

        struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncThrowingStream<RunEvent, any Error>.AsyncIterator
            let backlog: Backlog

            mutating func next() async throws -> RunEvent? {
                guard let event = try await base.next() else { return nil }
                backlog.points.subtract(event.pointCount, ordering: .relaxed)
                return event
            }
        }

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: stream.makeAsyncIterator(), backlog: backlog)
        }
    }

    private struct Subscriber {
        let continuation: AsyncThrowingStream<RunEvent, any Error>.Continuation
        let backlog: Backlog

        /// Hands over an event, or drops the watcher when it is too far behind.
        func send(_ event: RunEvent, pointLimit: Int) -> Bool {
            let points = event.pointCount
            if backlog.points.add(points, ordering: .relaxed).newValue > pointLimit {
                continuation.finish(throwing: Overflow())
                return false
            }
            if case .dropped = continuation.yield(event) {
                continuation.finish(throwing: Overflow())
                return false
            }
            return true
        }
    }

    private struct State {
        var subscribers: [String: [UInt64: Subscriber]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    let bufferLimit: Int
    let pointLimit: Int

    /// Hooks of the ``ChangeRelay`` of a daemon sharing its store: told of every run changed
    /// here, and of the snapshot every new watcher was shown.
    struct Hooks: Sendable {
        var changed: (@Sendable (String) -> Void)?
        var watching: (@Sendable (RunRecord) -> Void)?
    }

    private let hooks = RelayHooks<Hooks>()

    /// Sets the relay's hooks.
    func setHooks(_ new: Hooks) {
        hooks.set(new)
    }

    private func announce(_ runID: String) {
        hooks.current?.changed?(runID)
    }

    /// Tells the relay what a new watcher of a run was shown.
    func watching(_ record: RunRecord) {
        hooks.current?.watching?(record)
    }

    init(bufferLimit: Int = 4096, pointLimit: Int = 262_144) {
        self.bufferLimit = bufferLimit
        self.pointLimit = pointLimit
    }

    /// Starts following a run. The stream ends when the run ends or ``end(runID:)`` is called.
    func subscribe(runID: String) -> Events {
        let (stream, continuation) = AsyncThrowingStream<RunEvent, any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(bufferLimit)
        )
        let backlog = Backlog()
        let id = state.withLock { state in
            state.nextID += 1
            state.subscribers[runID, default: [:]][state.nextID] = Subscriber(continuation: continuation, backlog: backlog)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.subscribers[runID]?.removeValue(forKey: id)
                if state.subscribers[runID]?.isEmpty == true { state.subscribers.removeValue(forKey: runID) }
            }
        }
        return Events(stream: stream, backlog: backlog)
    }

    /// Number of watchers of a run.
    func watcherCount(runID: String) -> Int {
        state.withLock { $0.subscribers[runID]?.count ?? 0 }
    }

    func publish(points: CommittedPoints) {
        announce(points.runID)
        guard hasWatchers(points.runID) else { return }
        var message = MetricPoints()
        message.keys = points.keys
        message.keyIndex = points.keyIndex
        message.values = points.values
        message.steps = points.steps
        message.timestampsMs = points.timestampsMs
        var event = RunEvent()
        event.event = .points(message)
        send(event, to: points.runID)
    }

    func publish(params: LogParamsRequest) {
        announce(params.runId)
        guard hasWatchers(params.runId) else { return }
        var event = RunEvent()
        event.event = .params(params)
        send(event, to: params.runId)
    }

    /// Publishes a status change; when the run has ended, the watchers' streams end after it.
    /// - Parameter announce: Whether other daemons are told (not for what they told this one).
    func publish(status run: Run, announce: Bool = true) {
        if announce { self.announce(run.id) }
        var event = RunEvent()
        event.event = .status(run)
        let ended = run.status != .running
        let subscribers = state.withLock { state in
            let current = state.subscribers[run.id].map { Array($0.values) } ?? []
            if ended { state.subscribers.removeValue(forKey: run.id) }
            return current
        }
        for subscriber in subscribers where subscriber.send(event, pointLimit: pointLimit) && ended {
            subscriber.continuation.finish()
        }
    }

    /// Ends every watcher of a run (it was deleted).
    func end(runID: String) {
        let subscribers = state.withLock { $0.subscribers.removeValue(forKey: runID).map { Array($0.values) } ?? [] }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }

    /// Ends every watcher (the daemon is shutting down).
    func closeAll() {
        let subscribers = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return state.subscribers.values.flatMap(\.values)
        }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }

    /// Publishes an event read back from the store (``ChangeRelay``), to this daemon's watchers
    /// only.
    func publish(event: RunEvent, runID: String) {
        send(event, to: runID)
    }

    private func hasWatchers(_ runID: String) -> Bool {
        state.withLock { $0.subscribers[runID] != nil }
    }

    private func send(_ event: RunEvent, to runID: String) {
        let subscribers = state.withLock { state in state.subscribers[runID].map { Array($0.values) } ?? [] }
        for subscriber in subscribers {
            _ = subscriber.send(event, pointLimit: pointLimit)
        }
    }
}

extension RunEvent {
    /// Metric points the event carries.
    var pointCount: Int {
        if case .points(let points)? = event { return points.values.count }
        return 0
    }
}
