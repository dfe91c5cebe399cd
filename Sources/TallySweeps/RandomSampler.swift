/// Samples every parameter independently at random within its domain (see
/// ``ParameterDomain``): uniform, log-uniform for log scales, on the step grid when there is one.
///
/// Trial number `k` (the count of finished plus pending trials when it is asked for) is drawn
/// from a generator seeded with the sweep's seed and `k`, so the same seed gives the same
/// trials in the same order, even from a sampler recreated mid-sweep.
public struct RandomSampler: TrialSampler {
    /// The space swept.
    public let space: SearchSpace
    /// The sweep's seed.
    public let seed: UInt64

    /// Creates a random sampler.
    public init(space: SearchSpace, seed: UInt64) {
        self.space = space
        self.seed = seed
    }

    public mutating func next(history: [CompletedTrial], pending: [Params]) -> SampledTrial? {
        var random = SweepRandom(seed: seed, stream: UInt64(history.count + pending.count))
        return SampledTrial(params: space.randomPoint(using: &random), methodUsed: .random)
    }
}
