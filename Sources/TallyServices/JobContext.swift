import Foundation
import Logging
import Synchronization
import TallyProto
import TallyStore

/// What a running job reports through: start, per-item results, progress.
///
/// Progress events go out every 10 items, at most 10 a second per job, and always at the last
/// item; item results are stored before they are published, so a resumed job skips them.
final class JobContext: Sendable {
    let job: JobRecord
    /// The job manager's logger, with the job's id.
    let logger: Logger
    private let store: any StoreEngine
    private let hub: JobEventHub
    private let state = Mutex(Progress())

    private struct Progress {
        var current: Int64 = 0
        var total: Int64 = 0
        var doneAtStart: Int64 = 0
        var startedAt = ContinuousClock.now
        var lastEmitted: ContinuousClock.Instant?
        var model = ""
    }

    /// Items an earlier, interrupted execution of this job recorded.
    func recordedItems() async throws -> [JobItemRecord] {
        try await store.jobItems(jobPK: job.pk)
    }

    init(job: JobRecord, store: any StoreEngine, hub: JobEventHub, logger: Logger = Logger(label: "tally.jobs")) {
        self.job = job
        self.logger = logger
        self.store = store
        self.hub = hub
    }

    /// Marks the job running with its total and tracking experiment, and publishes `started`.
    /// - Parameter alreadyDone: Items recorded by an earlier, interrupted execution.
    func start(total: Int64, alreadyDone: Int64, experimentID: String) async throws {
        _ = try await store.markJobRunning(job.id, progressTotal: total, experimentID: experimentID)
        state.withLock { state in
            state.total = total
            state.current = alreadyDone
            state.doneAtStart = alreadyDone
            state.startedAt = .now
        }
        var started = JobStarted()
        started.total = UInt64(total)
        var event = JobEvent()
        event.event = .started(started)
        publish(event)
    }

    /// Names the model being evaluated, for progress events.
    func setModel(_ model: String) {
        state.withLock { $0.model = model }
    }

    /// Stores one finished item and publishes it (and progress when due).
    func itemFinished(_ result: ItemResult, position: Int, isError: Bool) async throws {
        let current = state.withLock { state -> Int64 in
            state.current += 1
            return state.current
        }
        try await store.recordJobItem(
            jobPK: job.pk,
            JobItemRecord(model: result.model, itemID: result.itemId, position: Int64(position), result: result.serializedBytes(), isError: isError),
            progressCurrent: current
        )
        var itemEvent = JobEvent()
        itemEvent.event = .itemResult(result)
        publish(itemEvent)
        emitProgressIfDue(current: current)
    }

    private func emitProgressIfDue(current: Int64) {
        let now = ContinuousClock.now
        let progress: JobProgress? = state.withLock { state in
            let last = current >= state.total
            let tenth = current % 10 == 0
            let tooSoon = state.lastEmitted.map { now - $0 < .milliseconds(100) } ?? false
            guard last || (tenth && !tooSoon) else { return nil }
            state.lastEmitted = now
            var progress = JobProgress()
            progress.current = UInt64(current)
            progress.total = UInt64(state.total)
            progress.percentage = state.total > 0 ? Double(current) / Double(state.total) * 100 : 100
            let elapsed = now - state.startedAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let doneHere = Double(current - state.doneAtStart)
            progress.itemsPerSecond = seconds > 0 ? doneHere / seconds : 0
            progress.etaSeconds = progress.itemsPerSecond > 0 ? Double(state.total - current) / progress.itemsPerSecond : -1
            progress.model = state.model
            return progress
        }
        guard let progress else { return }
        var event = JobEvent()
        event.event = .progress(progress)
        publish(event)
    }

    func publish(_ event: JobEvent) {
        var event = event
        event.jobId = job.id
        event.jobKind = job.kind
        event.timeMs = Int64(Date().timeIntervalSince1970 * 1000)
        hub.publish(event)
    }
}
