import Foundation
import Logging
import Synchronization
import TallyProto
import TallyRPC
import TallyStore

/// Runs jobs in the background on a bounded pool of workers.
///
/// Jobs run in creation order, at most `workers` at once (sweeps, which only coordinate their
/// workers' trials, do not count). A cancelled job ends CANCELLED. On a
/// graceful shutdown, running jobs are interrupted and left to be resumed: at the next start,
/// jobs found running or pending are queued again and continue from their stored item results.
///
/// Each job runs as a child task of ``run()``, which the daemon runs in its service group:
/// shutdown waits for every job by construction. Jobs do not start until ``run()`` runs.
///
/// Several daemons may share one store (docs/teams.md): a daemon runs only the jobs it holds a
/// lease on (``JobLeaseSettings``). It renews its leases every third of their duration while
/// ``run()`` runs, takes over the jobs whose lease expired (a daemon that died), and stops a job
/// whose lease another daemon took (it could not renew in time). A graceful shutdown gives the
/// leases up, so that another daemon resumes the interrupted jobs at once.
final class JobManager: Sendable {
    private struct State {
        var queue: [JobRecord] = []
        var running: [String: JobStop] = [:]
        /// The running jobs that hold one of the `workers`.
        var pooled: Set<String> = []
        var cancelRequested: Set<String> = []
        var shuttingDown = false
        var finishWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
        var loop = LoopState.notStarted
        var loopWaiters: [CheckedContinuation<Void, Never>] = []
        /// Jobs whose lease another daemon took: stopped without recording an end.
        var lost: Set<String> = []
    }

    private enum LoopState { case notStarted, running, ended }

    let store: any StoreEngine
    let hub: JobEventHub
    let workers: Int
    let logger: Logger
    let leases: JobLeaseSettings
    private let executors: [String: any JobExecutor]
    private let state = Mutex(State())
    /// Jobs to start, handed from ``startWorkers()`` to ``run()``.
    private let starts: AsyncStream<(JobRecord, JobStop)>
    private let startContinuation: AsyncStream<(JobRecord, JobStop)>.Continuation

    init(store: any StoreEngine, hub: JobEventHub, executors: [String: any JobExecutor], workers: Int, leases: JobLeaseSettings = JobLeaseSettings(), logger: Logger) {
        self.leases = leases
        self.store = store
        self.hub = hub
        self.executors = executors
        self.workers = max(1, workers)
        self.logger = logger
        (starts, startContinuation) = AsyncStream.makeStream(of: (JobRecord, JobStop).self)
    }

