import Testing
import TallyEvaluation

@Suite("MetricsCalculator")
struct MetricsCalculatorTests {
    static func result(
        _ id: String, actual: String, predicted: String?, confidence: Double, latency: Double = 100
    ) -> ItemResult {
        ItemResult(
            itemID: id, excerpt: id, actual: actual, predicted: predicted, confidence: predicted == nil ? 0 : confidence,
            latencyMs: latency, error: predicted == nil ? "timeout: no reply" : nil)
    }

    /// Eight results over three labels, one of them an error:
    ///
    /// | # | actual   | predicted | conf | latency |
    /// |---|----------|-----------|------|---------|
    /// | 1 | sports   | sports    | 0.9  | 100     |
    /// | 2 | sports   | sports    | 0.8  | 200     |
    /// | 3 | sports   | politics  | 0.6  | 300     |
    /// | 4 | politics | politics  | 0.7  | 400     |
    /// | 5 | politics | sports    | 0.9  | 500     |
    /// | 6 | tech     | tech      | 0.95 | 600     |
    /// | 7 | tech     | ERROR     | 0    | 700     |
    /// | 8 | sports   | tech      | 0.55 | 800     |
    static let mixed: [ItemResult] = [
        result("1", actual: "sports", predicted: "sports", confidence: 0.9, latency: 100),
        result("2", actual: "sports", predicted: "sports", confidence: 0.8, latency: 200),
        result("3", actual: "sports", predicted: "politics", confidence: 0.6, latency: 300),
        result("4", actual: "politics", predicted: "politics", confidence: 0.7, latency: 400),
        result("5", actual: "politics", predicted: "sports", confidence: 0.9, latency: 500),
        result("6", actual: "tech", predicted: "tech", confidence: 0.95, latency: 600),
        result("7", actual: "tech", predicted: nil, confidence: 0, latency: 700),
        result("8", actual: "sports", predicted: "tech", confidence: 0.55, latency: 800),
    ]

    @Test("counts, accuracy, confidence and latency of a hand-computed example")
    func basics() {
        let m = MetricsCalculator.compute(model: "m", results: Self.mixed, labels: testLabels)
        #expect(m.model == "m")
        #expect(m.total == 8)
        #expect(m.evaluated == 7)
        #expect(m.errors == 1)
        // correct: #1, #2, #4, #6 → 4 / 8
        #expect(m.accuracy == 0.5)
        // (0.9 + 0.8 + 0.6 + 0.7 + 0.9 + 0.95 + 0 + 0.55) / 8 = 5.4 / 8
        #expect(abs(m.averageConfidence - 0.675) < 1e-12)
        // (100 + … + 800) / 8 = 3600 / 8
        #expect(m.averageLatencyMs == 450)
        // nearest rank: p50 → ⌈0.5·8⌉ = 4th = 400; p95 → ⌈0.95·8⌉ = ⌈7.6⌉ = 8th = 800
        #expect(m.p50LatencyMs == 400)
        #expect(m.p95LatencyMs == 800)
    }

