/// The parameters a sampler chose for a new trial, and how it chose them.
public struct SampledTrial: Sendable, Hashable {
    /// The trial's parameters, the fixed ones included.
    public var params: Params
    /// Which method chose them.
    public var methodUsed: MethodUsed
    /// For the grid: the point's index in grid order.
    public var gridIndex: Int?
    /// Why the sampler fell back to random sampling, for `.randomFallback`.
    public var note: String?

    /// Creates a sampled trial.
    public init(params: Params, methodUsed: MethodUsed, gridIndex: Int? = nil, note: String? = nil) {
        self.params = params
        self.methodUsed = methodUsed
        self.gridIndex = gridIndex
        self.note = note
    }
}
