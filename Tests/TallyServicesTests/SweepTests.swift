import Foundation
import Synchronization
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices
import Testing

// MARK: - Helpers

func intParam(_ name: String, _ low: Int64, _ high: Int64, step: Int64 = 0, log: Bool = false) -> SweepParam {
    var range = SweepParam.IntRange()
    range.low = low
    range.high = high
    range.step = step
    range.log = log
    var param = SweepParam()
    param.name = name
    param.kind = .intRange(range)
    return param
}

func floatParam(_ name: String, _ low: Double, _ high: Double, step: Double = 0, log: Bool = false) -> SweepParam {
    var range = SweepParam.FloatRange()
    range.low = low
    range.high = high
    range.step = step
    range.log = log
    var param = SweepParam()
    param.name = name
    param.kind = .floatRange(range)
    return param
}

func categoricalParam(_ name: String, _ values: [String]) -> SweepParam {
    var categorical = SweepParam.Categorical()
    categorical.values = values.map { value in
        var paramValue = ParamValue()
        paramValue.kind = .stringValue(value)
        return paramValue
    }
    var param = SweepParam()
    param.name = name
    param.kind = .categorical(categorical)
    return param
}

func sweepConfig(
    _ params: [SweepParam], method: SweepMethod = .grid, maxTrials: UInt32 = 0, maxParallel: UInt32 = 1,
    seed: UInt64 = 7, direction: ObjectiveDirection = .minimize, heartbeatMs: UInt64 = 0
) -> SweepConfig {
    var config = SweepConfig()
    config.params = params
    config.method = method
    config.maxTrials = maxTrials
    config.maxParallel = maxParallel
    config.seed = seed
    var objective = SweepObjective()
    objective.metric = "loss"
    objective.direction = direction
    config.objective = objective
    config.heartbeatTimeoutMs = heartbeatMs
    return config
}

extension JobHarness {
    func sweep(_ config: SweepConfig) async throws -> Job {
        var request = CreateJobRequest()
        request.config = .sweep(config)
        return try await client.createJob(request)
    }

    /// Asks until a trial comes (or the sweep is finished: nil).
    func nextTrial(_ jobID: String, worker: String = "w", timeout: Duration = .seconds(20)) async throws -> Trial? {
        var request = NextTrialRequest()
        request.jobId = jobID
        request.worker = worker
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let response = try await client.nextTrial(request)
            switch response.next {
            case .trial(let trial)?: return trial
            case .finished?: return nil
            case nil: try await Task.sleep(for: .milliseconds(5))
            }
        }
        throw RPCError(code: .deadlineExceeded, message: "no trial in time")
    }

    /// One NextTrial call as it answers.
    func ask(_ jobID: String) async throws -> NextTrialResponse {
        var request = NextTrialRequest()
        request.jobId = jobID
        return try await client.nextTrial(request)
    }

    @discardableResult
    func report(_ trialID: String, score: Double? = nil, folds: [Double]? = nil, failure: String? = nil, killed: String? = nil, intermediate: [(Int64, Double)] = []) async throws -> ReportTrialResponse {
        var request = ReportTrialRequest()
        request.trialId = trialID
        if let score { request.outcome = .score(score) }
        if let folds {
            var message = ReportTrialRequest.Folds()
            message.scores = folds
            request.outcome = .folds(message)
        }
        if let failure { request.outcome = .failure(failure) }
        if let killed { request.outcome = .killed(killed) }
        request.intermediate = intermediate.map { step, value in
            var item = IntermediateValue()
            item.step = step
            item.value = value
            return item
        }
        return try await client.reportTrial(request)
    }

    /// Runs a worker until the sweep is finished; returns the trials it evaluated.
    func work(_ jobID: String, worker: String, objective: @Sendable (Trial) async -> Double) async throws -> [Trial] {
        var done: [Trial] = []
        while let trial = try await nextTrial(jobID, worker: worker) {
            try await report(trial.id, score: await objective(trial))
            done.append(trial)
        }
        return done
    }
}

extension Trial {
    func double(_ name: String) -> Double {
        switch params[name]?.kind {
        case .doubleValue(let value)?: value
        case .intValue(let value)?: Double(value)
        default: .nan
        }
    }

    func string(_ name: String) -> String {
        if case .stringValue(let value)? = params[name]?.kind { value } else { "" }
    }
}

