import Synchronization
import TallyProto
import TallyStore

/// Fans run events (new points, params, status changes) out to the watchers of each run.
///
/// Each watcher has a bounded buffer. A watcher that falls behind by more than `bufferLimit`
/// events is cut off: its stream ends with ``Overflow`` and its call ends with
/// RESOURCE_EXHAUSTED, so a slow reader never slows ingest or other watchers.
final class RunEventHub: Sendable {
    /// The watcher read too slowly and was dropped.
    struct Overflow: Error {}

    private struct Subscriber {
        let continuation: AsyncThrowingStream<RunEvent, any Error>.Continuation
    }

    private struct State {
        var subscribers: [String: [UInt64: Subscriber]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    let bufferLimit: Int

    init(bufferLimit: Int = 4096) {
        self.bufferLimit = bufferLimit
    }

    /// Starts following a run. The stream ends when the run ends or ``end(runID:)`` is called.
    func subscribe(runID: String) -> AsyncThrowingStream<RunEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<RunEvent, any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(bufferLimit)
        )
        let id = state.withLock { state in
            state.nextID += 1
            state.subscribers[runID, default: [:]][state.nextID] = Subscriber(continuation: continuation)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.subscribers[runID]?.removeValue(forKey: id)
                if state.subscribers[runID]?.isEmpty == true { state.subscribers.removeValue(forKey: runID) }
            }
        }
        return stream
    }

    /// Number of watchers of a run.
    func watcherCount(runID: String) -> Int {
        state.withLock { $0.subscribers[runID]?.count ?? 0 }
    }

    func publish(points: CommittedPoints) {
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
        guard hasWatchers(params.runId) else { return }
        var event = RunEvent()
        event.event = .params(params)
        send(event, to: params.runId)
    }

    /// Publishes a status change; when the run has ended, the watchers' streams end after it.
    func publish(status run: Run) {
        var event = RunEvent()
        event.event = .status(run)
        let ended = run.status != .running
        let subscribers = state.withLock { state in
            let current = state.subscribers[run.id].map { Array($0.values) } ?? []
            if ended { state.subscribers.removeValue(forKey: run.id) }
            return current
        }
        for subscriber in subscribers {
            if case .dropped = subscriber.continuation.yield(event) {
                subscriber.continuation.finish(throwing: Overflow())
            } else if ended {
                subscriber.continuation.finish()
            }
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

    private func hasWatchers(_ runID: String) -> Bool {
        state.withLock { $0.subscribers[runID] != nil }
    }

    private func send(_ event: RunEvent, to runID: String) {
        let subscribers = state.withLock { state in state.subscribers[runID].map { Array($0.values) } ?? [] }
        for subscriber in subscribers {
            if case .dropped = subscriber.continuation.yield(event) {
                subscriber.continuation.finish(throwing: Overflow())
            }
        }
    }
}
