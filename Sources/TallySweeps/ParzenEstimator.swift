import Foundation

/// A one-dimensional Parzen estimator for a numeric parameter, in the sampler's internal space
/// (the log of the value for log scales): a mixture of Gaussians truncated to the domain, one
/// kernel per observation plus a prior kernel, as in Optuna's `_ParzenEstimator` with its
/// defaults (`consider_prior`, `consider_magic_clip`, not `consider_endpoints`).
///
/// Bandwidths adapt to the data: each observation's sigma is the larger distance to its
/// neighbours among the sorted observations (and the prior's mean), bounded by the domain's
/// ends, clipped to `[range / min(100, 1 + kernels), range]` (the "magic clip"). The prior
/// kernel sits at the centre of the domain with sigma = range.
///
/// Stepped domains (ints, floats with a step) are discrete: the truncation bounds are widened
/// by half a step, draws are rounded to the step grid, and the density of a point is the mass
/// of its half-step cell.
struct ParzenEstimator: Sendable {
    let weights: [Double]
    let mus: [Double]
    let sigmas: [Double]
    /// log of each kernel's mass inside the truncation bounds.
    let logNormalizers: [Double]
    /// Truncation bounds (widened by half a step for discrete domains).
    let low: Double
    let high: Double
    /// The step grid for discrete domains: `gridLow + k * step` up to `gridHigh`.
    let step: Double?
    let gridLow: Double
    let gridHigh: Double

    /// - Parameters:
    ///   - observations: the observed values, in the internal space, oldest first.
    ///   - observationWeights: one unnormalized weight per observation.
    ///   - low, high: the domain's bounds in the internal space (the grid's ends when stepped).
    ///   - step: the grid step, for discrete domains.
    ///   - priorWeight: the prior kernel's weight relative to an observation's.
    init(observations: [Double], observationWeights: [Double], low: Double, high: Double, step: Double?, priorWeight: Double) {
        self.step = step
        gridLow = low
        gridHigh = high
        let half = (step ?? 0) / 2
        self.low = low - half
        self.high = high + half
        let low = self.low
        let high = self.high
        let range = high - low
        let priorMu = 0.5 * (low + high)

        let all = observations + [priorMu]
        let order = all.indices.sorted { (all[$0], $0) < (all[$1], $1) }
        var withEnds: [Double] = [low]
        withEnds.append(contentsOf: order.map { all[$0] })
        withEnds.append(high)
        var sortedSigmas: [Double] = (0..<all.count).map { (i: Int) -> Double in
            let left: Double = withEnds[i + 1] - withEnds[i]
            let right: Double = withEnds[i + 2] - withEnds[i + 1]
            return max(left, right)
        }
        if withEnds.count >= 4 {
            sortedSigmas[0] = withEnds[2] - withEnds[1]
            sortedSigmas[sortedSigmas.count - 1] = withEnds[withEnds.count - 2] - withEnds[withEnds.count - 3]
        }
        var sigmas = [Double](repeating: 0, count: all.count)
        for (sortedPosition, index) in order.enumerated() { sigmas[index] = sortedSigmas[sortedPosition] }
        let kernels = Double(observations.count + 1)
        let minSigma = range / min(100, 1 + kernels)
        sigmas = sigmas.prefix(observations.count).map { min(max($0, minSigma), range) }

        mus = observations + [priorMu]
        self.sigmas = sigmas + [range]
        logNormalizers = zip(mus, self.sigmas).map { mu, sigma in
            Gaussian.logMass((low - mu) / sigma, (high - mu) / sigma)
        }
        let raw = observations.isEmpty ? [1.0] : observationWeights + [priorWeight]
        let total = raw.reduce(0, +)
        weights = raw.map { $0 / total }
    }

    /// A draw from the mixture, in the internal space (on the grid for discrete domains).
    func sample(using random: inout SweepRandom) -> Double {
        let k = random.index(weightedBy: weights)
        let mu = mus[k]
        let sigma = sigmas[k]
        let z = Gaussian.truncatedSample((low - mu) / sigma, (high - mu) / sigma, u: random.unit())
        let x = mu + sigma * z
        guard let step else { return min(max(x, low), high) }
        let k2 = ((x - gridLow) / step).rounded()
        return min(max(gridLow + k2 * step, gridLow), gridHigh)
    }

    /// The log density (log mass of the point's cell, for discrete domains) at `x`.
    func logPDF(_ x: Double) -> Double {
        var terms = [Double]()
        terms.reserveCapacity(mus.count)
        for k in mus.indices {
            let mu = mus[k]
            let sigma = sigmas[k]
            let logNormalizer = logNormalizers[k]
            let logDensity: Double
            if let step {
                logDensity = Gaussian.logMass((x - step / 2 - mu) / sigma, (x + step / 2 - mu) / sigma)
            } else {
                logDensity = Gaussian.logPDF((x - mu) / sigma) - log(sigma)
            }
            terms.append(log(weights[k]) + logDensity - logNormalizer)
        }
        return Gaussian.logSumExp(terms)
    }
}