func rpcCode(_ body: () async throws -> Void) async -> RPCError.Code? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return nil
    }
}

// MARK: - Cross-validation

@Suite struct SweepCrossValidateTests {
    @Test func statisticsMatchHandComputedValues() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        var request = CrossValidateRequest()
        request.scores = [0.8, 0.85, 0.9, 0.75, 0.8]
        request.fitTimes = [1, 2, 3, 4, 5]
        let result = try await h.client.crossValidate(request)
        #expect(result.n == 5)
        #expect(abs(result.mean - 0.82) < 1e-12)
        #expect(abs(result.std - 0.057008771254956896) < 1e-12)
        #expect(result.median == 0.8)
        #expect(result.min == 0.75)
        #expect(result.max == 0.9)
        #expect(result.hasInterval)
        // t(0.975, 4) = 2.776445, t(0.995, 4) = 4.604095: half widths 0.0707857, 0.1173818.
        #expect(abs(result.ci95Lower - (0.82 - 0.07078573884911372)) < 1e-6)
        #expect(abs(result.ci95Upper - (0.82 + 0.07078573884911372)) < 1e-6)
        #expect(abs(result.ci99Lower - (0.82 - 0.1173818479589106)) < 1e-6)
        #expect(abs(result.ci99Upper - (0.82 + 0.1173818479589106)) < 1e-6)
        #expect(result.fitTimeMean == 3)

        var single = CrossValidateRequest()
        single.scores = [0.5]
        let one = try await h.client.crossValidate(single)
        #expect(one.mean == 0.5 && !one.hasInterval && one.std == 0)

        #expect(await rpcCode { _ = try await h.client.crossValidate(CrossValidateRequest()) } == .invalidArgument)
        var mismatched = CrossValidateRequest()
        mismatched.scores = [1, 2]
        mismatched.scoreTimes = [1]
        #expect(await rpcCode { _ = try await h.client.crossValidate(mismatched) } == .invalidArgument)
        var nonFinite = CrossValidateRequest()
        nonFinite.scores = [1, .nan]
        #expect(await rpcCode { _ = try await h.client.crossValidate(nonFinite) } == .invalidArgument)
    }
}

// MARK: - Sweeps

@Suite struct SweepJobTests {
    @Test func gridWithFourConcurrentWorkersCoversEveryPointOnce() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let config = sweepConfig(
            [intParam("a", 1, 3), categoricalParam("b", ["x", "y"]), floatParam("c", 0, 0.2, step: 0.1)],
            maxParallel: 4
        )
        let job = try await h.sweep(config)
        #expect(job.kind == "sweep")
        guard case .sweep(let stored)? = job.config else { Issue.record("no sweep config"); return }
        #expect(stored.totalCombinations == 18)
        #expect(stored.maxTrials == 18)

