/// Chooses the parameters of the next trial of a sweep.
///
/// A controller handing trials to concurrent workers calls `next` one call at a time (for
/// example from an actor, see ``SweepController``), passing every finished trial in the order
/// they were started and the parameters of every trial handed out but not finished yet.
public protocol TrialSampler: Sendable {
    /// The next trial, or nil when the sampler is exhausted (only the grid ever is).
    ///
    /// - Parameters:
    ///   - history: the finished trials, oldest first.
    ///   - pending: the parameters of trials handed out and still running.
    mutating func next(history: [CompletedTrial], pending: [Params]) -> SampledTrial?
}
