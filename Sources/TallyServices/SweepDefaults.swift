/// Defaults of a sweep's configuration that the daemon fills in (docs/sweeps.md).
enum SweepDefaults {
    /// Trials of a random or bayesian sweep given neither a count nor a time limit: scikit-learn's
    /// `RandomizedSearchCV(n_iter=10)` default.
    static let maxTrials: UInt32 = 10
}
