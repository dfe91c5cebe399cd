import Foundation

/// The Parzen estimator of a categorical parameter: smoothed counts. As in Optuna, every
/// observation is a kernel putting weight 1 on its choice plus `priorWeight / kernels` on every
/// choice (normalized), the prior kernel is uniform, and the kernels are mixed with the
/// observation weights and the prior weight.
struct CategoricalEstimator: Sendable {
    /// The probability of each choice.
    let probabilities: [Double]

    /// - Parameters:
    ///   - observations: indices of the observed choices, oldest first.
    ///   - observationWeights: one unnormalized weight per observation.
    init(observations: [Int], observationWeights: [Double], choiceCount: Int, priorWeight: Double) {
        let uniform = [Double](repeating: 1 / Double(choiceCount), count: choiceCount)
        guard !observations.isEmpty else {
            probabilities = uniform
            return
        }
        let kernels = Double(observations.count + 1)
        let smoothing = priorWeight / kernels
        let rowTotal = smoothing * Double(choiceCount) + 1
        let mixture = observationWeights + [priorWeight]
        let mixtureTotal = mixture.reduce(0, +)
        var probabilities = uniform.map { $0 * priorWeight / mixtureTotal }
        for (observation, weight) in zip(observations, observationWeights) {
            let w = weight / mixtureTotal
            for c in 0..<choiceCount {
                probabilities[c] += w * (smoothing + (c == observation ? 1 : 0)) / rowTotal
            }
        }
        self.probabilities = probabilities
    }

    /// A choice index drawn from the estimator.
    func sample(using random: inout SweepRandom) -> Int {
        random.index(weightedBy: probabilities)
    }

    /// The log probability of choice `index`.
    func logPDF(_ index: Int) -> Double {
        log(probabilities[index])
    }
}
