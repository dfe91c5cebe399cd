/// A two-sided confidence interval of a mean.
public struct ConfidenceInterval: Sendable, Hashable {
    /// The confidence level, for example 0.95.
    public var level: Double
    /// The lower end.
    public var lower: Double
    /// The upper end.
    public var upper: Double

    /// Creates an interval.
    public init(level: Double, lower: Double, upper: Double) {
        self.level = level
        self.lower = lower
        self.upper = upper
    }

    /// Half the interval's width: the "±" part.
    public var halfWidth: Double { (upper - lower) / 2 }
}
