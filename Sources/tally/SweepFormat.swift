import Foundation
import TallyAPI
import TallyProto

/// How sweeps, trials and their results are shown and passed to trial commands.
enum SweepFormat {
    /// A param value as a trial command receives it: full precision (`0.001`, `1e-05`), bools as
    /// true/false, strings as they are.
    static func argument(_ value: ParamValue) -> String {
        switch value.kind {
        case .stringValue(let s)?: s
        case .intValue(let i)?: String(i)
        case .doubleValue(let d)?: "\(d)"
        case .boolValue(let b)?: b ? "true" : "false"
        case nil: ""
        }
    }

    /// `--name=value` arguments, sorted by name.
    static func arguments(_ params: [String: ParamValue]) -> [String] {
        params.sorted { $0.key < $1.key }.map { "--\($0.key)=\(argument($0.value))" }
    }

    /// The params as one JSON object (`TALLY_PARAMS`).
    static func json(_ params: [String: ParamValue]) -> String {
        var members: [String: JSONValue] = [:]
        for (name, value) in params {
            members[name] =
                switch value.kind {
                case .stringValue(let s)?: .string(s)
                case .intValue(let i)?: .integer(i)
                case .doubleValue(let d)?: .double(d)
                case .boolValue(let b)?: .bool(b)
                case nil: .null
                }
        }
        return JSONValue.object(members).serialized(pretty: false)
    }

    /// "lr=0.001 layers=3", sorted by name, values compact.
    static func params(_ params: [String: ParamValue]) -> String {
        params.sorted { $0.key < $1.key }.map { "\($0.key)=\(Format.param($0.value))" }.joined(separator: " ")
    }

    static func status(_ status: TrialStatus) -> String {
        switch status {
        case .running: "running"
        case .completed: "completed"
        case .failed: "failed"
        case .pruned: "pruned"
        case .killed: "killed"
        default: "unknown"
        }
    }

    static func method(_ method: SweepMethod) -> String {
        switch method {
        case .random: "random"
        case .bayesian: "bayesian"
        default: "grid"
        }
    }

    static func parseMethod(_ text: String) -> SweepMethod? {
        switch text.lowercased() {
        case "grid": .grid
        case "random": .random
        case "bayesian", "tpe": .bayesian
        default: nil
        }
    }

    static func direction(_ direction: ObjectiveDirection) -> String {
        direction == .maximize ? "maximize" : "minimize"
    }

    /// "bayesian, minimize loss, 30 trials, 3 in parallel"
    static func summary(_ c: SweepConfig) -> String {
        var parts = [method(c.method), "\(direction(c.objective?.direction ?? .minimize)) \(metric(c))"]
        if c.maxTrials > 0 {
            parts.append("\(c.maxTrials) trials")
        } else if c.totalCombinations > 0 {
            parts.append("\(c.totalCombinations) trials")
        }
        if c.timeLimitMs > 0 { parts.append("time limit \(Format.duration(ms: Int64(clamping: c.timeLimitMs)))") }
        parts.append("\(max(1, c.maxParallel)) in parallel")
        return parts.joined(separator: ", ")
    }

    static func metric(_ c: SweepConfig) -> String {
        let name = c.objective?.metric ?? ""
        return name.isEmpty ? "score" : name
    }

    /// A search-space entry as `tally sweeps create --param` takes it.
    static func space(_ p: SweepParam) -> String {
        switch p.kind {
        case .categorical(let c)?:
            return "choice:" + c.values.map(Format.param).joined(separator: ",")
        case .intRange(let r)?:
            var text = "int:\(r.low):\(r.high)"
            if r.log { text += ":log" } else if r.step > 1 { text += ":\(r.step)" }
            return text
        case .floatRange(let r)?:
            var text = "float:\(Format.number(r.low)):\(Format.number(r.high))"
            if r.log { text += ":log" } else if r.step > 0 { text += ":\(Format.number(r.step))" }
            return text
        case nil:
            return "-"
        }
    }

