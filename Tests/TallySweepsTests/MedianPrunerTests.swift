import Testing
@testable import TallySweeps

@Suite("Median pruner")
struct MedianPrunerTests {
    static let others: [Double] = [0.5, 0.4, 0.3, 0.2, 0.1]  // median 0.3

    @Test(
        "prunes only when strictly worse than the median",
        arguments: [
            (0.35, Objective.minimize, true), (0.3, .minimize, false), (0.25, .minimize, false),
            (0.25, .maximize, true), (0.3, .maximize, false), (0.45, .maximize, false),
            (Double.nan, .minimize, true),
        ]
    )
    func rule(value: Double, objective: Objective, expected: Bool) {
        let pruner = MedianPruner()
        #expect(pruner.shouldPrune(value: value, step: 3, completedValuesAtStep: Self.others, objective: objective) == expected)
    }

    @Test("never during warm-up, never with fewer than minTrials completed values")
    func guards() {
        #expect(!MedianPruner(warmupSteps: 4).shouldPrune(value: 9, step: 3, completedValuesAtStep: Self.others, objective: .minimize))
        #expect(MedianPruner(warmupSteps: 4).shouldPrune(value: 9, step: 4, completedValuesAtStep: Self.others, objective: .minimize))
        #expect(!MedianPruner().shouldPrune(value: 9, step: 3, completedValuesAtStep: Array(Self.others.prefix(4)), objective: .minimize))
        #expect(MedianPruner(minTrials: 4).shouldPrune(value: 9, step: 3, completedValuesAtStep: Array(Self.others.prefix(4)), objective: .minimize))
    }

    @Test("from trials: only completed trials with a value at the step count; even counts average the middle two")
    func trials() {
        var trials = (1...4).map { CompletedTrial(params: [:], state: .completed, value: 0, intermediateValues: [2: Double($0)]) }
        trials.append(CompletedTrial(params: [:], state: .pruned, value: nil, intermediateValues: [2: 100]))
        trials.append(CompletedTrial(params: [:], state: .completed, value: 0, intermediateValues: [1: 100]))
        let pruner = MedianPruner(minTrials: 4)
        // Completed at step 2: 1 2 3 4 → median 2.5.
        #expect(pruner.shouldPrune(value: 2.6, step: 2, completedTrials: trials, objective: .minimize))
        #expect(!pruner.shouldPrune(value: 2.5, step: 2, completedTrials: trials, objective: .minimize))
        #expect(!MedianPruner(minTrials: 5).shouldPrune(value: 50, step: 2, completedTrials: trials, objective: .minimize))
    }
}
