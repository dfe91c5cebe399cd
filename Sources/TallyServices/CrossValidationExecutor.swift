import Foundation
import TallyProto
import TallyStore
import TallySweeps

/// Runs cross-validation jobs: one configuration, once per fold, by workers (`tally cv`, `tally
/// agent`, `tally sweeps validate`) through NextTrial and ReportTrial, as a sweep's trials are
/// run. The folds are a grid over `fold` (0 to folds − 1) with the configuration's params and
/// `folds` fixed; each fold's run is a child of the job's parent run, which gets the summary.
/// The job completes once every fold completed, and fails with the first failed fold's reason
/// when one failed (after its retries).
struct CrossValidationExecutor: JobExecutor {
    static let kind = "cross_validation"

    /// Folds are handed out and waited for: no job worker is held.
    var usesWorker: Bool { false }

    let store: any StoreEngine
    let registry: SweepRegistry

    /// The configuration checked, with its defaults, and the sweep configuration of its folds.
    static func plan(_ config: CrossValidationConfig) throws -> (CrossValidationConfig, SweepPlan) {
        func invalid(_ message: String, _ field: String) -> StoreError {
            StoreError(code: .invalidArgument, message: message, field: field)
        }
        var config = config
        if config.folds == 0 { config.folds = 5 }
        guard (2...100).contains(config.folds) else { throw invalid("folds must be between 2 and 100", "folds") }
        guard Set(config.metrics).count == config.metrics.count else { throw invalid("a metric is named twice", "metrics") }
        for metric in config.metrics where metric.isEmpty || metric.count > 200 {
            throw invalid("a metric name must have 1 to 200 characters", "metrics")
        }
        for name in ["fold", "folds"] where config.params[name] != nil {
            throw invalid("the param \(name) is set for each fold by the job", "params")
        }
        if config.maxParallel == 0 { config.maxParallel = 1 }
        if config.name.isEmpty { config.name = "cv" }
        var sweep = SweepConfig()
        var fold = SweepParam()
        fold.name = "fold"
        var range = SweepParam.IntRange()
        range.low = 0
        range.high = Int64(config.folds) - 1
        fold.kind = .intRange(range)
        sweep.params = [fold]
        sweep.fixed = config.params
        var folds = ParamValue()
        folds.kind = .intValue(Int64(config.folds))
        sweep.fixed["folds"] = folds
        sweep.method = .grid
        var objective = SweepObjective()
        objective.metric = config.metrics.first ?? "score"
        objective.direction = config.maximize ? .maximize : .minimize
        sweep.objective = objective
        sweep.maxParallel = config.maxParallel
        sweep.heartbeatTimeoutMs = config.heartbeatTimeoutMs
        sweep.retries = config.retries
        let plan = try SweepPlan(sweep)
        config.heartbeatTimeoutMs = plan.config.heartbeatTimeoutMs
        return (config, plan)
    }

    func ended(_ job: JobRecord) {
        registry.remove(job.id)
    }

    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults {
        let request = try CreateJobRequest(serializedBytes: job.config)
        guard case .crossValidation(let stored)? = request.config else {
            throw JobFailure(message: "the job has no cross-validation configuration")
        }
        let (config, plan) = try Self.plan(stored)
        let experiment = try await store.createExperiment(
            Store.NewExperiment(
                name: config.experiment.isEmpty ? "cv-\(job.id)" : config.experiment, createdBy: "tally-job",
                metricGoals: [plan.metric: plan.objective == .maximize ? 2 : 1]
            ),
            getIfExists: true
        )
        // The parent run has the job's id, so a resumed job finds it again.
        var parentParams: [String: ParamValueRecord] = [:]
        for (name, value) in config.params { parentParams[name] = value.record }
        var tags = ["cv": job.id, "kind": Self.kind, "folds": String(config.folds)]
        if !config.sweepId.isEmpty { tags["sweep"] = config.sweepId }
        if !config.trialId.isEmpty { tags["trial"] = config.trialId }
        let parent = try await store.startRun(Store.NewRun(
            experimentID: experiment.id, name: config.name, tags: tags, params: parentParams, id: job.id
        ))
        let trials = try await store.sweepTrials(jobPK: job.pk).map { try Trial(serializedBytes: $0.trial) }
        let startedAtMs = job.startedAtMs > 0 ? job.startedAtMs : SweepRun.nowMs()
        let run = try SweepRun(
            job: job, plan: plan, experimentID: experiment.id, store: store, context: context, trials: trials,
            startedAtMs: startedAtMs,
            naming: SweepRun.Naming(noun: "fold", jobTag: "cv", kind: Self.kind, parentRunID: parent.id)
        )
        try await run.drive(total: Int64(config.folds), registry: registry)
        let folds = await run.results().trials
        let summary = try Self.results(folds, config: config, parentRunID: parent.id, startedAtMs: startedAtMs)
        var results = JobResults()
        results.crossValidation = summary
        // Every fold must complete: a summary over fewer folds would not be a K-fold estimate.
        let done = Set(folds.filter { $0.status == .completed }.compactMap(\.foldIndex))
        if let missing = (0..<Int(config.folds)).first(where: { !done.contains($0) }) {
            let failed = folds.last { $0.foldIndex == missing }
            let reason = failed.map { $0.error.isEmpty ? SweepRun.statusName($0.status) : $0.error } ?? "never run"
            try await endParent(parent.id, state: .failed, error: "fold \(missing) did not complete: \(reason)")
            throw JobFailure(message: "fold \(missing) did not complete: \(reason)", results: results)
        }
        try await logSummary(summary, parentRunID: parent.id)
        return results
    }

