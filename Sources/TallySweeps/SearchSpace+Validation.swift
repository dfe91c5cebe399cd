extension SearchSpace {
    static func validate(_ parameters: [ParameterSpec], fixed: Params) throws(SweepError) {
        var seen = Set<String>()
        for parameter in parameters {
            let name = parameter.name
            func fail(_ message: String) -> SweepError {
                SweepError(code: .invalidSearchSpace, message: "parameter '\(name)': \(message)")
            }
            guard !name.isEmpty else {
                throw SweepError(code: .invalidSearchSpace, message: "a parameter has an empty name")
            }
            guard seen.insert(name).inserted else { throw fail("defined twice") }
            guard fixed[name] == nil else { throw fail("is both searched and fixed") }
            switch parameter.domain {
            case .categorical(let choices):
                guard !choices.isEmpty else { throw fail("categorical with no values") }
                guard Set(choices).count == choices.count else { throw fail("categorical with a repeated value") }
                for case .double(let value) in choices where !value.isFinite {
                    throw fail("categorical value \(value) is not finite")
                }
            case .int(let low, let high, let step, let log):
                guard low <= high else { throw fail("low \(low) > high \(high)") }
                guard step > 0 else { throw fail("step \(step) is not positive") }
                let (span, overflow) = high.subtractingReportingOverflow(low)
                guard !overflow else { throw fail("range too wide") }
                // The number of values, span / step + 1, must be an Int too.
                guard !(span / step).addingReportingOverflow(1).overflow else { throw fail("range too wide for step \(step)") }
                if log {
                    guard low > 0 else { throw fail("log scale needs low > 0, got \(low)") }
                    guard step == 1 else { throw fail("log scale needs step 1, got \(step)") }
                }
            case .float(let low, let high, let log, let step):
                guard low.isFinite, high.isFinite else { throw fail("bounds must be finite") }
                guard low <= high else { throw fail("low \(low) > high \(high)") }
                if log {
                    guard low > 0 else { throw fail("log scale needs low > 0, got \(low)") }
                    guard step == nil else { throw fail("log scale and step cannot be combined") }
                }
                if let step {
                    guard step.isFinite, step > 0 else { throw fail("step \(step) is not positive") }
                    guard (high - low) / step < 0x1p52 else { throw fail("step \(step) too small for the range") }
                }
            }
        }
    }
}
