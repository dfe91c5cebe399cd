import Foundation

/// Statistics of per-fold cross-validation scores.
///
/// The standard deviation is the sample one (divisor n − 1); the confidence intervals of the
/// mean use Student's t with n − 1 degrees of freedom: `mean ± t(1 − α/2, n − 1) · s / √n`.
/// With a single fold the standard deviation and the intervals are undefined and nil.
public struct CrossValidationSummary: Sendable, Hashable {
    /// The scores, in fold order.
    public let scores: [Double]
    /// The number of folds.
    public var count: Int { scores.count }
    /// The mean score.
    public let mean: Double
    /// The sample standard deviation; nil for one fold.
    public let standardDeviation: Double?
    /// The median score (the mean of the middle two for an even count).
    public let median: Double
    /// The lowest score.
    public let min: Double
    /// The highest score.
    public let max: Double
    /// The 95% confidence interval of the mean; nil for one fold.
    public let confidenceInterval95: ConfidenceInterval?
    /// The 99% confidence interval of the mean; nil for one fold.
    public let confidenceInterval99: ConfidenceInterval?
    /// The mean fit time, when fit times were given.
    public let meanFitTime: Double?
    /// The mean score time, when score times were given.
    public let meanScoreTime: Double?

    /// Summarizes `scores`; fit and score times, when given, must have one value per fold.
    ///
    /// Throws `.emptyInput` for no scores and `.invalidInput` for a value that is not finite or
    /// times of another length than the scores.
    public init(scores: [Double], fitTimes: [Double]? = nil, scoreTimes: [Double]? = nil) throws(SweepError) {
        guard !scores.isEmpty else {
            throw SweepError(code: .emptyInput, message: "no fold scores to summarize")
        }
        try Self.check(scores, "scores", count: scores.count)
        if let fitTimes { try Self.check(fitTimes, "fit times", count: scores.count) }
        if let scoreTimes { try Self.check(scoreTimes, "score times", count: scores.count) }

        let n = Double(scores.count)
        let mean = scores.reduce(0, +) / n
        let sorted = scores.sorted()
        self.scores = scores
        self.mean = mean
        self.min = sorted.first!
        self.max = sorted.last!
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        meanFitTime = fitTimes.map { $0.reduce(0, +) / n }
        meanScoreTime = scoreTimes.map { $0.reduce(0, +) / n }
        if scores.count > 1 {
            let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            let deviation = variance.squareRoot()
            standardDeviation = deviation
            confidenceInterval95 = Self.interval(mean: mean, deviation: deviation, count: scores.count, level: 0.95)
            confidenceInterval99 = Self.interval(mean: mean, deviation: deviation, count: scores.count, level: 0.99)
        } else {
            standardDeviation = nil
            confidenceInterval95 = nil
            confidenceInterval99 = nil
        }
    }

    /// The confidence interval of the mean at `level` (in (0, 1)); nil for one fold.
    public func confidenceInterval(level: Double) -> ConfidenceInterval? {
        guard let standardDeviation, level > 0, level < 1 else { return nil }
        return Self.interval(mean: mean, deviation: standardDeviation, count: count, level: level)
    }

    static func interval(mean: Double, deviation: Double, count: Int, level: Double) -> ConfidenceInterval {
        let t = StudentT.quantile(1 - (1 - level) / 2, degreesOfFreedom: Double(count - 1))
        let half = t * deviation / Double(count).squareRoot()
        return ConfidenceInterval(level: level, lower: mean - half, upper: mean + half)
    }

    private static func check(_ values: [Double], _ name: String, count: Int) throws(SweepError) {
        guard values.count == count else {
            throw SweepError(code: .invalidInput, message: "\(values.count) \(name) for \(count) folds")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw SweepError(code: .invalidInput, message: "\(name)[\(bad)] is \(values[bad]), not a finite number")
        }
    }
}
