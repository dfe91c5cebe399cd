import Foundation
package import Logging
import Synchronization
import TallyProto
import TallyRPC
package import TallyStore

/// Carries run and job events between daemons that share a store (docs/teams.md, "Several
/// daemons"): what this daemon's hubs publish is announced on the store's change feed (ids only,
/// coalesced every ``flushInterval``), and what other daemons announce is read back from the
/// store and published to this daemon's watchers.
///
/// For a watched run, the relay keeps what its watchers were last shown (each key's last step,
/// the status, the params) and publishes what the store holds beyond that: new points, changed
/// params, a status change. For jobs, a new status or progress. Item results and sweep trial
/// events stay with the daemon that runs the job.
public final class ChangeRelay: Sendable {
    private let feed: any StoreChangeFeed
    private let store: any StoreEngine
    private let runs: RunEventHub
    private let jobs: JobEventHub
    private let tokens: TokenBook?
    private let logger: Logger
    /// This daemon on the feed.
    let origin = UUID().uuidString.lowercased()
    /// How long changes are gathered before they are announced (default 20 ms).
    let flushInterval: Duration

    private struct Followed {
        var lastSteps: [String: Int64]
        var status: RunStatus
        var params: [String: ParamValueRecord]
    }

    private struct JobSeen {
        var status: Int
        var progress: Int64
    }

