import Testing
@testable import TallySweeps

@Suite("Sweep summary")
struct SweepSummaryTests {
    static let trials: [CompletedTrial] = [
        .completed(["lr": 0.1], value: 0.70, foldScores: [0.7, 0.7]),
        .failed(["lr": 1.0]),
        .completed(["lr": 0.01], value: 0.80, foldScores: [0.80, 0.85, 0.90, 0.75, 0.70]),
        CompletedTrial(params: ["lr": 0.5], state: .pruned, value: 0.2),
        CompletedTrial(params: ["lr": 0.3], state: .completed, value: .nan),
        .completed(["lr": 0.001], value: 0.80),
    ]

    @Test("best trial, its CI and the counts, maximizing")
    func maximize() throws {
        let summary = SweepSummary(trials: Self.trials, objective: .maximize)
        #expect(summary.bestParams == ["lr": 0.01])  // the earliest of the tied 0.80s
        #expect(summary.bestTrialIndex == 2)
        #expect(summary.bestValue == 0.80)
        let ci = try #require(summary.bestConfidenceInterval95)
        #expect(abs(ci.halfWidth - 0.0981621581) < 1e-8)
        #expect(summary.completed == 3 && summary.failed == 2 && summary.pruned == 1 && summary.total == 6)
    }

    @Test("minimizing picks the smallest; no completed trial gives no best")
    func minimize() {
        let summary = SweepSummary(trials: Self.trials, objective: .minimize)
        #expect(summary.bestParams == ["lr": 0.1])
        #expect(summary.bestCrossValidation?.standardDeviation == 0)
        let none = SweepSummary(trials: [.failed([:])], objective: .minimize)
        #expect(none.bestTrial == nil && none.bestValue == nil && none.failed == 1)
    }
}
