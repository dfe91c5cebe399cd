/// Aggregates of a metric series a filter can use; `last` when none is written.
public enum MetricAggregate: String, Sendable, Hashable, CaseIterable {
    /// The value at the highest step (NaN counts as missing).
    case last
    /// Smallest non-NaN value.
    case min
    /// Largest non-NaN value.
    case max
    /// Mean of the non-NaN values.
    case mean
    /// Number of points, NaN included.
    case count
    /// Lowest step.
    case firstStep = "first_step"
    /// Highest step.
    case lastStep = "last_step"

    /// Whether values are whole numbers (counts and steps).
    var isInteger: Bool { self == .count || self == .firstStep || self == .lastStep }
}