    private struct State {
        var dirtyRuns: Set<String> = []
        var dirtyJobs: Set<String> = []
        var tokensChanged = false
        var followed: [String: Followed] = [:]
        var jobsSeen: [String: JobSeen] = [:]
    }

    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    init(feed: any StoreChangeFeed, store: any StoreEngine, runs: RunEventHub, jobs: JobEventHub, tokens: TokenBook? = nil, flushInterval: Duration = .milliseconds(20), logger: Logger) {
        self.tokens = tokens
        self.feed = feed
        self.store = store
        self.runs = runs
        self.jobs = jobs
        self.flushInterval = flushInterval
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The relay of a daemon serving `tracking` and `experiments`, when its store has a change
    /// feed; `nil` otherwise (SQLite: one daemon per store). Hooks itself to their hubs.
    package static func make(store: any StoreEngine, tracking: TrackingProvider, experiments: ExperimentsProvider, tokens: TokenBook, logger: Logger) -> ChangeRelay? {
        guard let feed = store.changeFeed else { return nil }
        let relay = ChangeRelay(feed: feed, store: store, runs: tracking.hub, jobs: experiments.hub, tokens: tokens, logger: logger)
        tokens.onChange { [weak relay] in relay?.changed(.tokens, "-") }
        tracking.hub.setHooks(RunEventHub.Hooks(
            changed: { [weak relay] id in relay?.changed(.run, id) },
            watching: { [weak relay] record in relay?.watching(record) }
        ))
        experiments.hub.onChange { [weak relay] id in relay?.changed(.job, id) }
        return relay
    }

    /// Marks a run or job changed here; announced at the next flush.
    func changed(_ kind: StoreChange.Kind, _ id: String) {
        let first = state.withLock { state in
            let wasEmpty = state.dirtyRuns.isEmpty && state.dirtyJobs.isEmpty && !state.tokensChanged
            switch kind {
            case .run: state.dirtyRuns.insert(id)
            case .job: state.dirtyJobs.insert(id)
            case .tokens: state.tokensChanged = true
            }
            return wasEmpty
        }
        if first { wake.yield() }
    }

    /// Records what a new watcher of a run was shown (the snapshot), unless the run is already
    /// followed: later changes announced by other daemons are published from there.
    func watching(_ record: RunRecord) {
        state.withLock { state in
            guard state.followed[record.id] == nil else { return }
            state.followed[record.id] = Followed(
                lastSteps: Dictionary(record.metrics.map { ($0.key, $0.lastStep) }, uniquingKeysWith: max),
                status: RunStatus(record.state),
                params: record.params
            )
        }
    }

    /// Announces this daemon's changes and applies the other daemons' until ``stop()``.
    package func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.announceChanges() }
            group.addTask {
                await self.feed.follow { delivery in await self.apply(delivery) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends ``run()`` after announcing what is still pending.
    package func stop() {
        wake.finish()
    }

    private func announceChanges() async {
        for await _ in wakes {
            try? await Task.sleep(for: flushInterval)
            await flush()
        }
        await flush()
    }

    private func flush() async {
        let changes: [StoreChange] = state.withLock { state in
            defer {
                state.dirtyRuns.removeAll()
                state.dirtyJobs.removeAll()
                state.tokensChanged = false
            }
            return state.dirtyRuns.sorted().map { StoreChange(kind: .run, id: $0, origin: origin) }
                + state.dirtyJobs.sorted().map { StoreChange(kind: .job, id: $0, origin: origin) }
                + (state.tokensChanged ? [StoreChange(kind: .tokens, id: "-", origin: origin)] : [])
        }
        guard !changes.isEmpty else { return }
        do {
            try await feed.announce(changes)
        } catch {
            logger.warning("cannot announce changes to the other daemons", metadata: ["error": "\(error)", "changes": "\(changes.count)"])
        }
    }

    private func apply(_ delivery: StoreChangeDelivery) async {
        switch delivery {
        case .resync:
            await reloadTokens()
            let followed = state.withLock { Array($0.followed.keys) }
            for id in followed { await refreshRun(id) }
        case .changes(let changes):
            for change in changes where change.origin != origin {
                switch change.kind {
                case .run: await refreshRun(change.id)
                case .job: await refreshJob(change.id)
                case .tokens: await reloadTokens()
                }
            }
        }
    }

    /// Reloads the access tokens, made or revoked through another daemon.
    private func reloadTokens() async {
        guard let tokens else { return }
        do {
            try await tokens.reload()
        } catch {
            logger.warning("cannot reload the access tokens changed through another daemon", metadata: ["error": "\(error)"])
        }
    }

    /// Publishes what the store holds of a watched run beyond what its watchers were shown.
    private func refreshRun(_ id: String) async {
        guard runs.watcherCount(runID: id) > 0 else {
            state.withLock { _ = $0.followed.removeValue(forKey: id) }
            return
        }
        guard let seen = state.withLock({ $0.followed[id] }) else { return }
        do {
            let record = try await store.run(id: id)
            var lastSteps = seen.lastSteps
            for summary in record.metrics where summary.lastStep > (seen.lastSteps[summary.key] ?? -1) {
                let from = (seen.lastSteps[summary.key] ?? -1) + 1
                let history = try await store.metricHistory(runID: id, keys: [summary.key], minStep: from, maxStep: summary.lastStep, maxPoints: 0)
                for series in history where !series.points.isEmpty {
                    var points = MetricPoints()
                    points.keys = [series.key]
                    points.keyIndex = [UInt32](repeating: 0, count: series.points.count)
                    points.values = series.points.map(\.value)
                    points.steps = series.points.map(\.step)
                    points.timestampsMs = series.points.map(\.timestampMs)
                    var event = RunEvent()
                    event.event = .points(points)
                    runs.publish(event: event, runID: id)
                }
                lastSteps[summary.key] = summary.lastStep
            }
            let changedParams = record.params.filter { seen.params[$0.key] != $0.value }
            if !changedParams.isEmpty {
                var params = LogParamsRequest()
                params.runId = id
                params.params = changedParams.mapValues(ParamValue.init)
                var event = RunEvent()
                event.event = .params(params)
                runs.publish(event: event, runID: id)
            }
            let status = RunStatus(record.state)
            state.withLock { state in
                state.followed[id] = Followed(lastSteps: lastSteps, status: status, params: record.params)
            }
            if status != seen.status {
                // A run that ended ends its watchers' streams.
                runs.publish(status: Run(record, nowMs: Identifiers.nowMs()), announce: false)
                if status != .running { state.withLock { _ = $0.followed.removeValue(forKey: id) } }
            }
        } catch let error as StoreError where error.code == .notFound {
            // Deleted through another daemon.
            runs.end(runID: id)
            state.withLock { _ = $0.followed.removeValue(forKey: id) }
        } catch {
            logger.warning("cannot read a run changed through another daemon", metadata: ["run": "\(id)", "error": "\(error)"])
        }
    }

    /// Publishes a job's new status or progress to this daemon's job watchers.
    private func refreshJob(_ id: String) async {
        guard jobs.hasWatchers else { return }
        do {
            let record = try await store.job(id)
            let seen = state.withLock { state in
                let seen = state.jobsSeen[id]
                if record.status == JobRecord.running || record.status == JobRecord.pending {
                    state.jobsSeen[id] = JobSeen(status: record.status, progress: record.progressCurrent)
                } else {
                    state.jobsSeen.removeValue(forKey: id)
                }
                return seen
            }
            guard seen?.status != record.status || seen?.progress != record.progressCurrent else { return }
            let event: JobEvent
            switch record.status {
            case JobRecord.pending, JobRecord.running:
                var progress = JobProgress()
                progress.current = UInt64(max(0, record.progressCurrent))
                progress.total = UInt64(max(0, record.progressTotal))
                progress.percentage = record.progressTotal > 0 ? Double(record.progressCurrent) / Double(record.progressTotal) * 100 : 0
                progress.etaSeconds = -1
                var update = JobEvent()
                update.jobId = record.id
                update.jobKind = record.kind
                update.timeMs = Identifiers.nowMs()
                update.event = .progress(progress)
                event = update
            default:
                event = .end(of: record, results: record.results.flatMap { try? JobResults(serializedBytes: $0) })
            }
            jobs.publish(event, announce: false)
        } catch {
            logger.warning("cannot read a job changed through another daemon", metadata: ["job": "\(id)", "error": "\(error)"])
        }
    }
}
