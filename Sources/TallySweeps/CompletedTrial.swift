/// A finished trial, as the samplers, the pruner and the summary see it.
public struct CompletedTrial: Sendable, Hashable {
    /// The trial's parameters (the fixed ones may be included; samplers ignore them).
    public var params: Params
    /// How it ended.
    public var state: TrialState
    /// The objective value: required for `.completed` (a completed trial without a finite value
    /// is treated as failed); for `.pruned`, the last intermediate value if any.
    public var value: Double?
    /// Intermediate objective values by step, for the pruner.
    public var intermediateValues: [Int: Double]
    /// Per-fold scores when the objective is a cross-validation mean, for the summary's CI.
    public var foldScores: [Double]?

    /// Creates a finished trial.
    public init(
        params: Params,
        state: TrialState,
        value: Double?,
        intermediateValues: [Int: Double] = [:],
        foldScores: [Double]? = nil
    ) {
        self.params = params
        self.state = state
        self.value = value
        self.intermediateValues = intermediateValues
        self.foldScores = foldScores
    }

    /// A trial that completed with `value`.
    public static func completed(_ params: Params, value: Double, foldScores: [Double]? = nil) -> CompletedTrial {
        CompletedTrial(params: params, state: .completed, value: value, foldScores: foldScores)
    }

    /// A trial that failed.
    public static func failed(_ params: Params) -> CompletedTrial {
        CompletedTrial(params: params, state: .failed, value: nil)
    }

    /// The objective value when the trial completed with a finite one; nil otherwise.
    public var completedValue: Double? {
        guard state == .completed, let value, value.isFinite else { return nil }
        return value
    }
}