    @Test("confusion matrix, per-label precision/recall/F1 and macro/weighted F1")
    func classification() throws {
        let m = MetricsCalculator.compute(model: "m", results: Self.mixed, labels: testLabels)
        #expect(m.confusion == [
            "sports": ["sports": 2, "politics": 1, "tech": 1],
            "politics": ["politics": 1, "sports": 1],
            "tech": ["tech": 1, "ERROR": 1],
        ])
        // sports: TP 2 (#1, #2), predicted 3 (#1, #2, #5), support 4 (#1, #2, #3, #8)
        //   P = 2/3, R = 2/4, F1 = 2·(2/3)·(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
        let sports = try #require(m.perLabel["sports"])
        #expect(abs(sports.precision - 2.0 / 3.0) < 1e-12)
        #expect(sports.recall == 0.5)
        #expect(abs(sports.f1 - 4.0 / 7.0) < 1e-12)
        #expect(sports.support == 4)
        // politics: TP 1 (#4), predicted 2 (#3, #4), support 2 (#4, #5) → P = R = F1 = 1/2
        #expect(m.perLabel["politics"] == LabelMetrics(precision: 0.5, recall: 0.5, f1: 0.5, support: 2))
        // tech: TP 1 (#6), predicted 2 (#6, #8), support 2 (#6, #7; the error counts) → 1/2 each
        #expect(m.perLabel["tech"] == LabelMetrics(precision: 0.5, recall: 0.5, f1: 0.5, support: 2))
        // macro = (4/7 + 1/2 + 1/2) / 3 = (11/7) / 3 = 11/21
        #expect(abs(m.macroF1 - 11.0 / 21.0) < 1e-12)
        // weighted = (4/7·4 + 1/2·2 + 1/2·2) / 8 = (16/7 + 2) / 8 = (30/7) / 8 = 15/28
        #expect(abs(m.weightedF1 - 15.0 / 28.0) < 1e-12)
    }

    @Test("reliability bins and expected calibration error")
    func calibration() {
        let m = MetricsCalculator.compute(model: "m", results: Self.mixed, labels: testLabels)
        #expect(m.reliability.count == 10)
        #expect(m.reliability.map(\.count) == [1, 0, 0, 0, 0, 1, 1, 1, 1, 3])
        #expect(m.reliability[3].lower == 0.3 && m.reliability[3].upper == 0.4)
        // bin 9: #1 (0.9, right), #5 (0.9, wrong), #6 (0.95, right) → conf 2.75/3, acc 2/3
        #expect(abs(m.reliability[9].meanConfidence - 2.75 / 3) < 1e-12)
        #expect(abs(m.reliability[9].accuracy - 2.0 / 3) < 1e-12)
        // the error sits in bin 0 with confidence 0 and accuracy 0
        #expect(m.reliability[0].meanConfidence == 0 && m.reliability[0].accuracy == 0)
        // ECE = Σ |acc − conf| · n / N
        //     = (bin0 |0−0|·1 + bin5 |0−0.55|·1 + bin6 |0−0.6|·1 + bin7 |1−0.7|·1 + bin8 |1−0.8|·1
        //        + bin9 |2/3 − 2.75/3|·3) / 8
        //     = (0 + 0.55 + 0.6 + 0.3 + 0.2 + 0.75) / 8 = 2.4 / 8 = 0.3
        #expect(abs(m.expectedCalibrationError - 0.3) < 1e-12)
    }

    @Test("an overconfident model has a large ECE, a calibrated one a small ECE")
    func overconfidence() {
        // Overconfident: ten answers at 0.95, two right → one bin, |0.2 − 0.95| · 10 / 10 = 0.75.
        let overconfident = (0..<10).map { i in
            Self.result("\(i)", actual: "sports", predicted: i < 2 ? "sports" : "politics", confidence: 0.95)
        }
        let bad = MetricsCalculator.compute(model: "over", results: overconfident, labels: testLabels)
        #expect(bad.accuracy == 0.2)
        #expect(abs(bad.expectedCalibrationError - 0.75) < 1e-12)
        // Calibrated: ten answers at 0.8, eight right → |0.8 − 0.8| = 0.
        let calibrated = (0..<10).map { i in
            Self.result("\(i)", actual: "sports", predicted: i < 8 ? "sports" : "politics", confidence: 0.8)
        }
        let good = MetricsCalculator.compute(model: "cal", results: calibrated, labels: testLabels)
        #expect(good.accuracy == 0.8)
        #expect(good.expectedCalibrationError < 1e-12)
        #expect(bad.expectedCalibrationError > good.expectedCalibrationError + 0.5)
    }

    @Test("empty results give zeros, never NaN")
    func empty() {
        let m = MetricsCalculator.compute(model: "m", results: [], labels: testLabels)
        #expect(m.total == 0 && m.evaluated == 0 && m.errors == 0)
        let numbers = [
            m.accuracy, m.averageConfidence, m.averageLatencyMs, m.p50LatencyMs, m.p95LatencyMs, m.macroF1,
            m.weightedF1, m.expectedCalibrationError,
        ]
        #expect(numbers.allSatisfy { $0 == 0 })
        #expect(m.confusion.isEmpty)
        #expect(m.perLabel.count == 3)
        #expect(m.perLabel.values.allSatisfy { $0 == LabelMetrics(precision: 0, recall: 0, f1: 0, support: 0) })
        #expect(m.reliability.count == 10)
        #expect(m.reliability.allSatisfy { $0.count == 0 && $0.meanConfidence == 0 && $0.accuracy == 0 })
    }

    @Test("all errors: accuracy 0, every result predicted ERROR, ECE 0")
    func allErrors() {
        let results = [
            Self.result("a", actual: "sports", predicted: nil, confidence: 0, latency: 30),
            Self.result("b", actual: "sports", predicted: nil, confidence: 0, latency: 10),
            Self.result("c", actual: "politics", predicted: nil, confidence: 0, latency: 20),
        ]
        let m = MetricsCalculator.compute(model: "m", results: results, labels: testLabels)
        #expect(m.total == 3 && m.evaluated == 0 && m.errors == 3)
        #expect(m.accuracy == 0 && m.averageConfidence == 0)
        #expect(m.confusion == ["sports": ["ERROR": 2], "politics": ["ERROR": 1]])
        #expect(m.perLabel["sports"] == LabelMetrics(precision: 0, recall: 0, f1: 0, support: 2))
        #expect(m.macroF1 == 0 && m.weightedF1 == 0)
        // all three in bin 0 with confidence 0 and accuracy 0 → ECE 0
        #expect(m.reliability[0].count == 3)
        #expect(m.expectedCalibrationError == 0)
        // latencies 10, 20, 30: mean 20, p50 ⌈1.5⌉ = 2nd = 20, p95 ⌈2.85⌉ = 3rd = 30
        #expect(m.averageLatencyMs == 20 && m.p50LatencyMs == 20 && m.p95LatencyMs == 30)
    }

    @Test(
        "confidence bins: boundaries go up, 1.0 goes to the last bin",
        arguments: [
            (0.0, 0), (0.05, 0), (0.1, 1), (0.29999, 2), (0.3, 3), (0.7, 7), (0.9, 9), (0.99, 9), (1.0, 9),
        ] as [(Double, Int)])
    func bins(confidence: Double, bin: Int) {
        #expect(MetricsCalculator.binIndex(of: confidence) == bin)
    }

    @Test("a label never seen is in perLabel with zeros and left out of the macro F1")
    func unseenLabel() throws {
        let results = [Self.result("1", actual: "sports", predicted: "sports", confidence: 1)]
        let m = MetricsCalculator.compute(model: "m", results: results, labels: testLabels)
        #expect(m.perLabel["tech"] == LabelMetrics(precision: 0, recall: 0, f1: 0, support: 0))
        #expect(m.macroF1 == 1)
        #expect(m.weightedF1 == 1)
        #expect(m.expectedCalibrationError == 0)
    }
}
