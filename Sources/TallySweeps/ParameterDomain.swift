/// The values one searched parameter may take.
public enum ParameterDomain: Sendable, Hashable {
    /// One of a list of values (strings, ints, doubles or bools, mixed if need be), in order.
    case categorical([ParamValue])
    /// An integer in `low...high` on the grid `low, low + step, …`; with `log`, sampled
    /// log-uniformly (then `step` must be 1 and `low` positive).
    case int(low: Int, high: Int, step: Int = 1, log: Bool = false)
    /// A double in `low...high`; with `log`, sampled log-uniformly (`low` positive); with `step`,
    /// restricted to `low, low + step, …` (not together with `log`). Only a float with a step
    /// can be part of a grid.
    case float(low: Double, high: Double, log: Bool = false, step: Double? = nil)

    /// Whether the domain has finitely many values (everything but a float without a step).
    public var isFinite: Bool {
        if case .float(_, _, _, nil) = self { false } else { true }
    }

    /// Whether `value` lies in the domain (on its step grid, for stepped domains).
    public func contains(_ value: ParamValue) -> Bool {
        switch self {
        case .categorical(let choices):
            return choices.contains(value)
        case .int(let low, let high, let step, _):
            guard let int = value.intValue, int >= low, int <= high else { return false }
            return (int - low) % step == 0
        case .float(let low, let high, _, let step):
            guard let double = value.doubleValue, double >= low, double <= high else { return false }
            guard let step else { return true }
            let k = ((double - low) / step).rounded()
            return abs(low + k * step - double) <= 1e-9 * max(1, abs(double))
        }
    }
}
