import Testing
@testable import TallySweeps

@Suite("Student's t and cross-validation statistics")
struct StatisticsTests {
    @Test(
        "t quantiles match the table",
        arguments: [
            (0.975, 1.0, 12.706205), (0.975, 2, 4.302653), (0.975, 4, 2.776445), (0.975, 9, 2.262157),
            (0.995, 9, 3.249836), (0.975, 29, 2.045230), (0.975, 100, 1.983972),
            (0.995, 4, 4.604095), (0.95, 1, 6.313752), (0.995, 1, 63.656741), (0.9, 5, 1.475884),
        ]
    )
    func quantiles(p: Double, nu: Double, expected: Double) {
        let t = StudentT.quantile(p, degreesOfFreedom: nu)
        #expect(abs(t - expected) < 1e-5, "t(\(p), \(nu)) = \(t)")
        #expect(abs(StudentT.quantile(1 - p, degreesOfFreedom: nu) + expected) < 1e-5)
        #expect(abs(StudentT.cdf(t, degreesOfFreedom: nu) - p) < 1e-12)
    }

    @Test("the t quantile tends to the normal one for large degrees of freedom")
    func normalLimit() {
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 1e7) - 1.959964) < 1e-5)
        #expect(StudentT.quantile(0.5, degreesOfFreedom: 3) == 0)
        #expect(abs(StudentT.cdf(1, degreesOfFreedom: 1) - 0.75) < 1e-12)  // Cauchy
    }

    @Test("a hand-computed 5-fold example")
    func example() throws {
        let summary = try CrossValidationSummary(
            scores: [0.80, 0.85, 0.90, 0.75, 0.70], fitTimes: [1, 2, 3, 4, 5], scoreTimes: [0.1, 0.1, 0.2, 0.2, 0.4])
        #expect(summary.count == 5)
        #expect(abs(summary.mean - 0.80) < 1e-12)
        #expect(summary.median == 0.80)
        #expect(summary.min == 0.70 && summary.max == 0.90)
        // s² = (0 + .0025 + .01 + .0025 + .01) / 4 = .00625
        let s = try #require(summary.standardDeviation)
        #expect(abs(s - 0.0790569415) < 1e-9)
        // s/√5 = 0.0353553391; × t(0.975, 4) = 2.7764451 → 0.0981621581; × t(0.995, 4) = 4.6040949 → 0.1627793352
        let ci95 = try #require(summary.confidenceInterval95)
        #expect(abs(ci95.lower - (0.80 - 0.0981621581)) < 1e-8)
        #expect(abs(ci95.upper - (0.80 + 0.0981621581)) < 1e-8)
        #expect(ci95.level == 0.95)
        let ci99 = try #require(summary.confidenceInterval99)
        #expect(abs(ci99.halfWidth - 0.1627793352) < 1e-8)
        #expect(summary.meanFitTime == 3)
        #expect(abs(summary.meanScoreTime! - 0.2) < 1e-12)
        // Not the normal approximation (1.96 · 0.0353553 = 0.0692965).
        #expect(ci95.halfWidth > 0.09)
    }

    @Test("even counts take the middle two for the median")
    func evenMedian() throws {
        let summary = try CrossValidationSummary(scores: [4, 1, 3, 2])
        #expect(summary.median == 2.5)
        #expect(summary.meanFitTime == nil)
    }

    @Test("one fold: no deviation, no intervals")
    func single() throws {
        let summary = try CrossValidationSummary(scores: [0.9])
        #expect(summary.mean == 0.9 && summary.median == 0.9)
        #expect(summary.standardDeviation == nil)
        #expect(summary.confidenceInterval95 == nil && summary.confidenceInterval99 == nil)
        #expect(summary.confidenceInterval(level: 0.9) == nil)
    }

    @Test("empty scores, non-finite values and mismatched times are errors")
    func errors() {
        #expect { try CrossValidationSummary(scores: []) } throws: { ($0 as? SweepError)?.code == .emptyInput }
        #expect { try CrossValidationSummary(scores: [1, .nan]) } throws: { ($0 as? SweepError)?.code == .invalidInput }
        #expect { try CrossValidationSummary(scores: [1, 2], fitTimes: [1]) } throws: { ($0 as? SweepError)?.code == .invalidInput }
    }
}
