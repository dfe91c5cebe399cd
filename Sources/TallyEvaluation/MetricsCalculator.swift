/// Computes a model's metrics from its item results.
///
/// Definitions, with `N` the number of results:
/// - **Errors** are wrong predictions with confidence 0: they count in `N`, lower accuracy and
///   recall, pull the average confidence down, and sit in the lowest calibration bin. In the
///   confusion matrix their predicted label is ``errorLabel`` (`"ERROR"`).
/// - **accuracy** = correct / `N`. **averageConfidence** = Σ confidence / `N`.
/// - **Latency**: mean, p50 and p95 over all `N` results (errors included: a timeout is latency
///   too). A percentile is the nearest rank: the value at position ⌈p/100 · N⌉ of the sorted list.
/// - **confusion** `[actual][predicted]` = count; only cells with a count above 0 are present.
/// - For each label `l` of the label set and each true label seen in the results:
///   support = results with actual `l`; TP = correct results with actual `l`;
///   predicted = results predicted `l`; precision = TP / predicted (0 when never predicted);
///   recall = TP / support (0 when the support is 0); F1 = 2·P·R / (P + R) (0 when P + R = 0).
/// - **macroF1** = the mean F1 over the labels with a support or a prediction (labels that never
///   occur are left out, as in scikit-learn). **weightedF1** = Σ F1·support / Σ support.
/// - **Calibration**: ten bins of width 0.1; a confidence `c` falls in bin ⌊10c⌋ (1.0 in the last
///   bin; values within 1e-9 below a boundary count as on it, absorbing floating-point error).
///   Per bin: count `n_b`, mean confidence `conf_b`, accuracy `acc_b` (both 0 when empty).
///   **ECE** = Σ_b |acc_b − conf_b| · n_b / `N`.
/// - With no results every number is 0 (never NaN), the matrix is empty, and the ten bins are empty.
public enum MetricsCalculator {
    /// The predicted label of a failed result in the confusion matrix.
    public static let errorLabel = "ERROR"
    /// The number of calibration bins.
    public static let binCount = 10

    /// Computes the metrics of `model` from `results`, with `labels` the label set.
    public static func compute(model: String, results: [ItemResult], labels: [LabelDefinition]) -> ModelMetrics {
        let total = results.count
        let errors = results.count(where: { $0.error != nil })
        let correct = results.count(where: \.isCorrect)
        let latencies = results.map(\.latencyMs).sorted()

        var confusion: [String: [String: Int]] = [:]
        var predictedCount: [String: Int] = [:]
        var support: [String: Int] = [:]
        var truePositives: [String: Int] = [:]
        for result in results {
            let predicted = result.error == nil ? (result.predicted ?? errorLabel) : errorLabel
            confusion[result.actual, default: [:]][predicted, default: 0] += 1
            support[result.actual, default: 0] += 1
            if predicted != errorLabel { predictedCount[predicted, default: 0] += 1 }
            if result.isCorrect { truePositives[result.actual, default: 0] += 1 }
        }

        var perLabel: [String: LabelMetrics] = [:]
        let labelIDs = Set(labels.map(\.id)).union(support.keys)
        for id in labelIDs {
            let tp = Double(truePositives[id] ?? 0)
            let predicted = predictedCount[id] ?? 0
            let labelSupport = support[id] ?? 0
            let precision = predicted > 0 ? tp / Double(predicted) : 0
            let recall = labelSupport > 0 ? tp / Double(labelSupport) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            perLabel[id] = LabelMetrics(precision: precision, recall: recall, f1: f1, support: labelSupport)
        }
        let occurring = perLabel.filter { $0.value.support > 0 || (predictedCount[$0.key] ?? 0) > 0 }
        let macroF1 = occurring.isEmpty ? 0 : occurring.values.map(\.f1).reduce(0, +) / Double(occurring.count)
        let weightedF1 = total > 0
            ? perLabel.values.map { $0.f1 * Double($0.support) }.reduce(0, +) / Double(total)
            : 0

        let reliability = calibrationBins(results)
        let ece = total > 0
            ? reliability.map { abs($0.accuracy - $0.meanConfidence) * Double($0.count) }.reduce(0, +) / Double(total)
            : 0

        return ModelMetrics(
            model: model,
            total: total,
            evaluated: total - errors,
            errors: errors,
            accuracy: ratio(Double(correct), total),
            averageConfidence: ratio(results.map(\.confidence).reduce(0, +), total),
            averageLatencyMs: ratio(latencies.reduce(0, +), total),
            p50LatencyMs: percentile(latencies, 50),
            p95LatencyMs: percentile(latencies, 95),
            confusion: confusion,
            perLabel: perLabel,
            macroF1: macroF1,
            weightedF1: weightedF1,
            expectedCalibrationError: ece,
            reliability: reliability
        )
    }

    /// The calibration bin of a confidence (see the type's documentation).
    public static func binIndex(of confidence: Double) -> Int {
        guard confidence.isFinite else { return 0 }
        let scaled = (confidence * Double(binCount) + 1e-9).rounded(.down)
        return min(binCount - 1, max(0, Int(scaled)))
    }

    /// The ten reliability bins of `results`.
    static func calibrationBins(_ results: [ItemResult]) -> [CalibrationBin] {
        var counts = [Int](repeating: 0, count: binCount)
        var confidenceSums = [Double](repeating: 0, count: binCount)
        var correct = [Int](repeating: 0, count: binCount)
        for result in results {
            let bin = binIndex(of: result.confidence)
            counts[bin] += 1
            confidenceSums[bin] += result.confidence
            if result.isCorrect { correct[bin] += 1 }
        }
        return (0..<binCount).map { bin in
            CalibrationBin(
                lower: Double(bin) / Double(binCount),
                upper: Double(bin + 1) / Double(binCount),
                count: counts[bin],
                meanConfidence: ratio(confidenceSums[bin], counts[bin]),
                accuracy: ratio(Double(correct[bin]), counts[bin])
            )
        }
    }

    /// The nearest-rank percentile of sorted `values`; 0 when empty.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    private static func ratio(_ numerator: Double, _ denominator: Int) -> Double {
        denominator > 0 ? numerator / Double(denominator) : 0
    }
}
