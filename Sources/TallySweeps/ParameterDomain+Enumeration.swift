extension ParameterDomain {
    /// How many values the domain has, or nil for a float without a step (continuous).
    public var valueCount: Int? {
        switch self {
        case .categorical(let choices):
            return choices.count
        case .int(let low, let high, let step, _):
            let (span, overflow) = high.subtractingReportingOverflow(low)
            return overflow ? nil : span / step + 1
        case .float(let low, let high, _, let step):
            guard let step else { return nil }
            let steps = ((high - low) / step + 1e-9).rounded(.down)
            return steps < Double(Int.max - 1) ? Int(steps) + 1 : nil
        }
    }

    /// The `index`-th value in the domain's order (categorical: as listed; numeric: ascending).
    /// Defined for `0..<valueCount`.
    public func value(at index: Int) -> ParamValue {
        switch self {
        case .categorical(let choices):
            return choices[index]
        case .int(let low, _, let step, _):
            return .int(low + index * step)
        case .float(let low, _, _, let step):
            return .double(Self.floatGridValue(low: low, step: step ?? 0, index: index))
        }
    }

    /// `low + index * step`, rounded to a multiple of `step · 1e-12` so that
    /// 0.1-style steps give 0.3 rather than 0.30000000000000004.
    static func floatGridValue(low: Double, step: Double, index: Int) -> Double {
        let raw = low + Double(index) * step
        let scale = (1e12 / step).rounded()
        guard scale.isFinite, scale > 0, abs(raw * scale) < 9e15 else { return raw }
        return (raw * scale).rounded() / scale
    }
}
