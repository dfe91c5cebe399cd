/// Stops a trial whose intermediate value is worse than the median of the completed trials'
/// values at the same step (Optuna's `MedianPruner`).
///
/// The rule at step `s`: never before `warmupSteps` (s < warmupSteps), never when fewer than
/// `minTrials` completed trials reported a value at s; otherwise prune when the value is NaN or
/// strictly worse than their median (greater when minimizing, smaller when maximizing).
public struct MedianPruner: Sendable, Hashable {
    /// Completed trials with a value at the step needed before pruning at it.
    public var minTrials: Int
    /// Steps below this are never pruned.
    public var warmupSteps: Int

    /// Creates a pruner.
    public init(minTrials: Int = 5, warmupSteps: Int = 0) {
        self.minTrials = minTrials
        self.warmupSteps = warmupSteps
    }

    /// Whether to stop a trial that reported `value` at `step`, given the completed trials'
    /// values at that step.
    public func shouldPrune(value: Double, step: Int, completedValuesAtStep: [Double], objective: Objective) -> Bool {
        guard step >= warmupSteps else { return false }
        let values = completedValuesAtStep.filter { !$0.isNaN }.sorted()
        guard values.count >= Swift.max(minTrials, 1) else { return false }
        if value.isNaN { return true }
        let middle = values.count / 2
        let median = values.count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2
        return objective.isBetter(median, than: value)
    }

    /// Whether to stop a trial that reported `value` at `step`, given the finished trials: only
    /// the completed ones with a value at `step` count.
    public func shouldPrune(value: Double, step: Int, completedTrials: [CompletedTrial], objective: Objective) -> Bool {
        let values = completedTrials.compactMap { $0.state == .completed ? $0.intermediateValues[step] : nil }
        return shouldPrune(value: value, step: step, completedValuesAtStep: values, objective: objective)
    }
}
