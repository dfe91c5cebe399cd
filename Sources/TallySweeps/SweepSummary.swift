/// The outcome of a sweep so far: its best trial and how its trials ended.
public struct SweepSummary: Sendable, Hashable {
    /// The completed trial with the best value (the earliest on ties); nil when none completed.
    public let bestTrial: CompletedTrial?
    /// The position of the best trial in the trials summarized.
    public let bestTrialIndex: Int?
    /// Fold statistics of the best trial, when it has fold scores.
    public let bestCrossValidation: CrossValidationSummary?
    /// Trials that completed with a finite value.
    public let completed: Int
    /// Trials that failed, or completed without a finite value.
    public let failed: Int
    /// Trials that were pruned.
    public let pruned: Int

    /// The best trial's parameters.
    public var bestParams: Params? { bestTrial?.params }
    /// The best value.
    public var bestValue: Double? { bestTrial?.completedValue }
    /// The 95% confidence interval of the best trial's mean fold score, when it has two or more.
    public var bestConfidenceInterval95: ConfidenceInterval? { bestCrossValidation?.confidenceInterval95 }
    /// Every trial summarized.
    public var total: Int { completed + failed + pruned }

    /// Summarizes `trials` for `objective`. The best trial's fold scores, when present and
    /// valid, give ``bestCrossValidation``.
    public init(trials: [CompletedTrial], objective: Objective) {
        var bestIndex: Int?
        var completed = 0
        var failed = 0
        var pruned = 0
        for (index, trial) in trials.enumerated() {
            if let value = trial.completedValue {
                completed += 1
                if bestIndex == nil || objective.isBetter(value, than: trials[bestIndex!].completedValue!) {
                    bestIndex = index
                }
            } else if trial.state == .pruned {
                pruned += 1
            } else {
                failed += 1
            }
        }
        self.completed = completed
        self.failed = failed
        self.pruned = pruned
        bestTrialIndex = bestIndex
        bestTrial = bestIndex.map { trials[$0] }
        bestCrossValidation = bestTrial?.foldScores.flatMap { try? CrossValidationSummary(scores: $0) }
    }
}
