import Foundation

extension ParameterDomain {
    /// A value drawn at random: uniform over the choices of a categorical, over the step grid of
    /// a stepped int or float, log-uniform for log scales (ints: over `[low - 0.5, high + 0.5]`,
    /// then rounded, so every int is reachable).
    func randomValue(using random: inout SweepRandom) -> ParamValue {
        switch self {
        case .categorical(let choices):
            return choices[random.below(choices.count)]
        case .int(let low, let high, _, true):
            let x = exp(random.uniform(log(Double(low) - 0.5), log(Double(high) + 0.5)))
            return .int(Self.clampedInt(x.rounded(), low: low, high: high))
        case .int, .float(_, _, _, .some):
            return value(at: random.below(valueCount!))
        case .float(let low, let high, true, nil):
            return .double(min(max(exp(random.uniform(log(low), log(high))), low), high))
        case .float(let low, let high, false, nil):
            return .double(random.uniform(low, high))
        }
    }

    static func clampedInt(_ x: Double, low: Int, high: Int) -> Int {
        if x.isNaN { return low }
        if x <= Double(low) { return low }
        if x >= Double(high) { return high }
        return Int(x)
    }
}
