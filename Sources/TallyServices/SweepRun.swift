import Foundation
import Logging
import Synchronization
import TallyProto
import TallyRPC
import TallyStore
import TallySweeps

/// The live state of one running sweep job. Every NextTrial, ReportTrial and Heartbeat of the
/// sweep goes through this actor, so workers asking at the same time never get the same point.
///
/// State changes happen synchronously at the start of each call, before any suspension, so the
/// actor's reentrancy cannot interleave two decisions; store writes and events follow.
actor SweepRun {
    let job: JobRecord
    let plan: SweepPlan
    let experimentID: String
    private let store: any StoreEngine
    private let context: JobContext
    private var sampler: any TrialSampler
    private(set) var trials: [Trial] = []
    /// Last report or heartbeat of each running trial, unix ms.
    private var lastSeen: [String: Int64] = [:]
    private var exhausted = false
    private(set) var ended = false
    /// Set by CancelJob: the executor then ends the job CANCELLED.
    private(set) var cancelled = false
    private let startedAtMs: Int64
    /// Events taken at each state change, in order; `nil` while the change's store writes run.
    private var outbox: [[JobEvent]?] = []
    /// The place number of `outbox[0]`.
    private var outboxBase = 0
    /// Failed trials waiting to be tried again (``SweepConfig/retries``), in the order they failed.
    private var retryQueue: [PendingRetry] = []

    /// A failed trial's configuration, to hand out again from `notBeforeMs`.
    struct PendingRetry {
        var of: Trial
        var notBeforeMs: Int64
    }

    /// How a trial's run is named and tagged, and what it is a child of: a sweep's trials, or a
    /// cross-validation's folds.
    struct Naming: Sendable {
        /// "trial" or "fold": the run's name is "<noun>-<number>", tagged `<noun>=<number>`.
        var noun = "trial"
        /// The tag naming the job (`sweep=<id>`, `cv=<id>`) and the `kind` tag.
        var jobTag = "sweep"
        var kind = SweepExecutor.kind
        /// The run the trials' runs are children of.
        var parentRunID: String?
    }

    let naming: Naming

    init(
        job: JobRecord, plan: SweepPlan, experimentID: String, store: any StoreEngine, context: JobContext, trials: [Trial], startedAtMs: Int64,
        naming: Naming = Naming()
    ) throws {
        self.naming = naming
        self.job = job
        self.plan = plan
        self.experimentID = experimentID
        self.store = store
        self.context = context
        self.sampler = try plan.makeSampler()
        self.trials = trials
        self.startedAtMs = startedAtMs
        // Failed trials an earlier daemon had not retried yet are due now.
        let retried = Set(trials.map(\.retryOf))
        for trial in trials where trial.status == .failed && !retried.contains(trial.id) && trial.attempt < plan.config.retries {
            retryQueue.append(PendingRetry(of: trial, notBeforeMs: 0))
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private var running: [Int] { trials.indices.filter { trials[$0].status == .running } }
    private var finishedCount: Int { trials.count { $0.status != .running } }
    private var history: [CompletedTrial] { trials.compactMap(\.completedTrial) }
    /// No new configuration is handed out (retries of failed ones may still be).
    private var budgetSpent: Bool {
        if exhausted { return true }
        if let max = plan.maxTrials, trials.count(where: { $0.attempt == 0 }) >= max { return true }
        return timeUp
    }
    private var timeUp: Bool {
        // Checked: a client's time limit near UInt64.max must not overflow the sum.
        let (end, overflow) = startedAtMs.addingReportingOverflow(Int64(clamping: plan.config.timeLimitMs))
        return plan.config.timeLimitMs > 0 && !overflow && Self.nowMs() >= end
    }

    // MARK: - Ask

    func next(worker: String) async throws -> NextTrialResponse {
        var response = NextTrialResponse()
        if ended || cancelled {
            response.next = .finished(true)
            return response
        }
        if timeUp {
            try await stopRunning(error: "the sweep's time limit was reached")
            await checkEnded()
            response.next = .finished(true)
            return response
        }
        if running.count >= plan.maxParallel {
            response.wait = true
            return response
        }
        let now = Self.nowMs()
        if let due = retryQueue.firstIndex(where: { $0.notBeforeMs <= now }) {
            let retry = retryQueue.remove(at: due)
            var trial = Trial()
            trial.params = retry.of.params
            trial.methodUsed = retry.of.methodUsed
            trial.attempt = retry.of.attempt + 1
            trial.retryOf = retry.of.id
            trial.note = "retry \(trial.attempt) of trial \(retry.of.number): \(retry.of.error)"
            return try await hand(trial, worker: worker)
        }
        if budgetSpent {
            if running.isEmpty && retryQueue.isEmpty {
                await checkEnded()
                response.next = .finished(true)
            } else {
                response.wait = true
            }
            return response
        }
        let pending = running.map { trials[$0].sweepParams }
        guard let sampled = sampler.next(history: history, pending: pending) else {
            exhausted = true
            if running.isEmpty && retryQueue.isEmpty {
                await checkEnded()
                response.next = .finished(true)
            } else {
                response.wait = true
            }
            return response
        }
        var trial = Trial()
        trial.params = sampled.params.mapValues(\.proto)
        trial.methodUsed = sampled.methodUsed.rawValue
        trial.note = sampled.note ?? ""
        return try await hand(trial, worker: worker)
    }

    /// Hands out `trial` (its params, method and note set): numbers it, records it and its run.
    private func hand(_ proposed: Trial, worker: String) async throws -> NextTrialResponse {
        var response = NextTrialResponse()
        let index = trials.count
        var trial = proposed
        trial.id = Self.makeID()
        trial.number = UInt64(index)
        trial.status = .running
        trial.startedAtMs = Self.nowMs()
        trial.worker = worker
        trials.append(trial)
        lastSeen[trial.id] = trial.startedAtMs
        let slot = reserveEvent()
        let bestAtStart = best

        do {
            var params: [String: ParamValueRecord] = [:]
            for (name, value) in trial.params { params[name] = value.record }
            let number = naming.noun == "fold" ? trial.foldIndex ?? index : index
            var tags = [naming.jobTag: job.id, naming.noun: String(number), "kind": naming.kind, "method_used": trial.methodUsed]
            if !trial.retryOf.isEmpty { tags["retry_of"] = trial.retryOf }
            let run = try await store.startRun(Store.NewRun(
                experimentID: experimentID,
                name: "\(naming.noun)-\(number)",
                tags: tags,
                parentRunID: naming.parentRunID,
                params: params
            ))
            trials[index].runId = run.id
            try await save(index)
        } catch {
            if trials[index].status == .running {
                trials[index].status = .failed
                trials[index].error = "the trial could not be recorded: \(error)"
                trials[index].finishedAtMs = Self.nowMs()
                lastSeen[trial.id] = nil
                do {
                    try await save(index)
                } catch let saveError {
                    // The trial's first error is the one the worker gets; this one is kept in
                    // the log. After a restart the trial is found running and failed then.
                    context.logger.error("cannot record a trial that could not start", metadata: [
                        "trial": "\(trial.id)", "error": "\(saveError)", "first_error": "\(error)",
                    ])
                }
            }
            release(slot, [trialEvent(index, started: false, best: bestAtStart)])
            throw error
        }
        release(slot, [trialEvent(index, started: true, best: bestAtStart)])
        response.next = .trial(trials[index])
        return response
    }

    // MARK: - Tell

    func report(_ request: ReportTrialRequest) async throws -> ReportTrialResponse {
        let index = try runningIndex(request.trialId)
        for value in request.intermediate {
            trials[index].intermediate.removeAll { $0.step == value.step }
            trials[index].intermediate.append(value)
        }
        trials[index].intermediate.sort { $0.step < $1.step }
        lastSeen[request.trialId] = Self.nowMs()
        var response = ReportTrialResponse()
        switch request.outcome {
        case nil:
            if request.final {
                throw StoreError(code: .invalidArgument, message: "a final report needs a score, folds or a failure", field: "outcome").rpcError
            }
            if let pruner = plan.pruner, let last = request.intermediate.max(by: { $0.step < $1.step }) {
                let completed = history.filter { $0.state == .completed }
                if pruner.shouldPrune(value: last.value, step: Int(last.step), completedTrials: completed, objective: plan.objective) {
                    response.prune = true
                    try await finish(index, status: .pruned, score: nil, folds: nil, error: "pruned at step \(last.step)")
                    response.trial = trials[index]
                    return response
                }
            }
            try await save(index)
        case .score(let score)?:
            guard score.isFinite else {
                throw StoreError(code: .invalidArgument, message: "score is \(score), not a finite number", field: "score").rpcError
            }
            try await finish(index, status: .completed, score: score, folds: nil, error: "")
        case .folds(let folds)?:
            let result = try await mapStoreErrors {
                try CrossValidationResult.summarize(scores: folds.scores, fitTimes: folds.fitTimes, scoreTimes: folds.scoreTimes, field: "folds")
            }
            try await finish(index, status: .completed, score: result.mean, folds: result, error: "")
        case .fold(let scores)?:
            guard let score = scores.test[plan.metric] ?? (plan.metric == "score" && scores.test.count == 1 ? scores.test.values.first : nil) else {
                throw StoreError(
                    code: .invalidArgument,
                    message: "the fold's test scores have no \(plan.metric) (they have: \(scores.test.keys.sorted().joined(separator: ", ")))",
                    field: "fold.test"
                ).rpcError
            }
            for (key, value) in scores.test.merging(scores.train, uniquingKeysWith: { a, _ in a }) where !value.isFinite {
                throw StoreError(code: .invalidArgument, message: "fold score \(key) is \(value), not a finite number", field: "fold").rpcError
            }
            guard scores.fitTime.isFinite, scores.fitTime >= 0, scores.scoreTime.isFinite, scores.scoreTime >= 0 else {
                throw StoreError(code: .invalidArgument, message: "fit_time and score_time must be finite and not negative", field: "fold").rpcError
            }
            trials[index].foldScores = scores
            try await finish(index, status: .completed, score: score, folds: nil, error: "")
        case .failure(let failure)?:
            try await finish(index, status: .failed, score: nil, folds: nil, error: failure.isEmpty ? "the worker reported a failure" : failure)
        case .killed(let reason)?:
            try await finish(index, status: .killed, score: nil, folds: nil, error: reason.isEmpty ? "stopped by its worker" : reason)
        }
        response.trial = trials[index]
        return response
    }

    func heartbeat(_ trialID: String) throws {
        _ = try runningIndex(trialID)
        lastSeen[trialID] = Self.nowMs()
    }

    private func runningIndex(_ trialID: String) throws -> Int {
        guard let index = trials.firstIndex(where: { $0.id == trialID }) else {
            throw StoreError(code: .notFound, message: "trial \(trialID) not found", field: "trial_id").rpcError
        }
        guard trials[index].status == .running else {
            throw StoreError(
                code: .failedPrecondition,
                message: "trial \(trialID) has already ended (\(Self.statusName(trials[index].status)))", field: "trial_id"
            ).rpcError
        }
        return index
    }

    static func statusName(_ status: TrialStatus) -> String {
        switch status {
        case .running: "running"
        case .completed: "completed"
        case .failed: "failed"
        case .pruned: "pruned"
        case .killed: "killed"
        default: "unknown"
        }
    }

    // MARK: - Ending trials

    /// Ends a running trial: its state first (so a second report is refused), then its run, the
    /// store, the events.
    private func finish(
        _ index: Int, status: TrialStatus, score: Double?, folds: CrossValidationResult?, error: String, retriable: Bool = true
    ) async throws {
        trials[index].status = status
        trials[index].score = score
        trials[index].folds = folds
        trials[index].error = error
        trials[index].finishedAtMs = Self.nowMs()
        lastSeen[trials[index].id] = nil
        let trial = trials[index]
        // The events say what this change made of the sweep, in the order of the changes,
        // whatever order the store writes below end in (docs/sweeps.md, "Events and progress").
        let slot = reserveEvent()
        let events = [trialEvent(index, started: false, best: best), progressEvent()]
        var released = false
        defer { if !released { release(slot, events) } }
        if !trial.runId.isEmpty {
            var keys: [String] = []
            var values: [Double] = []
            if let scores = trial.foldScores {
                // A fold: its test and train scores and times, as scikit-learn's cross_validate names them.
                for key in scores.test.keys.sorted() { keys.append("test_\(key)"); values.append(scores.test[key]!) }
                for key in scores.train.keys.sorted() { keys.append("train_\(key)"); values.append(scores.train[key]!) }
                keys += ["fit_time", "score_time"]
                values += [scores.fitTime, scores.scoreTime]
            } else if let score {
                keys.append(plan.metric)
                values.append(score)
            }
            if let folds, folds.hasInterval {
                keys += ["\(plan.metric)_std", "\(plan.metric)_ci95_lower", "\(plan.metric)_ci95_upper", "\(plan.metric)_ci99_lower", "\(plan.metric)_ci99_upper"]
                values += [folds.std, folds.ci95Lower, folds.ci95Upper, folds.ci99Lower, folds.ci99Upper]
            }
            if !keys.isEmpty {
                let results = try await store.commitMetrics([MetricPointBatch(
                    runID: trial.runId, keys: keys, keyIndex: (0..<keys.count).map(UInt32.init),
                    values: values, steps: [Int64](repeating: 0, count: keys.count), timestampsMs: [],
                    receivedAtMs: Self.nowMs()
                )])
                if case .failure(let refused) = results[0] { try tolerateEndedRun(refused, trial: trial, what: "its score") }
            }
            let state: RunState = switch status {
            case .completed: .completed
            case .pruned, .killed: .killed
            default: .failed
            }
            do {
                _ = try await store.endRun(id: trial.runId, state: state, error: error)
            } catch let refused as StoreError {
                try tolerateEndedRun(refused, trial: trial, what: "its end")
            }
        }
        if status == .failed, retriable, !cancelled, !timeUp, trial.attempt < plan.config.retries {
            retryQueue.append(PendingRetry(of: trial, notBeforeMs: Self.nowMs() + plan.retryDelayMs(attempt: trial.attempt + 1)))
        }
        try await save(index)
        try await store.setJobProgress(jobPK: job.pk, current: Int64(finishedCount))
        released = true
        release(slot, events)
        await checkEnded()
    }

    /// Fails the running trials whose worker has not reported or sent a heartbeat within the
    /// timeout, ends the sweep when its time is up, and notes when it is done.
    /// - Throws: A store error that kept a trial's end from being recorded: the sweep then fails
    ///   with it, rather than going on with trials it could not account for.
    func tick() async throws {
        let now = Self.nowMs()
        for index in running where now - (lastSeen[trials[index].id] ?? trials[index].startedAtMs) > plan.heartbeatTimeoutMs {
            guard trials[index].status == .running else { continue }
            try await finish(index, status: .failed, score: nil, folds: nil, error: "no report or heartbeat for \(plan.heartbeatTimeoutMs) ms")
        }
        if timeUp { try await stopRunning(error: "the sweep's time limit was reached") }
        await checkEnded()
    }

    /// Fails every running trial (cancel, time limit).
    func stopRunning(error: String) async throws {
        for index in running where trials[index].status == .running {
            try await finish(index, status: .failed, score: nil, folds: nil, error: error, retriable: false)
        }
        retryQueue.removeAll()
    }

    /// Cancels the sweep: running trials fail and no more are handed out.
    func cancel() async throws {
        cancelled = true
        try await stopRunning(error: "the sweep was cancelled")
    }

    /// A trial's run that another client ended or deleted keeps its state; any other store
    /// error is thrown.
    private func tolerateEndedRun(_ error: StoreError, trial: Trial, what: String) throws {
        guard error.code == .failedPrecondition || error.code == .notFound else { throw error }
        context.logger.warning("a trial's run was ended or deleted elsewhere; \(what) is not recorded on it", metadata: [
            "trial": "\(trial.id)", "run": "\(trial.runId)", "error": "\(error.message)",
        ])
    }

    private func checkEnded() async {
        guard !ended else { return }
        if timeUp || cancelled { retryQueue.removeAll() }
        // A change whose store writes are still running (its events not out yet) keeps the sweep
        // open: the job's results and its end come after every trial's outcome is stored and told.
        guard running.isEmpty, retryQueue.isEmpty, outbox.isEmpty else { return }
        if budgetSpent { ended = true }
        if !ended, case .grid = plan.method, trials.count(where: { $0.attempt == 0 }) >= Int(plan.config.totalCombinations) { ended = true }
    }

    /// Runs the job until it ends, as its executor: fails the trials an earlier daemon left
    /// running, starts the job's progress at `total`, registers itself for the trial RPCs, and
    /// checks heartbeats, the time limit and the end while workers drive it.
    /// - Throws: `CancellationError` once cancelled; a store error that kept a trial's end from
    ///   being recorded.
    func drive(total: Int64, registry: SweepRegistry) async throws {
        try await failInterrupted()
        try await context.start(total: total, alreadyDone: Int64(finished), experimentID: experimentID)
        // Registered until the job's end is recorded (the executor's `ended`), not just until
        // this returns: GetJob answers a running sweep from here.
        registry.register(self, for: job.id)
        let interval = Duration.milliseconds(max(5, min(250, plan.heartbeatTimeoutMs / 4)))
        while true {
            if cancelled { throw CancellationError() }
            try await tick()
            if ended { break }
            try await Task.sleep(for: interval)
        }
    }

    /// Fails the trials an earlier daemon left running: their workers' reports would go nowhere.
    func failInterrupted() async throws {
        for index in running {
            try await finish(index, status: .failed, score: nil, folds: nil, error: "daemon restarted")
        }
    }

    // MARK: - Store and events

    private func save(_ index: Int) async throws {
        let trial = trials[index]
        try await store.saveSweepTrial(jobPK: job.pk, SweepTrialRecord(
            number: Int64(trial.number), id: trial.id, status: Int(trial.status.rawValue), score: trial.score,
            methodUsed: trial.methodUsed, runID: trial.runId, heartbeatMs: lastSeen[trial.id] ?? 0, trial: try trial.serializedBytes()
        ))
    }

    /// Takes the next place in the order of events; its events go out with ``release(_:_:)``.
    private func reserveEvent() -> Int {
        outbox.append(nil)
        return outboxBase + outbox.count - 1
    }

    /// Fills a reserved place, then publishes the events of every place filled, in order, up to
    /// the first still reserved.
    private func release(_ slot: Int, _ events: [JobEvent]) {
        outbox[slot - outboxBase] = events
        while let first = outbox.first, let ready = first {
            for event in ready { context.publish(event) }
            outbox.removeFirst()
            outboxBase += 1
        }
    }

    private func trialEvent(_ index: Int, started: Bool, best: Trial?) -> JobEvent {
        var payload = TrialEvent()
        payload.trial = trials[index]
        payload.best = best
        var event = JobEvent()
        event.event = started ? .trialStarted(payload) : .trialFinished(payload)
        return event
    }

    private func progressEvent() -> JobEvent {
        var progress = JobProgress()
        let done = finishedCount
        let total = plan.maxTrials ?? 0
        progress.current = UInt64(done)
        progress.total = UInt64(total)
        progress.percentage = total > 0 ? Double(done) / Double(total) * 100 : 0
        let seconds = Double(Self.nowMs() - startedAtMs) / 1000
        progress.itemsPerSecond = seconds > 0 ? Double(done) / seconds : 0
        progress.etaSeconds = total > 0 && progress.itemsPerSecond > 0 ? Double(total - done) / progress.itemsPerSecond : -1
        var event = JobEvent()
        event.event = .progress(progress)
        return event
    }

    /// The best completed trial (earliest on ties).
    var best: Trial? {
        var best: Trial?
        for trial in trials where trial.status == .completed {
            guard let score = trial.score else { continue }
            if let current = best?.score, !plan.objective.isBetter(score, than: current) { continue }
            best = trial
        }
        return best
    }

    var finished: Int { finishedCount }

    /// The sweep's outcome over every trial.
    func results() -> SweepResults {
        var results = SweepResults()
        if let best {
            results.bestTrialId = best.id
            results.bestParams = best.params
            results.bestScore = best.score
            if let folds = best.folds, folds.hasInterval {
                results.bestCi95Lower = folds.ci95Lower
                results.bestCi95Upper = folds.ci95Upper
                results.bestCi99Lower = folds.ci99Lower
                results.bestCi99Upper = folds.ci99Upper
            }
        }
        results.total = UInt64(trials.count)
        results.completed = UInt64(trials.count { $0.status == .completed })
        results.failed = UInt64(trials.count { $0.status == .failed })
        results.pruned = UInt64(trials.count { $0.status == .pruned })
        results.killed = UInt64(trials.count { $0.status == .killed })
        results.tuningTimeMs = max(0, (trials.map(\.finishedAtMs).max() ?? startedAtMs) - startedAtMs)
        results.trials = trials
        results.retried = UInt64(trials.count { $0.attempt > 0 })
        results.methodUsed = methodSummary
        return results
    }

    /// How the trials were chosen, as one line (``SweepResults/methodUsed``).
    var methodSummary: String {
        var summary: String
        switch plan.method {
        case .grid: summary = "grid"
        case .random: summary = "random"
        case .bayesian(let configuration): summary = "tpe after \(configuration.startupTrials) random startup trials"
        }
        let fallbacks = trials.filter { $0.methodUsed == MethodUsed.randomFallback.rawValue && $0.attempt == 0 }
        if let first = fallbacks.first {
            summary += ", \(fallbacks.count) \(fallbacks.count == 1 ? "trial" : "trials") random-fallback"
            if !first.note.isEmpty { summary += ": \(first.note)" }
        }
        return summary
    }

    /// Why the sweep fails although its budget is spent: no trial completed. The first failure's
    /// reason, or `nil` when a trial completed (or none was handed out).
    var noneCompleted: String? {
        guard !trials.isEmpty, !trials.contains(where: { $0.status == .completed }) else { return nil }
        let first = trials.first { $0.status != .completed && !$0.error.isEmpty } ?? trials[0]
        return "no trial completed (\(trials.count) \(trials.count == 1 ? "trial" : "trials") ended \(Self.statusName(first.status)) or worse); "
            + "the first: trial \(first.number): \(first.error.isEmpty ? Self.statusName(first.status) : first.error)"
    }

    private static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The sweeps executing now, by job id, for the trial RPCs.
final class SweepRegistry: Sendable {
    private let runs = Mutex<[String: SweepRun]>([:])

    func register(_ run: SweepRun, for jobID: String) { runs.withLock { $0[jobID] = run } }
    func remove(_ jobID: String) { runs.withLock { _ = $0.removeValue(forKey: jobID) } }
    func run(_ jobID: String) -> SweepRun? { runs.withLock { $0[jobID] } }
}

/// Runs sweep jobs: the job stays RUNNING while workers drive it through NextTrial and
/// ReportTrial; it completes when the budget is spent, the grid exhausted or the time is up.
struct SweepExecutor: JobExecutor {
    static let kind = "sweep"

    /// A sweep only hands out trials and waits for reports: it does not hold a job worker.
    var usesWorker: Bool { false }

    let store: any StoreEngine
    let registry: SweepRegistry

    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults {
        let request = try CreateJobRequest(serializedBytes: job.config)
        guard case .sweep(let config)? = request.config else {
            throw JobFailure(message: "the job has no sweep configuration")
        }
        let plan = try SweepPlan(config)
        let experiment = try await store.createExperiment(
            Store.NewExperiment(
                name: config.experiment.isEmpty ? "sweep-\(job.id)" : config.experiment, createdBy: "tally-job",
                metricGoals: [plan.metric: plan.objective == .maximize ? 2 : 1]
            ),
            getIfExists: true
        )
        let stored = try await store.sweepTrials(jobPK: job.pk).map { try Trial(serializedBytes: $0.trial) }
        let startedAtMs = job.startedAtMs > 0 ? job.startedAtMs : SweepRun.nowMs()
        let run = try SweepRun(job: job, plan: plan, experimentID: experiment.id, store: store, context: context, trials: stored, startedAtMs: startedAtMs)
        try await run.drive(total: Int64(plan.maxTrials ?? 0), registry: registry)
        var results = JobResults()
        results.sweep = await run.results()
        if let reason = await run.noneCompleted {
            throw JobFailure(message: reason, results: results)
        }
        return results
    }

    func ended(_ job: JobRecord) {
        registry.remove(job.id)
    }
}
