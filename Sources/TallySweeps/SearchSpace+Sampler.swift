extension SearchSpace {
    /// A sampler for this space: ``GridSampler``, ``RandomSampler`` or ``TPESampler``.
    ///
    /// Throws when the grid cannot be built (a float without a step) or the TPE settings are
    /// out of range.
    public func makeSampler(_ method: SweepMethod, objective: Objective, seed: UInt64) throws(SweepError) -> any TrialSampler {
        switch method {
        case .grid: try GridSampler(space: self)
        case .random: RandomSampler(space: self, seed: seed)
        case .bayesian(let configuration):
            try TPESampler(space: self, objective: objective, seed: seed, configuration: configuration)
        }
    }
}
