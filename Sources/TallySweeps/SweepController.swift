/// Serializes a sampler for concurrent workers: hands out trials with an id, remembers them as
/// pending until they are reported, and keeps the history the sampler learns from.
///
/// A minimal in-memory controller; the daemon's job service keeps its own state and calls the
/// sampler the same way.
public actor SweepController {
    private var sampler: any TrialSampler
    private var nextID = 0
    private var pendingByID: [Int: Params] = [:]
    private var pendingOrder: [Int] = []
    /// The finished trials, in the order they were reported.
    public private(set) var history: [CompletedTrial] = []
    /// Every trial handed out, by id.
    public private(set) var handedOut: [Int: SampledTrial] = [:]
    /// The most trials to hand out; nil for no limit (the grid stops by itself).
    public let budget: Int?

    /// Creates a controller over `sampler`.
    public init(sampler: any TrialSampler, budget: Int? = nil) {
        self.sampler = sampler
        self.budget = budget
    }

    /// The parameters of the trials handed out and not reported yet, oldest first.
    public var pending: [Params] { pendingOrder.compactMap { pendingByID[$0] } }

    /// The next trial and its id, or nil when the sampler is exhausted or the budget spent.
    public func nextTrial() -> (id: Int, trial: SampledTrial)? {
        if let budget, nextID >= budget { return nil }
        guard let trial = sampler.next(history: history, pending: pending) else { return nil }
        let id = nextID
        nextID += 1
        pendingByID[id] = trial.params
        pendingOrder.append(id)
        handedOut[id] = trial
        return (id, trial)
    }

    /// Records how trial `id` ended. Unknown or already reported ids are ignored.
    public func report(id: Int, state: TrialState, value: Double?, intermediateValues: [Int: Double] = [:], foldScores: [Double]? = nil) {
        guard let params = pendingByID.removeValue(forKey: id) else { return }
        pendingOrder.removeAll { $0 == id }
        history.append(CompletedTrial(params: params, state: state, value: value, intermediateValues: intermediateValues, foldScores: foldScores))
    }
}
