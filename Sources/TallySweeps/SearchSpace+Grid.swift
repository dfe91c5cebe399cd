extension SearchSpace {
    /// The number of points of the grid over every searched parameter: the product of their
    /// value counts (1 for a space with no searched parameters).
    ///
    /// Throws `.continuousParameterInGrid` naming the first float without a step, and
    /// `.gridTooLarge` when the product overflows `Int`.
    public func totalCombinations() throws(SweepError) -> Int {
        var total = 1
        for parameter in parameters {
            guard let count = parameter.domain.valueCount else {
                if parameter.domain.isFinite {
                    throw SweepError(code: .gridTooLarge, message: "parameter '\(parameter.name)' has too many values for a grid")
                }
                throw SweepError(
                    code: .continuousParameterInGrid,
                    message: "parameter '\(parameter.name)' is a continuous float with no step; "
                        + "a grid needs a step (or use random or bayesian search)"
                )
            }
            let (product, overflow) = total.multipliedReportingOverflow(by: count)
            guard !overflow else {
                throw SweepError(code: .gridTooLarge, message: "the grid has more than \(Int.max) points")
            }
            total = product
        }
        return total
    }

    /// The grid point number `index` (in `0..<totalCombinations()`), with the fixed parameters:
    /// the first parameter varies slowest, the last fastest, like nested loops in declaration
    /// order. Only for a space whose `totalCombinations()` does not throw.
    public func gridPoint(at index: Int) -> Params {
        var remainder = index
        var params = Params()
        for parameter in parameters.reversed() {
            let count = parameter.domain.valueCount!
            params[parameter.name] = parameter.domain.value(at: remainder % count)
            remainder /= count
        }
        return withFixed(params)
    }
}
