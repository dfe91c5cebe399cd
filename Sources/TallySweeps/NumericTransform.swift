import Foundation

/// How a numeric domain maps to the TPE's internal space: the log of the value for log scales,
/// the value itself otherwise; stepped domains keep their step grid.
struct NumericTransform: Sendable {
    let domain: ParameterDomain
    /// Bounds in the internal space (the step grid's ends for stepped domains).
    let low: Double
    let high: Double
    let step: Double?

    init(_ domain: ParameterDomain) {
        self.domain = domain
        switch domain {
        case .int(let low, let high, _, true):
            // Every int owns [x − 0.5, x + 0.5]; continuous in log space, rounded back.
            (self.low, self.high, step) = (log(Double(low) - 0.5), log(Double(high) + 0.5), nil)
        case .int(let low, _, let step, false):
            let count = domain.valueCount!
            (self.low, self.high, self.step) = (Double(low), Double(low + (count - 1) * step), Double(step))
        case .float(let low, let high, true, _):
            (self.low, self.high, step) = (log(low), log(high), nil)
        case .float(let low, _, _, .some(let step)):
            let count = domain.valueCount!
            (self.low, self.high, self.step) = (low, low + Double(count - 1) * step, step)
        case .float(let low, let high, false, nil):
            (self.low, self.high, step) = (low, high, nil)
        case .categorical:
            preconditionFailure("categorical parameters have no numeric transform")
        }
    }

    func toInternal(_ value: ParamValue) -> Double? {
        switch (domain, value) {
        case (.int(_, _, _, true), .int(let x)): log(Double(x))
        case (.int, .int(let x)): Double(x)
        case (.float(_, _, true, _), .double(let x)): log(x)
        case (.float, .double(let x)): x
        default: nil
        }
    }

    func fromInternal(_ x: Double) -> ParamValue {
        switch domain {
        case .int(let low, let high, _, let isLog):
            return .int(ParameterDomain.clampedInt((isLog ? exp(x) : x).rounded(), low: low, high: high))
        case .float(let low, let high, let isLog, let step):
            if let step {
                let index = Int(((x - low) / step).rounded())
                return domain.value(at: min(max(index, 0), domain.valueCount! - 1))
            }
            return .double(min(max(isLog ? exp(x) : x, low), high))
        case .categorical:
            preconditionFailure("categorical parameters have no numeric transform")
        }
    }
}
