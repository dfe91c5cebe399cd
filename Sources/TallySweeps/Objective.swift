/// Whether a sweep looks for the smallest or the largest value of its objective.
public enum Objective: String, Sendable, Hashable, CaseIterable {
    case minimize
    case maximize

    /// Whether `value` is strictly better than `other`. NaN is never better, and anything but NaN
    /// is better than NaN.
    public func isBetter(_ value: Double, than other: Double) -> Bool {
        if value.isNaN { return false }
        if other.isNaN { return true }
        return self == .minimize ? value < other : value > other
    }

    /// `value` as a loss: itself when minimizing, negated when maximizing.
    func loss(_ value: Double) -> Double {
        self == .minimize ? value : -value
    }
}
