/// Settings of the bayesian (TPE) sampler; the defaults are Optuna's.
public struct TPEConfiguration: Sendable, Hashable {
    /// Trials sampled at random before TPE takes over; TPE also needs this many completed
    /// trials (and at least 2) to run, else the trial is a `random-fallback`.
    public var startupTrials: Int
    /// Candidates drawn from l(x) per parameter; the one maximizing l(x)/g(x) is chosen.
    public var candidates: Int
    /// The weight of each estimator's prior kernel, relative to an observation's.
    public var priorWeight: Double
    /// The good group's share of the completed trials: `min(ceil(gammaFraction · n), gammaCap)`.
    public var gammaFraction: Double
    /// The largest good group.
    public var gammaCap: Int
    /// Whether pending (running) trials count as bad observations, so concurrent workers are not
    /// all sent to the same region ("constant liar" with the worst value). Without it they are
    /// ignored, as in Optuna's default.
    public var constantLiar: Bool

    /// Creates a configuration.
    public init(
        startupTrials: Int = 10,
        candidates: Int = 24,
        priorWeight: Double = 1.0,
        gammaFraction: Double = 0.1,
        gammaCap: Int = 25,
        constantLiar: Bool = true
    ) {
        self.startupTrials = startupTrials
        self.candidates = candidates
        self.priorWeight = priorWeight
        self.gammaFraction = gammaFraction
        self.gammaCap = gammaCap
        self.constantLiar = constantLiar
    }

    /// The size of the good group among `n` completed trials (at least 1, at most n − 1 for n ≥ 2).
    public func goodCount(of n: Int) -> Int {
        let count = Int((gammaFraction * Double(n)).rounded(.up))
        return max(1, min(count, gammaCap, n - 1))
    }

    /// Optuna's observation weights for a group of `n` trials, oldest first: all 1 below 25;
    /// from 25 on, the oldest `n − 25` ramp linearly from `1/n` to 1 and the newest 25 weigh 1.
    public static func observationWeights(_ n: Int) -> [Double] {
        guard n >= 25 else { return [Double](repeating: 1, count: n) }
        let rampCount = n - 25
        let ramp: [Double] = (0..<rampCount).map { i in
            rampCount == 1 ? 1 / Double(n) : 1 / Double(n) + Double(i) * (1 - 1 / Double(n)) / Double(rampCount - 1)
        }
        return ramp + [Double](repeating: 1, count: 25)
    }

    func validate() throws(SweepError) {
        func fail(_ message: String) -> SweepError { SweepError(code: .invalidConfiguration, message: message) }
        guard startupTrials >= 0 else { throw fail("startupTrials must be >= 0, got \(startupTrials)") }
        guard candidates >= 1 else { throw fail("candidates must be >= 1, got \(candidates)") }
        guard priorWeight > 0, priorWeight.isFinite else { throw fail("priorWeight must be positive, got \(priorWeight)") }
        guard gammaFraction > 0, gammaFraction <= 1 else { throw fail("gammaFraction must be in (0, 1], got \(gammaFraction)") }
        guard gammaCap >= 1 else { throw fail("gammaCap must be >= 1, got \(gammaCap)") }
    }
}
