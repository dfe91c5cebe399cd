import TallySweeps

/// A benchmark objective: a search space, a function to minimize, and its known minimum.
struct TestFunction: Sendable {
    var name: String
    var space: SearchSpace
    var budget: Int
    var knownOptimum: Double
    /// The value observed by the sampler for `params` in trial `trial` of run `seed` (with noise
    /// for noisy functions).
    var observe: @Sendable (Params, _ seed: UInt64, _ trial: Int) -> Double
    /// The noise-free value, used to score the incumbent.
    var trueValue: @Sendable (Params) -> Double
}
