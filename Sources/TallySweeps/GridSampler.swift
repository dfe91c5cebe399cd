/// Hands out every point of a grid once, in grid order (see ``SearchSpace/gridPoint(at:)``),
/// then nil.
///
/// It remembers how far it has handed out, so no point is handed out twice however many workers
/// ask; it also skips points already present in the history or the pending list it is given,
/// so a sampler recreated over an existing sweep (after a restart) does not repeat them.
public struct GridSampler: TrialSampler {
    /// The space swept.
    public let space: SearchSpace
    /// The number of grid points.
    public let totalCombinations: Int
    /// Every index below this one has been handed out or skipped.
    public private(set) var nextIndex = 0
    /// How many points this sampler has handed out.
    public private(set) var handedOutCount = 0

    /// Creates a grid sampler; throws when the space cannot be gridded (a float without a step,
    /// or too many points).
    public init(space: SearchSpace) throws(SweepError) {
        self.space = space
        self.totalCombinations = try space.totalCombinations()
    }

    public mutating func next(history: [CompletedTrial], pending: [Params]) -> SampledTrial? {
        guard nextIndex < totalCombinations else { return nil }
        let taken = Set(history.map { key($0.params) } + pending.map(key))
        while nextIndex < totalCombinations {
            let index = nextIndex
            nextIndex += 1
            let params = space.gridPoint(at: index)
            if !taken.isEmpty, taken.contains(key(params)) { continue }
            handedOutCount += 1
            return SampledTrial(params: params, methodUsed: .grid, gridIndex: index)
        }
        return nil
    }

    /// The searched parameters' values, in declaration order.
    private func key(_ params: Params) -> [ParamValue?] {
        space.parameters.map { params[$0.name] }
    }
}
