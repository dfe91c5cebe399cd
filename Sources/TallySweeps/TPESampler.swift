/// The bayesian sampler: an independent tree-structured Parzen estimator (TPE), as Optuna's
/// default `TPESampler`.
///
/// The first `startupTrials` trials are random (`methodUsed` `random`). After that, the
/// completed trials are split by objective into a good group (the best
/// `min(ceil(0.1 · n), 25)`) and a bad group (the rest, plus pruned and failed trials, plus the
/// pending trials with `constantLiar`). For each parameter independently, a Parzen estimator
/// l(x) is fitted to the good group's values and g(x) to the bad group's (see
/// ``ParzenEstimator``, ``CategoricalEstimator``), `candidates` values are drawn from l and the
/// one with the largest l(x)/g(x) is chosen (`tpe`). A failed trial (or one completed without a
/// finite value) counts as worse than every completed one: it joins the bad group, so a value
/// that keeps failing grows less likely instead of being proposed again and again. When fewer
/// than `startupTrials` (or 2) trials have completed, the trial is random and marked
/// `random-fallback`.
///
/// Trial number `k` uses a generator seeded by the seed and `k`, so a sweep is reproducible
/// for a given seed and the same history.
public struct TPESampler: TrialSampler {
    /// The space swept.
    public let space: SearchSpace
    /// Whether smaller or larger is better.
    public let objective: Objective
    /// The sweep's seed.
    public let seed: UInt64
    /// The settings.
    public let configuration: TPEConfiguration

    /// Creates a TPE sampler; throws `.invalidConfiguration` for settings out of range.
    public init(space: SearchSpace, objective: Objective, seed: UInt64, configuration: TPEConfiguration = .init()) throws(SweepError) {
        try configuration.validate()
        self.space = space
        self.objective = objective
        self.seed = seed
        self.configuration = configuration
    }

    public mutating func next(history: [CompletedTrial], pending: [Params]) -> SampledTrial? {
        let number = history.count + pending.count
        var random = SweepRandom(seed: seed, stream: UInt64(number))
        if number < configuration.startupTrials {
            return SampledTrial(params: space.randomPoint(using: &random), methodUsed: .random)
        }
        let completed = history.indices.filter { history[$0].completedValue != nil }
        let needed = max(configuration.startupTrials, 2)
        guard completed.count >= needed else {
            let failed = history.count { $0.state == .failed || ($0.state == .completed && $0.completedValue == nil) }
            let note = "TPE needs \(needed) completed trials, has \(completed.count) "
                + "(\(failed) failed, \(history.count { $0.state == .pruned }) pruned, \(pending.count) running)"
            return SampledTrial(params: space.randomPoint(using: &random), methodUsed: .randomFallback, note: note)
        }

        let ranked = completed.sorted { a, b in
            let (la, lb) = (objective.loss(history[a].completedValue!), objective.loss(history[b].completedValue!))
            return la != lb ? la < lb : a < b
        }
        let goodSet = Set(ranked.prefix(configuration.goodCount(of: completed.count)))
        let good = history.indices.filter { goodSet.contains($0) }.map { history[$0].params }
        var bad = history.indices.filter { index in
            let trial = history[index]
            return (trial.completedValue != nil && !goodSet.contains(index)) || trial.state == .pruned
                || trial.state == .failed || (trial.state == .completed && trial.completedValue == nil)
        }.map { history[$0].params }
        if configuration.constantLiar { bad += pending }

        var params = Params()
        for parameter in space.parameters {
            params[parameter.name] = sample(parameter.domain, named: parameter.name, good: good, bad: bad, using: &random)
        }
        return SampledTrial(params: space.withFixed(params), methodUsed: .tpe)
    }

    private func sample(
        _ domain: ParameterDomain, named name: String, good: [Params], bad: [Params], using random: inout SweepRandom
    ) -> ParamValue {
        if domain.valueCount == 1 { return domain.value(at: 0) }
        let prior = configuration.priorWeight
        if case .categorical(let choices) = domain {
            func estimator(_ group: [Params]) -> CategoricalEstimator {
                let observed = group.compactMap { $0[name].flatMap { choices.firstIndex(of: $0) } }
                return CategoricalEstimator(
                    observations: observed, observationWeights: TPEConfiguration.observationWeights(observed.count),
                    choiceCount: choices.count, priorWeight: prior)
            }
            let (l, g) = (estimator(good), estimator(bad))
            let best = bestCandidate(draw: { l.sample(using: &$0) }, score: { l.logPDF($0) - g.logPDF($0) }, using: &random)
            return choices[best]
        }
        let transform = NumericTransform(domain)
        func estimator(_ group: [Params]) -> ParzenEstimator {
            let observed = group.compactMap { $0[name].flatMap { domain.contains($0) ? transform.toInternal($0) : nil } }
            return ParzenEstimator(
                observations: observed, observationWeights: TPEConfiguration.observationWeights(observed.count),
                low: transform.low, high: transform.high, step: transform.step, priorWeight: prior)
        }
        let (l, g) = (estimator(good), estimator(bad))
        let best = bestCandidate(draw: { l.sample(using: &$0) }, score: { l.logPDF($0) - g.logPDF($0) }, using: &random)
        return transform.fromInternal(best)
    }

    /// Draws `candidates` values and returns the first with the highest score.
    private func bestCandidate<T>(
        draw: (inout SweepRandom) -> T, score: (T) -> Double, using random: inout SweepRandom
    ) -> T {
        var best = draw(&random)
        var bestScore = score(best)
        for _ in 1..<configuration.candidates {
            let candidate = draw(&random)
            let candidateScore = score(candidate)
            if candidateScore > bestScore || bestScore.isNaN {
                best = candidate
                bestScore = candidateScore
            }
        }
        return best
    }
}
