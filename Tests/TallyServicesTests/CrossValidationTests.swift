import Foundation
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices
import Testing

@Suite("Cross-validation jobs", .serialized)
struct CrossValidationTests {
    static func config(folds: UInt32 = 4, metrics: [String] = ["accuracy", "f1"], parallel: UInt32 = 2) -> CrossValidationConfig {
        var config = CrossValidationConfig()
        config.folds = folds
        config.metrics = metrics
        config.maximize = true
        config.maxParallel = parallel
        var c = ParamValue()
        c.kind = .doubleValue(0.5)
        config.params = ["C": c]
        config.experiment = "cv-tests"
        return config
    }

    static func create(_ h: JobHarness, _ config: CrossValidationConfig) async throws -> Job {
        var request = CreateJobRequest()
        request.config = .crossValidation(config)
        return try await h.client.createJob(request)
    }

    static func report(_ h: JobHarness, _ trial: Trial, test: [String: Double], train: [String: Double] = [:], fit: Double = 1, score: Double = 0.5) async throws {
        var scores = FoldScores()
        scores.test = test
        scores.train = train
        scores.fitTime = fit
        scores.scoreTime = score
        var request = ReportTrialRequest()
        request.trialId = trial.id
        request.outcome = .fold(scores)
        _ = try await h.client.reportTrial(request)
    }

    @Test("each fold runs once with its index; the summary per metric equals a recomputation; runs are children of the parent")
    func summary() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await Self.create(h, Self.config())
        let accuracy = [0.81, 0.79, 0.85, 0.83]
        let f1 = [0.71, 0.69, 0.80, 0.74]
        var seen: [Int64] = []
        for _ in 0..<4 {
            let trial = try #require(try await h.nextTrial(job.id))
            guard case .intValue(let fold)? = trial.params["fold"]?.kind, case .intValue(let folds)? = trial.params["folds"]?.kind else {
                Issue.record("no fold params: \(trial.params)"); return
            }
            #expect(folds == 4 && trial.params["C"]?.kind == .doubleValue(0.5))
            seen.append(fold)
            let i = Int(fold)
            try await Self.report(h, trial, test: ["accuracy": accuracy[i], "f1": f1[i]], train: ["accuracy": accuracy[i] + 0.1], fit: Double(i + 1), score: 0.25)
        }
        #expect(seen.sorted() == [0, 1, 2, 3])
        #expect(try await h.nextTrial(job.id) == nil)
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .completed, "\(finished.error)")
        let results = try #require(finished.results?.crossValidation)
        #expect(results.metrics.map(\.metric) == ["accuracy", "f1"])
        let acc = results.metrics[0]
        #expect(acc.test == accuracy && acc.train.count == 4)
        let summary = try #require(acc.testSummary)
        let mean = accuracy.reduce(0, +) / 4
        let std = (accuracy.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
        #expect(abs(summary.mean - mean) < 1e-12 && abs(summary.std - std) < 1e-12)
        #expect(abs(summary.median - 0.82) < 1e-12 && summary.min == 0.79 && summary.max == 0.85)
        // t(0.975, 3) = 3.182446305284263
        #expect(abs(summary.ci95Upper - (mean + 3.182446305284263 * std / 2)) < 1e-9)
        #expect(results.metrics[1].train.isEmpty)
        #expect(results.meanFitTime == 2.5 && results.meanScoreTime == 0.25)

        var get = GetRunRequest()
        get.runId = results.parentRunId
        let parent = try await h.tracking.getRun(get)
        #expect(parent.status == .completed && parent.name == "cv" && parent.childCount == 4)
        #expect(abs((parent.metrics.first { $0.key == "test_accuracy_mean" }?.lastValue ?? 0) - mean) < 1e-12)
        var children = ListRunsRequest()
        children.parentRunId = parent.id
        let runs = try await h.tracking.listRuns(children).runs
        #expect(Set(runs.map(\.name)) == ["fold-0", "fold-1", "fold-2", "fold-3"])
        let fold2 = try #require(runs.first { $0.name == "fold-2" })
        #expect(fold2.metrics.first { $0.key == "test_accuracy" }?.lastValue == 0.85)
        #expect(fold2.metrics.first { $0.key == "fit_time" }?.lastValue == 3)
    }

    @Test("a fold that fails fails the job with its reason; a fold report without the objective is INVALID_ARGUMENT; bad configurations are refused")
    func failures() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await Self.create(h, Self.config(folds: 2, parallel: 1))
        let first = try #require(try await h.nextTrial(job.id))
        var request = ReportTrialRequest()
        request.trialId = first.id
        var scores = FoldScores()
        scores.test = ["precision": 0.5]
        request.outcome = .fold(scores)
        #expect(await rpcCode { _ = try await h.client.reportTrial(request) } == .invalidArgument)
        try await Self.report(h, first, test: ["accuracy": 0.9, "f1": 0.8])
        let second = try #require(try await h.nextTrial(job.id))
        try await h.report(second.id, failure: "exit status 1: MemoryError")
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .failed)
        #expect(finished.error == "fold 1 did not complete: exit status 1: MemoryError", "\(finished.error)")
        #expect(finished.results?.crossValidation?.folds.count == 2)

        for bad in [Self.config(folds: 1), Self.config(metrics: ["a", "a"])] {
            #expect(await rpcCode { _ = try await Self.create(h, bad) } == .invalidArgument)
        }
        var clash = Self.config()
        clash.params["fold"] = ParamValue()
        #expect(await rpcCode { _ = try await Self.create(h, clash) } == .invalidArgument)
    }
}