    /// The summary of the completed folds (the last completed try of each, in fold order).
    static func results(_ trials: [Trial], config: CrossValidationConfig, parentRunID: String, startedAtMs: Int64) throws -> CrossValidationResults {
        var byFold: [Int: FoldScores] = [:]
        for trial in trials where trial.status == .completed {
            if let fold = trial.foldIndex, let scores = trial.foldScores { byFold[fold] = scores }
        }
        let ordered = byFold.keys.sorted().map { byFold[$0]! }
        var results = CrossValidationResults()
        results.parentRunId = parentRunID
        results.folds = trials
        results.durationMs = max(0, (trials.map(\.finishedAtMs).max() ?? startedAtMs) - startedAtMs)
        guard !ordered.isEmpty else { return results }
        let names = config.metrics.isEmpty ? Set(ordered.flatMap(\.test.keys)).sorted() : config.metrics
        for name in names {
            var metric = MetricFolds()
            metric.metric = name
            metric.test = ordered.compactMap { $0.test[name] }
            metric.train = ordered.compactMap { $0.train[name] }
            guard !metric.test.isEmpty else { continue }
            metric.testSummary = try CrossValidationResult.summarize(scores: metric.test, fitTimes: [], scoreTimes: [], field: "fold")
            if !metric.train.isEmpty {
                metric.trainSummary = try CrossValidationResult.summarize(scores: metric.train, fitTimes: [], scoreTimes: [], field: "fold")
            }
            results.metrics.append(metric)
        }
        results.meanFitTime = ordered.map(\.fitTime).reduce(0, +) / Double(ordered.count)
        results.meanScoreTime = ordered.map(\.scoreTime).reduce(0, +) / Double(ordered.count)
        return results
    }

    /// The parent run gets the summary as metrics and ends completed.
    private func logSummary(_ results: CrossValidationResults, parentRunID: String) async throws {
        var keys: [String] = []
        var values: [Double] = []
        for metric in results.metrics {
            for (part, summary) in [("test", metric.testSummary), ("train", metric.trainSummary)] {
                guard let summary, summary.n > 0 else { continue }
                let prefix = "\(part)_\(metric.metric)"
                keys += ["\(prefix)_mean", "\(prefix)_std", "\(prefix)_median", "\(prefix)_min", "\(prefix)_max"]
                values += [summary.mean, summary.std, summary.median, summary.min, summary.max]
                if summary.hasInterval {
                    keys += ["\(prefix)_ci95_lower", "\(prefix)_ci95_upper", "\(prefix)_ci99_lower", "\(prefix)_ci99_upper"]
                    values += [summary.ci95Lower, summary.ci95Upper, summary.ci99Lower, summary.ci99Upper]
                }
            }
        }
        keys += ["mean_fit_time", "mean_score_time"]
        values += [results.meanFitTime, results.meanScoreTime]
        let finite = zip(keys, values).filter { $0.1.isFinite }
        _ = try await store.commitMetrics([MetricPointBatch(
            runID: parentRunID, keys: finite.map(\.0), keyIndex: (0..<finite.count).map(UInt32.init),
            values: finite.map(\.1), steps: [Int64](repeating: 0, count: finite.count), timestampsMs: [],
            receivedAtMs: SweepRun.nowMs()
        )])
        try await endParent(parentRunID, state: .completed, error: "")
    }

    private func endParent(_ id: String, state: RunState, error: String) async throws {
        do {
            _ = try await store.endRun(id: id, state: state, error: error)
        } catch let refused as StoreError where refused.code == .failedPrecondition || refused.code == .notFound {
            // Ended or deleted by someone else: the job's results still hold the summary.
        }
    }
}

extension Trial {
    /// The fold a cross-validation trial ran (its `fold` param).
    var foldIndex: Int? {
        params["fold"].flatMap { if case .intValue(let v)? = $0.kind { Int(v) } else { nil } }
    }
}
