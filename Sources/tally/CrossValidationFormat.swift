import TallyAPI
import TallyProto

/// How the CLI shows a cross-validation's results.
enum CrossValidationFormat {
    /// A line of figures, then a table with a row per metric.
    static func lines(_ r: CrossValidationResults) -> [String] {
        let folds = Set(r.folds.filter { $0.status == .completed }.compactMap { fold -> Int64? in
            if case .intValue(let value)? = fold.params["fold"]?.kind { value } else { nil }
        }).count
        var lines = ["cross-validation: \(folds) folds completed; mean fit time \(seconds(r.meanFitTime)), mean score time "
            + "\(seconds(r.meanScoreTime)); took \(Format.duration(ms: r.durationMs)); parent run \(r.parentRunId)"]
        guard !r.metrics.isEmpty else { return lines }
        var table = Table(["METRIC", "MEAN", "STD", "MEDIAN", "MIN", "MAX", "95% CI", "99% CI", "TRAIN MEAN", "FOLDS"],
                          numeric: ["MEAN", "STD", "MEDIAN", "MIN", "MAX", "TRAIN MEAN"])
        for metric in r.metrics {
            let s = metric.testSummary ?? CrossValidationResult()
            let ci95 = s.hasInterval ? "[\(Format.number(s.ci95Lower)), \(Format.number(s.ci95Upper))]" : "-"
            let ci99 = s.hasInterval ? "[\(Format.number(s.ci99Lower)), \(Format.number(s.ci99Upper))]" : "-"
            table.add([metric.metric, Format.number(s.mean), Format.number(s.std), Format.number(s.median),
                       Format.number(s.min), Format.number(s.max), ci95, ci99,
                       metric.trainSummary.map { Format.number($0.mean) } ?? "-",
                       metric.test.map(Format.number).joined(separator: " ")])
        }
        lines += table.render().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return lines
    }

    static func seconds(_ value: Double) -> String {
        Format.duration(ms: Int64((value * 1000).rounded()))
    }
}