        let all = try await withThrowingTaskGroup(of: [Trial].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    try await h.work(job.id, worker: "w\(worker)") { trial in
                        try? await Task.sleep(for: .milliseconds(1))
                        return trial.double("a") + trial.double("c") + (trial.string("b") == "x" ? 0 : 10)
                    }
                }
            }
            var trials: [Trial] = []
            for try await done in group { trials += done }
            return trials
        }
        #expect(all.count == 18)
        let points = Set(all.map { "\($0.double("a"))/\($0.string("b"))/\($0.double("c"))" })
        #expect(points.count == 18)
        #expect(all.allSatisfy { $0.methodUsed == "grid" })

        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .completed)
        let results = try #require(finished.results?.sweep)
        #expect(results.total == 18 && results.completed == 18 && results.failed == 0 && results.pruned == 0)
        #expect(results.bestScore == 1)
        #expect(results.bestParams["b"]?.kind == .stringValue("x"))
        #expect(results.trials.count == 18)
        #expect(finished.progressCurrent == 18 && finished.progressTotal == 18)

        // Each trial is a completed tracking run with its params, tags and the objective.
        var get = GetRunRequest()
        get.runId = results.trials[0].runId
        let run = try await h.tracking.getRun(get)
        #expect(run.status == .completed)
        #expect(run.tags["sweep"] == job.id)
        #expect(run.tags["trial"] == "0")
        #expect(run.params["a"] != nil && run.params["b"] != nil && run.params["c"] != nil)
        #expect(run.metrics.contains { $0.key == "loss" })
    }

    @Test func randomAndBayesianRespectBoundsAndRecordMethodUsed() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let params = [floatParam("lr", 1e-4, 1e-1, log: true), intParam("layers", 1, 4), categoricalParam("opt", ["adam", "sgd"])]
        let random = try await h.sweep(sweepConfig(params, method: .random, maxTrials: 12))
        let randomTrials = try await h.work(random.id, worker: "w") { $0.double("lr") }
        #expect(randomTrials.count == 12)
        for trial in randomTrials {
            #expect(trial.methodUsed == "random")
            #expect(trial.double("lr") >= 1e-4 && trial.double("lr") <= 1e-1)
            #expect((1...4).contains(Int(trial.double("layers"))))
            #expect(["adam", "sgd"].contains(trial.string("opt")))
        }

        var config = sweepConfig(params, method: .bayesian, maxTrials: 12)
        config.startupTrials = 4
        let bayesian = try await h.sweep(config)
        let trials = try await h.work(bayesian.id, worker: "w") { $0.double("lr") }
        #expect(trials.count == 12)
        #expect(trials.prefix(4).allSatisfy { $0.methodUsed == "random" })
        #expect(trials.dropFirst(4).allSatisfy { $0.methodUsed == "tpe" })
        for trial in trials {
            #expect(trial.double("lr") >= 1e-4 && trial.double("lr") <= 1e-1)
            #expect((1...4).contains(Int(trial.double("layers"))))
        }
        let finished = try await h.waitForStatus(bayesian.id, [.completed, .failed, .cancelled])
        #expect(finished.results?.sweep?.trials.map(\.methodUsed) == trials.map(\.methodUsed))
    }

    @Test func tpeFindsTheMinimumOfAQuadratic() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        var config = sweepConfig([floatParam("x", -5, 5)], method: .bayesian, maxTrials: 40, seed: 3)
        config.startupTrials = 10
        let job = try await h.sweep(config)
        _ = try await h.work(job.id, worker: "w") { trial in
            let x = trial.double("x")
            return (x - 2) * (x - 2)
        }
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        let results = try #require(finished.results?.sweep)
        let best = try #require(results.bestScore)
        #expect(best < 0.05, "best \(best)")
        guard case .doubleValue(let x)? = results.bestParams["x"]?.kind else { Issue.record("no best x"); return }
        #expect(abs(x - 2) < 0.25)
    }

    @Test func foldsGiveTheMeanAndIntervals() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await h.sweep(sweepConfig([intParam("k", 1, 2)], direction: .maximize))
        let first = try #require(try await h.nextTrial(job.id))
        let answer = try await h.report(first.id, folds: [0.8, 0.85, 0.9, 0.75, 0.8])
        #expect(answer.trial?.status == .completed)
        #expect(abs((answer.trial?.score ?? 0) - 0.82) < 1e-12)
        #expect(answer.trial?.folds?.hasInterval == true)
        let second = try #require(try await h.nextTrial(job.id))
        try await h.report(second.id, folds: [0.5, 0.6])
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        let results = try #require(finished.results?.sweep)
        #expect(results.bestTrialId == first.id)
        #expect(abs(results.bestCi95Lower - (0.82 - 0.07078573884911372)) < 1e-6)
        #expect(abs(results.bestCi99Upper - (0.82 + 0.1173818479589106)) < 1e-6)
        var get = GetRunRequest()
        get.runId = first.runId
        let run = try await h.tracking.getRun(get)
        #expect(Set(run.metrics.map(\.key)).isSuperset(of: ["loss", "loss_std", "loss_ci95_lower", "loss_ci95_upper"]))
    }

    @Test func failuresAndHeartbeatExpiryFreeTheSlot() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        // Generous times: the heartbeat checks must hold on a loaded machine.
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 4)], maxParallel: 1, heartbeatMs: 2000))
        let first = try #require(try await h.nextTrial(job.id))
        #expect(try await h.ask(job.id).wait)

        // A failure report frees the slot.
        let failed = try await h.report(first.id, failure: "out of memory")
        #expect(failed.trial?.status == .failed && failed.trial?.error == "out of memory")
        let second = try #require(try await h.nextTrial(job.id))
        #expect(second.number == 1)

        // Heartbeats keep a trial alive past the timeout…
        for _ in 0..<25 {
            try await Task.sleep(for: .milliseconds(100))
            var beat = HeartbeatRequest()
            beat.trialId = second.id
            _ = try await h.client.heartbeat(beat)
        }
        #expect(try await h.ask(job.id).wait)
        try await h.report(second.id, score: 1)

        // …and without them it fails and its slot is reused.
        let third = try #require(try await h.nextTrial(job.id))
        try await Task.sleep(for: .milliseconds(2500))
        let fourth = try #require(try await h.nextTrial(job.id, timeout: .seconds(10)))
        #expect(fourth.number == 3)
        #expect(await rpcCode { try await h.report(third.id, score: 1) } == .failedPrecondition)
        try await h.report(fourth.id, score: 2)

        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        let results = try #require(finished.results?.sweep)
        #expect(results.total == 4 && results.completed == 2 && results.failed == 2)
        #expect(results.trials[2].error.contains("heartbeat"))
        var get = GetRunRequest()
        get.runId = third.runId
        #expect(try await h.tracking.getRun(get).status == .failed)
    }

    @Test func sweepsDoNotHoldJobWorkers() async throws {
        // One job worker: three idle sweeps run side by side, and an evaluation still starts.
        let h = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(20)), workers: 1)
        defer { Task { await h.close() } }
        var sweeps: [Job] = []
        for _ in 0..<3 { sweeps.append(try await h.sweep(sweepConfig([intParam("a", 1, 3)]))) }
        for sweep in sweeps { _ = try await h.waitForStatus(sweep.id, [.running]) }
        _ = try await h.dataset(items: 4)
        _ = try await h.commandProvider()
        let evaluation = try await h.job()
        #expect(try await h.waitForStatus(evaluation.id, [.completed, .failed, .cancelled]).status == .completed)
        for sweep in sweeps {
            var cancel = CancelJobRequest()
            cancel.jobId = sweep.id
            _ = try await h.client.cancelJob(cancel)
        }
    }

    @Test func killedTrialsEndTheirRunKilledAndAreCounted() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 3)], maxParallel: 2))
        let first = try #require(try await h.nextTrial(job.id))
        let second = try #require(try await h.nextTrial(job.id))
        let killed = try await h.report(first.id, killed: "agent interrupted")
        #expect(killed.trial?.status == .killed && killed.trial?.error == "agent interrupted")
        #expect(await rpcCode { try await h.report(first.id, score: 1) } == .failedPrecondition)
        var get = GetRunRequest()
        get.runId = first.runId
        #expect(try await h.tracking.getRun(get).status == .killed)
        // The killed slot is free again; the killed grid point is not handed out again.
        let third = try #require(try await h.nextTrial(job.id))
        #expect(third.number == 2 && third.params["a"] != first.params["a"])
        // GetJob of the running sweep carries the results so far.
        var getJob = GetJobRequest()
        getJob.jobId = job.id
        let live = try await h.client.getJob(getJob)
        #expect(live.status == .running && live.results?.sweep?.total == 3 && live.results?.sweep?.killed == 1)
        #expect(live.results?.sweep?.trials.map(\.status) == [.killed, .running, .running])
        try await h.report(second.id, score: 2)
        try await h.report(third.id, score: 3)
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        let results = try #require(finished.results?.sweep)
        #expect(results.total == 3 && results.completed == 2 && results.killed == 1 && results.failed == 0)
        #expect(results.bestScore == 2)
    }

    @Test("a sweep in which every trial failed ends FAILED with the first failure's reason, its trials kept")
    func everyTrialFailedFailsTheSweep() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 3)]))
        for index in 0..<3 {
            let trial = try #require(try await h.nextTrial(job.id))
            try await h.report(trial.id, failure: index == 0 ? "exit status 1: ValueError: bad lr" : "exit status \(index + 1)")
        }
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .failed)
        #expect(finished.error.contains("no trial completed") && finished.error.contains("trial 0: exit status 1: ValueError: bad lr"), "\(finished.error)")
        let results = try #require(finished.results?.sweep)
        #expect(results.total == 3 && results.failed == 3 && results.trials.count == 3)
        #expect(results.methodUsed == "grid")
    }

    @Test("a failed trial is retried with the same params after the backoff; retries do not count against max_trials")
    func failedTrialsAreRetried() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        var config = sweepConfig([intParam("a", 1, 100)], method: .random, maxTrials: 2)
        config.retries = 2
        config.retryBackoffMs = 1500  // longer than this test takes between the failure and the check below
        let job = try await h.sweep(config)
        let first = try #require(try await h.nextTrial(job.id))
        let failedAt = ContinuousClock.now  // at most the daemon's time of the failure
        try await h.report(first.id, failure: "CUDA out of memory")
        // The second configuration is not held back by the pending retry.
        let second = try #require(try await h.nextTrial(job.id))
        #expect(second.attempt == 0 && second.retryOf.isEmpty)
        try await h.report(second.id, score: 5)
        // The budget of configurations is spent, the retry is not due yet: wait.
        if ContinuousClock.now - failedAt < .milliseconds(1400) {
            #expect(try await h.ask(job.id).wait)
        }
        let retry = try #require(try await h.nextTrial(job.id))
        #expect(ContinuousClock.now - failedAt >= .milliseconds(1500))
        #expect(retry.attempt == 1 && retry.retryOf == first.id && retry.params == first.params)
        #expect(retry.methodUsed == first.methodUsed && retry.note.contains("retry 1 of trial 0"))
        var get = GetRunRequest()
        get.runId = retry.runId
        #expect(try await h.tracking.getRun(get).tags["retry_of"] == first.id)
        try await h.report(retry.id, score: 3)
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .completed)
        let results = try #require(finished.results?.sweep)
        #expect(results.total == 3 && results.completed == 2 && results.failed == 1 && results.retried == 1)
        #expect(results.bestTrialId == retry.id && results.bestScore == 3)
        #expect(results.methodUsed == "random")
    }

    @Test("retries wait the backoff, doubling, at most 60 s")
    func retryBackoffDoubles() throws {
        var config = sweepConfig([intParam("a", 1, 2)])
        config.retries = 3
        config.retryBackoffMs = 20_000
        let plan = try SweepPlan(config)
        #expect((1...4).map { plan.retryDelayMs(attempt: $0) } == [20_000, 40_000, 60_000, 60_000])
        config.retryBackoffMs = 0
        #expect(try SweepPlan(config).retryDelayMs(attempt: 2) == 2_000)  // the default 1 s, doubled
    }

    @Test("without retries a failed trial is not handed out again; retries past 10 are refused")
    func noRetriesByDefault() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 2)]))
        let first = try #require(try await h.nextTrial(job.id))
        try await h.report(first.id, failure: "boom")
        let second = try #require(try await h.nextTrial(job.id))
        #expect(second.attempt == 0 && second.params != first.params)
        try await h.report(second.id, score: 1)
        #expect(try await h.nextTrial(job.id) == nil)
        var config = sweepConfig([intParam("a", 1, 2)])
        config.retries = 11
        #expect(await rpcCode { _ = try await h.sweep(config) } == .invalidArgument)
    }

    @Test("a bayesian sweep's method_used says when TPE fell back to random, with the sampler's note")
    func methodUsedSummary() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        var config = sweepConfig([floatParam("x", 0, 1)], method: .bayesian, maxTrials: 4)
        config.startupTrials = 2
        let job = try await h.sweep(config)
        // Two failed startup trials: TPE has no completed trial, so the next ones fall back.
        for index in 0..<4 {
            let trial = try #require(try await h.nextTrial(job.id))
            if index < 2 { try await h.report(trial.id, failure: "boom") } else { try await h.report(trial.id, score: Double(index)) }
        }
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        let results = try #require(finished.results?.sweep)
        #expect(results.methodUsed.hasPrefix("tpe after 2 random startup trials, 2 trials random-fallback: TPE needs 2 completed trials, has 0"), "\(results.methodUsed)")
    }

    @Test("events come in the order of the changes: a trial is never named best before its own finish, progress never goes back")
    func eventsFollowTheOrderOfChanges() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 24)], maxParallel: 24))
        var watch = WatchJobRequest()
        watch.jobId = job.id
        let stream = try await h.client.watchJob(watch)
        let (snapshotSeen, seen) = AsyncStream.makeStream(of: Void.self)
        let collected = Task {
            var events: [JobEvent] = []
            for try await event in stream {
                if case .snapshot? = event.event { seen.yield() }
                events.append(event)
            }
            return events
        }
        // Watching from here on: the snapshot came.
        for await _ in snapshotSeen { break }
        var handed: [Trial] = []
        for _ in 0..<24 { handed.append(try #require(try await h.nextTrial(job.id))) }
        // Every report at once, each better than the one before: the best changes at each step.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, trial) in handed.enumerated() {
                group.addTask { try await h.report(trial.id, score: Double(100 - index)) }
            }
            try await group.waitForAll()
        }
        _ = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        let events = try await collected.value
        var finished = Set<String>()
        var lastProgress: UInt64 = 0
        for event in events {
            switch event.event {
            case .trialFinished(let payload)?:
                finished.insert(payload.trial?.id ?? "")
                if let best = payload.best {
                    #expect(finished.contains(best.id), "trial \(best.number) named best before its own finish")
                }
            case .progress(let progress)?:
                #expect(progress.current >= lastProgress, "progress went from \(lastProgress) to \(progress.current)")
                lastProgress = progress.current
            default:
                break
            }
        }
        #expect(finished.count == 24 && lastProgress == 24, "\(finished.count) finished, progress \(lastProgress), \(events.count) events: \(events.map { String(describing: $0.event).prefix(12) })")
    }

    @Test("a preset gives the sweep its model family's space; a param of the request replaces the preset's; unknown presets are refused")
    func presets() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        var config = sweepConfig([intParam("n_estimators", 10, 20)], method: .random, maxTrials: 3)
        config.preset = "random-forest"
        let job = try await h.sweep(config)
        guard case .sweep(let stored)? = job.config else { Issue.record("no sweep config"); return }
        #expect(stored.params.map(\.name) == ["max_depth", "min_samples_split", "min_samples_leaf", "max_features", "bootstrap", "n_estimators"])
        let trial = try #require(try await h.nextTrial(job.id))
        let estimators = try #require(trial.params["n_estimators"].flatMap { if case .intValue(let v)? = $0.kind { v } else { nil } })
        #expect((10...20).contains(estimators))
        #expect(trial.params["max_features"] != nil && trial.params["bootstrap"] != nil)
        for name in ["gradient-boosting", "logistic-regression", "svm", "mlp", "xgboost"] {
            var other = sweepConfig([], method: .bayesian, maxTrials: 2)
            other.preset = name
            #expect(await rpcCode { _ = try await h.sweep(other) } == nil, "preset \(name)")
        }
        var unknown = sweepConfig([], method: .random, maxTrials: 2)
        unknown.preset = "deep-forest"
        #expect(await rpcCode { _ = try await h.sweep(unknown) } == .invalidArgument)
    }

    @Test func medianPrunerPrunesAClearlyBadTrial() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        var config = sweepConfig([floatParam("x", 0, 1)], method: .random, maxTrials: 6, maxParallel: 2)
        var pruner = PrunerConfig()
        pruner.enabled = true
        pruner.minTrials = 3
        config.pruner = pruner
        let job = try await h.sweep(config)
        for value in [0.1, 0.2, 0.3] {
            let trial = try #require(try await h.nextTrial(job.id))
            let answer = try await h.report(trial.id, intermediate: [(1, value)])
            #expect(!answer.prune)
            try await h.report(trial.id, score: value, intermediate: [(2, value)])
        }
        let bad = try #require(try await h.nextTrial(job.id))
        let good = try #require(try await h.nextTrial(job.id))
        #expect(try await h.report(good.id, intermediate: [(1, 0.15)]).prune == false)
        let pruned = try await h.report(bad.id, intermediate: [(1, 10)])
        #expect(pruned.prune)
        #expect(pruned.trial?.status == .pruned)
        #expect(await rpcCode { try await h.report(bad.id, score: 1) } == .failedPrecondition)
        var get = GetRunRequest()
        get.runId = bad.runId
        #expect(try await h.tracking.getRun(get).status == .killed)
        try await h.report(good.id, score: 0.15)
        let last = try #require(try await h.nextTrial(job.id))
        try await h.report(last.id, score: 0.5)
        #expect(try await h.nextTrial(job.id) == nil)
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        let results = try #require(finished.results?.sweep)
        #expect(results.pruned == 1 && results.completed == 5)
    }

    @Test func cancelEndsTheSweepAndItsTrials() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 10)]))
        let trial = try #require(try await h.nextTrial(job.id))
        var cancel = CancelJobRequest()
        cancel.jobId = job.id
        let cancelled = try await h.client.cancelJob(cancel)
        #expect(cancelled.status == .cancelled)
        #expect(try await h.ask(job.id).finished == true)
        #expect(await rpcCode { try await h.report(trial.id, score: 1) } == .failedPrecondition)
        var get = GetRunRequest()
        get.runId = trial.runId
        #expect(try await h.tracking.getRun(get).status == .failed)
    }

    @Test func restartResumesTheSweep() async throws {
        let directory = NSTemporaryDirectory() + "tally-sweep-restart-" + UUID().uuidString
        let before = try await JobHarness(directory: directory)
        let job = try await before.sweep(sweepConfig([intParam("a", 1, 4)], maxParallel: 2))
        let first = try #require(try await before.nextTrial(job.id))
        try await before.report(first.id, score: 1)
        let interrupted = try #require(try await before.nextTrial(job.id))
        #expect(interrupted.number == 1)
        await before.close(removing: false)

        let h = try await JobHarness(directory: directory)
        defer { Task { await h.close() } }
        #expect(await rpcCode { try await h.report(interrupted.id, score: 2) } == .failedPrecondition)
        let rest = try await h.work(job.id, worker: "w") { $0.double("a") }
        #expect(rest.map(\.number) == [2, 3])
        #expect(Set(rest.map { $0.double("a") }) == [3, 4])
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .completed)
        let results = try #require(finished.results?.sweep)
        #expect(results.total == 4 && results.completed == 3 && results.failed == 1)
        #expect(results.trials[1].error == "daemon restarted")
        #expect(results.bestTrialId == first.id)
    }

    @Test func validationErrors() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        #expect(await rpcCode { _ = try await h.sweep(sweepConfig([intParam("a", 5, 1)])) } == .invalidArgument)
        #expect(await rpcCode { _ = try await h.sweep(sweepConfig([floatParam("lr", 0, 1)])) } == .invalidArgument)
        #expect(await rpcCode { _ = try await h.sweep(sweepConfig([floatParam("lr", 0, 1, log: true)], method: .random, maxTrials: 3)) } == .invalidArgument)
        // A random sweep with neither max_trials nor a time limit runs 10 trials (SweepDefaultsTests).
        let defaulted = try await h.sweep(sweepConfig([floatParam("lr", 0, 1)], method: .random))
        guard case .sweep(let stored)? = defaulted.config else { Issue.record("no sweep config"); return }
        #expect(stored.maxTrials == 10)
        #expect(await rpcCode { _ = try await h.sweep(sweepConfig([])) } == .invalidArgument)
        #expect(await rpcCode { _ = try await h.sweep(sweepConfig([categoricalParam("c", [])])) } == .invalidArgument)

        #expect(await rpcCode { _ = try await h.ask("nope") } == .notFound)
        #expect(await rpcCode { try await h.report("nope", score: 1) } == .notFound)
        var beat = HeartbeatRequest()
        beat.trialId = "nope"
        #expect(await rpcCode { _ = try await h.client.heartbeat(beat) } == .notFound)

        let job = try await h.sweep(sweepConfig([intParam("a", 1, 3)]))
        let trial = try #require(try await h.nextTrial(job.id))
        var finalWithout = ReportTrialRequest()
        finalWithout.trialId = trial.id
        finalWithout.final = true
        #expect(await rpcCode { _ = try await h.client.reportTrial(finalWithout) } == .invalidArgument)
        #expect(await rpcCode { try await h.report(trial.id, score: .infinity) } == .invalidArgument)
        try await h.report(trial.id, score: 1)
        #expect(await rpcCode { try await h.report(trial.id, score: 1) } == .failedPrecondition)

        _ = try await h.dataset()
        _ = try await h.commandProvider()
        let evaluation = try await h.job()
        #expect(await rpcCode { _ = try await h.ask(evaluation.id) } == .invalidArgument)
    }
}

extension NextTrialResponse {
    var finished: Bool? {
        if case .finished(let value)? = next { value } else { nil }
    }
}