    /// A trial's objective as shown: "0.0123", "0.0123 ± 0.002 (5 folds)" or "-".
    static func score(_ trial: Trial) -> String {
        guard let score = trial.score else { return "-" }
        if let folds = trial.folds, folds.hasInterval {
            return "\(Format.number(score)) ± \(Format.number(folds.std)) (\(folds.n) folds)"
        }
        return Format.number(score)
    }

    static func trialDuration(_ trial: Trial) -> String {
        guard trial.startedAtMs > 0 else { return "-" }
        let end = trial.finishedAtMs > 0 ? trial.finishedAtMs : Int64(Date().timeIntervalSince1970 * 1000)
        return Format.duration(ms: max(0, end - trial.startedAtMs))
    }

    /// One line for a finished trial: "trial 3 completed: loss 0.0123 (2.1s)  lr=0.01".
    static func finishedLine(_ trial: Trial, metric: String) -> String {
        var line = "trial \(trial.number) \(status(trial.status))"
        if trial.status == .completed {
            line += ": \(metric) \(score(trial))"
        } else if !trial.error.isEmpty {
            line += ": \(JobFormat.oneLine(trial.error, 120))"
        }
        return line + " (\(trialDuration(trial)))"
    }

    /// The table of every trial: number, status, method, objective, duration, params.
    static func trialTable(_ trials: [Trial], metric: String) -> Table {
        let names = Set(trials.flatMap(\.params.keys)).sorted()
        let headers = ["TRIAL", "STATUS", "METHOD", metric.uppercased(), "DURATION"] + names.map { $0.uppercased() } + ["RUN"]
        var table = Table(headers, numeric: Set(["TRIAL", metric.uppercased(), "DURATION"]))
        for t in trials {
            let method = (t.methodUsed.isEmpty ? "-" : t.methodUsed) + (t.attempt > 0 ? " (retry \(t.attempt))" : "")
            table.add([String(t.number), status(t.status), method, score(t), trialDuration(t)]
                      + names.map { Format.param(t.params[$0]) } + [t.runId.isEmpty ? "-" : t.runId])
        }
        return table
    }

    /// "best: trial 7, loss 0.0123 (95% CI 0.010 to 0.014, 99% CI …)" and the best params.
    static func bestLines(_ r: SweepResults, metric: String) -> [String] {
        guard let score = r.bestScore else { return ["best: none (no trial completed)"] }
        let number = r.trials.first { $0.id == r.bestTrialId }.map { "trial \($0.number), " } ?? ""
        var lines = ["best: \(number)\(metric) \(Format.number(score))"]
        if r.bestCi95Lower != 0 || r.bestCi95Upper != 0 {
            lines.append("  95% CI of the mean: [\(Format.number(r.bestCi95Lower)), \(Format.number(r.bestCi95Upper))]")
            lines.append("  99% CI of the mean: [\(Format.number(r.bestCi99Lower)), \(Format.number(r.bestCi99Upper))]")
        }
        lines.append("  params: \(params(r.bestParams))")
        return lines
    }

    /// "12 trials: 10 completed, 1 failed, 1 pruned, 0 killed (2 retries); tuning time 1m 3s"
    static func countsLine(_ r: SweepResults) -> String {
        "\(r.total) trials: \(r.completed) completed, \(r.failed) failed, \(r.pruned) pruned, \(r.killed) killed"
            + (r.retried > 0 ? " (\(r.retried) \(r.retried == 1 ? "retry" : "retries"))" : "")
            + "; tuning time \(Format.duration(ms: r.tuningTimeMs))"
    }

    /// The results of a sweep: counts, the best trial and every trial.
    static func printResults(_ r: SweepResults, metric: String, trials: Bool = true) {
        print(countsLine(r).terminalSafe)
        if !r.methodUsed.isEmpty { print("method used: \(r.methodUsed)".terminalSafe) }
        for line in bestLines(r, metric: metric) { print(line.terminalSafe) }
        if trials && !r.trials.isEmpty {
            print()
            trialTable(r.trials, metric: metric).print(indent: "  ")
        }
    }
}
