/// How a finished trial ended.
public enum TrialState: String, Sendable, Hashable, CaseIterable {
    /// It ran to the end and reported its objective value.
    case completed
    /// It failed (crashed, or reported no usable value).
    case failed
    /// The pruner stopped it early.
    case pruned
}