    /// Runs every job started while it runs, each as a child task; returns after ``shutdown()``
    /// once every job has stopped.
    func run() async {
        let start = state.withLock { state in
            guard case .notStarted = state.loop else { return false }
            state.loop = .running
            return true
        }
        guard start else { return }
        await withTaskGroup(of: Void.self) { outer in
            outer.addTask { await self.maintainLeases() }
            await withDiscardingTaskGroup { group in
                for await (job, stop) in starts {
                    group.addTask { await self.execute(job, stop: stop) }
                }
            }
            outer.cancelAll()
        }
        do {
            try await store.releaseJobLeases(owner: leases.owner)
        } catch {
            logger.warning("cannot give up the job leases; other daemons take the jobs when they expire", metadata: ["error": "\(error)"])
        }
        let waiters = state.withLock { state in
            state.loop = .ended
            defer { state.loopWaiters.removeAll() }
            return state.loopWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Queues the jobs an earlier daemon left pending or running, when no other daemon holds
    /// them.
    func resume() async throws {
        let now = Identifiers.nowMs()
        let jobs = try await store.claimJobs(owner: leases.owner, nowMs: now, untilMs: leaseEnd(from: now), reclaimingOwn: true)
        if !jobs.isEmpty {
            logger.info("resuming jobs", metadata: ["count": "\(jobs.count)"])
        }
        for job in jobs { submit(job) }
    }

    /// Leases and queues a job just created. When the lease cannot be taken (the store is
    /// unreachable), the job stays pending and the next takeover scan, here or on another
    /// daemon, starts it.
    func submitNew(_ job: JobRecord) async {
        let now = Identifiers.nowMs()
        do {
            guard try await store.leaseJob(job.id, owner: leases.owner, nowMs: now, untilMs: leaseEnd(from: now)) else {
                logger.info("another daemon took the new job", metadata: ["job": "\(job.id)"])
                return
            }
        } catch {
            logger.warning("cannot lease the new job; it starts at the next takeover scan", metadata: ["job": "\(job.id)", "error": "\(error)"])
            return
        }
        submit(job)
    }

    /// Renews the leases of the jobs queued and running here, stops those another daemon took,
    /// and takes over the jobs whose lease expired; every third of the lease, until cancelled.
    private func maintainLeases() async {
        while true {
            do {
                try await Task.sleep(for: leases.duration / 3)
            } catch {
                return
            }
            let held = state.withLock { state in
                Array(state.running.keys) + state.queue.map(\.id)
            }
            let now = Identifiers.nowMs()
            do {
                let kept = try await store.renewJobLeases(held, owner: leases.owner, untilMs: leaseEnd(from: now))
                let lost = held.filter { !kept.contains($0) }
                if !lost.isEmpty { stopLost(lost) }
                // Only expired leases: the jobs held here were just renewed, and stay running.
                let taken = try await store.claimJobs(owner: leases.owner, nowMs: now, untilMs: leaseEnd(from: now), reclaimingOwn: false)
                // A job of this daemon whose lease expired while the store was out of reach comes
                // back too: it is running here already.
                let known = state.withLock { state in Set(state.running.keys).union(state.queue.map(\.id)) }
                let new = taken.filter { !known.contains($0.id) }
                if !new.isEmpty {
                    logger.info("taking over jobs whose lease expired", metadata: ["count": "\(new.count)"])
                }
                for job in new { submit(job) }
            } catch {
                logger.warning("cannot renew the job leases", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Stops jobs whose lease another daemon holds now, without recording how they ended.
    private func stopLost(_ ids: [String]) {
        let stops: [JobStop] = state.withLock { state in
            var stops: [JobStop] = []
            for id in ids {
                state.queue.removeAll { $0.id == id }
                if let stop = state.running[id] {
                    state.lost.insert(id)
                    stops.append(stop)
                }
            }
            return stops
        }
        logger.warning("another daemon took over jobs whose lease this daemon could not renew", metadata: ["jobs": "\(ids)"])
        for stop in stops { stop.fire() }
    }

    private func leaseEnd(from nowMs: Int64) -> Int64 {
        nowMs + leases.duration.wholeMilliseconds
    }

    /// Queues a pending job.
    func submit(_ job: JobRecord) {
        state.withLock { $0.queue.append(job) }
        startWorkers()
    }

    private func startWorkers() {
        let started: [(JobRecord, JobStop)] = state.withLock { state in
            var started: [(JobRecord, JobStop)] = []
            guard !state.shuttingDown else { return started }
            var index = 0
            while index < state.queue.count {
                let job = state.queue[index]
                let pooled = executors[job.kind]?.usesWorker ?? true
                guard !pooled || state.pooled.count < workers else {
                    index += 1
                    continue
                }
                state.queue.remove(at: index)
                if pooled { state.pooled.insert(job.id) }
                let stop = JobStop()
                state.running[job.id] = stop
                started.append((job, stop))
            }
            return started
        }
        for start in started { startContinuation.yield(start) }
    }

    /// Runs a job until it ends or its stop fires (cancel, shutdown), whichever comes first.
    private func execute(_ job: JobRecord, stop: JobStop) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.execute(job) }
            group.addTask { await stop.wait() }
            await group.next()
            // The job ended (the stop's wait ends too), or the stop fired: the job's task is
            // cancelled and the group waits for it to end.
            group.cancelAll()
        }
    }

    private func execute(_ job: JobRecord) async {
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.id)"
        let context = JobContext(job: job, store: store, hub: hub, logger: logger)
        do {
            guard let executor = executors[job.kind] else {
                throw RPCError(code: .unimplemented, message: "no executor for job kind \(job.kind)")
            }
            let results = try await executor.run(job, context: context)
            try Task.checkCancellation()
            try await finish(job, status: JobRecord.completed, error: "", results: results)
        } catch {
            let (cancelled, shuttingDown, lost) = state.withLock {
                ($0.cancelRequested.contains(job.id), $0.shuttingDown, $0.lost.contains(job.id))
            }
            if lost {
                logger.info("job stopped: another daemon runs it now")
            } else if shuttingDown && !cancelled {
                logger.info("job interrupted by shutdown; it resumes at the next start")
            } else if cancelled || error is CancellationError {
                await record(job, status: JobRecord.cancelled, error: "", logger: logger)
            } else {
                let message = (error as? RPCError)?.message ?? (error as? StoreError)?.message ?? "\(error)"
                logger.warning("job failed", metadata: ["error": "\(message)"])
                await record(job, status: JobRecord.failed, error: message, results: (error as? JobFailure)?.results, logger: logger)
            }
        }
        // Once the end is recorded: until then a reader of the running job sees what the
        // executor keeps for it (a sweep's results so far).
        executors[job.kind]?.ended(job)
        let waiters = state.withLock { state in
            state.running.removeValue(forKey: job.id)
            state.pooled.remove(job.id)
            state.cancelRequested.remove(job.id)
            state.lost.remove(job.id)
            return state.finishWaiters.removeValue(forKey: job.id) ?? []
        }
        for waiter in waiters { waiter.resume() }
        startWorkers()
    }

    /// Records how a job ended, retrying while the store refuses (a full disk can clear) and
    /// logging each refusal. A job whose end could not be recorded at all stays RUNNING in the
    /// store, and the next start resumes it.
    private func record(_ job: JobRecord, status: Int, error: String, results: JobResults? = nil, logger: Logger) async {
        var delay = Duration.milliseconds(100)
        for attempt in 1...Self.recordAttempts {
            do {
                try await finish(job, status: status, error: error, results: results)
                return
            } catch let storeError {
                logger.error("cannot record the job's end", metadata: [
                    "status": "\(status)", "attempt": "\(attempt)", "error": "\(storeError)",
                ])
            }
            guard attempt < Self.recordAttempts else { break }
            // The job's own task may be cancelled: wait in a task of its own.
            let wait = delay
            await Task { try? await Task.sleep(for: wait) }.value
            delay *= 4
        }
        logger.error("the job's end is not recorded; it stays running until the next start resumes it")
    }

    static let recordAttempts = 4

    private func finish(_ job: JobRecord, status: Int, error: String, results: JobResults?) async throws {
        // A cancelled job's task is cancelled itself, and the store refuses work in a cancelled
        // task: record the outcome from a task of its own.
        let store = self.store
        let encoded = try results?.serializedBytes()
        let record = try await Task {
            try await store.finishJob(job.id, status: status, error: error, results: encoded)
        }.value
        hub.publish(.end(of: record, results: results))
    }

    /// Cancels a job: a queued job ends at once, a running one as soon as it notices.
    /// - Returns: The job as it is afterwards.
    func cancel(_ id: String) async throws -> JobRecord {
        enum Action { case dequeued(JobRecord), running(JobStop), none }
        let action: Action = state.withLock { state in
            if let index = state.queue.firstIndex(where: { $0.id == id }) {
                return .dequeued(state.queue.remove(at: index))
            }
            if let stop = state.running[id] {
                state.cancelRequested.insert(id)
                return .running(stop)
            }
            return .none
        }
        switch action {
        case .dequeued(let job):
            try await finish(job, status: JobRecord.cancelled, error: "", results: nil)
        case .running(let stop):
            stop.fire()
            await finished(id)
        case .none:
            let job = try await store.job(id)
            if job.status == JobRecord.pending {
                try await finish(job, status: JobRecord.cancelled, error: "", results: nil)
            }
        }
        return try await store.job(id)
    }

    /// Returns once the job is not running (at once if it is not).
    private func finished(_ id: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                guard state.running[id] != nil else { return true }
                state.finishWaiters[id, default: []].append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Whether a job is executing now.
    func isRunning(_ id: String) -> Bool {
        state.withLock { $0.running[id] != nil }
    }

    /// Interrupts running jobs (they resume at the next start), lets ``run()`` return, and waits
    /// until it has (at once when it never ran).
    func shutdown() async {
        let stops = state.withLock { state in
            state.shuttingDown = true
            state.queue.removeAll()
            return Array(state.running.values)
        }
        for stop in stops { stop.fire() }
        startContinuation.finish()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                guard case .running = state.loop else { return true }
                state.loopWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
