import Foundation
import TallyProto
import TallyStore
import TallySweeps

/// A sweep configuration checked and converted to the sweep core's types.
struct SweepPlan: Sendable {
    var config: SweepConfig
    var space: SearchSpace
    var method: TallySweeps.SweepMethod
    var objective: Objective
    var metric: String
    /// Trials to hand out at most; nil when only the time limit bounds the sweep.
    var maxTrials: Int?
    var maxParallel: Int
    var pruner: MedianPruner?
    var heartbeatTimeoutMs: Int64

    /// The wait before retry number `attempt` (1-based): the backoff, doubled for each further
    /// retry, at most 60 s.
    func retryDelayMs(attempt: UInt32) -> Int64 {
        let base = Int64(clamping: config.retryBackoffMs)
        return min(60_000, base << Int64(min(max(Int(attempt) - 1, 0), 16)))
    }

    /// Checks a configuration and fills in its defaults.
    /// - Throws: ``StoreError`` `invalidArgument` naming the field.
    init(_ config: SweepConfig) throws {
        func invalid(_ message: String, _ field: String) -> StoreError {
            StoreError(code: .invalidArgument, message: message, field: field)
        }
        var config = config
        if !config.preset.isEmpty {
            guard let preset = SweepPresets.params(config.preset) else {
                throw invalid("unknown preset \"\(config.preset)\"; presets: \(SweepPresets.names.joined(separator: ", "))", "preset")
            }
            // The preset's space, with the request's own params replacing those of the same name.
            let given = Set(config.params.map(\.name))
            config.params = preset.filter { !given.contains($0.name) } + config.params
        }
        guard !config.params.isEmpty else { throw invalid("a sweep needs at least one param", "params") }
        var specs: [ParameterSpec] = []
        for param in config.params {
            switch param.kind {
            case .categorical(let categorical)?:
                var values: [TallySweeps.ParamValue] = []
                for value in categorical.values {
                    guard let converted = TallySweeps.ParamValue(value) else {
                        throw invalid("param '\(param.name)' has a categorical value with no kind", "params")
                    }
                    values.append(converted)
                }
                specs.append(.categorical(param.name, values))
            case .intRange(let range)?:
                guard let low = Int(exactly: range.low), let high = Int(exactly: range.high), let step = Int(exactly: range.step == 0 ? 1 : range.step) else {
                    throw invalid("param '\(param.name)' is out of range", "params")
                }
                specs.append(.int(param.name, low: low, high: high, step: step, log: range.log))
            case .floatRange(let range)?:
                specs.append(.float(param.name, low: range.low, high: range.high, log: range.log, step: range.step == 0 ? nil : range.step))
            case nil:
                throw invalid("param '\(param.name)' needs a kind (categorical, int_range or float_range)", "params")
            }
        }
        var fixed = Params()
        for (name, value) in config.fixed {
            guard let converted = TallySweeps.ParamValue(value) else { throw invalid("fixed param '\(name)' has no kind", "fixed") }
            fixed[name] = converted
        }
        do {
            space = try SearchSpace(specs, fixed: fixed)
        } catch {
            throw invalid(error.message, "params")
        }

        var goal = config.objective ?? SweepObjective()
        if goal.metric.isEmpty { goal.metric = "score" }
        guard goal.metric.count <= 250 else { throw invalid("objective.metric is longer than 250 characters", "objective.metric") }
        if goal.direction == .unspecified { goal.direction = .minimize }
        config.objective = goal
        objective = goal.direction == .maximize ? .maximize : .minimize
        metric = goal.metric

        if config.method == .unspecified { config.method = .grid }
        switch config.method {
        case .random:
            method = .random
        case .bayesian:
            if config.startupTrials == nil { config.startupTrials = 10 }
            method = .bayesian(TPEConfiguration(startupTrials: Int(config.startupTrials ?? 10)))
        default:
            method = .grid
        }
        if case .grid = method {
            let total: Int
            do {
                total = try space.totalCombinations()
            } catch {
                throw invalid(error.message, "params")
            }
            config.totalCombinations = UInt64(total)
            if config.maxTrials == 0 { config.maxTrials = UInt32(clamping: total) }
            maxTrials = min(Int(config.maxTrials), total)
        } else {
            // Neither a count nor a time limit: scikit-learn's RandomizedSearchCV default (n_iter).
            if config.maxTrials == 0 && config.timeLimitMs == 0 { config.maxTrials = SweepDefaults.maxTrials }
            maxTrials = config.maxTrials > 0 ? Int(config.maxTrials) : nil
        }
        if config.maxParallel == 0 { config.maxParallel = 1 }
        guard config.maxParallel <= 1024 else { throw invalid("max_parallel must be at most 1024", "max_parallel") }
        maxParallel = Int(config.maxParallel)
        if config.heartbeatTimeoutMs == 0 { config.heartbeatTimeoutMs = 60_000 }
        guard config.heartbeatTimeoutMs <= 86_400_000 else { throw invalid("heartbeat_timeout_ms must be at most 86400000", "heartbeat_timeout_ms") }
        heartbeatTimeoutMs = Int64(config.heartbeatTimeoutMs)
        guard config.retries <= 10 else { throw invalid("retries must be at most 10", "retries") }
        if config.retryBackoffMs == 0 { config.retryBackoffMs = 1_000 }
        guard config.retryBackoffMs <= 60_000 else { throw invalid("retry_backoff_ms must be at most 60000", "retry_backoff_ms") }
        if var prunerConfig = config.pruner, prunerConfig.enabled {
            if prunerConfig.minTrials == 0 { prunerConfig.minTrials = 5 }
            config.pruner = prunerConfig
            pruner = MedianPruner(minTrials: Int(prunerConfig.minTrials), warmupSteps: Int(prunerConfig.warmupSteps))
        } else {
            pruner = nil
        }
        do {
            _ = try space.makeSampler(method, objective: objective, seed: config.seed)
        } catch {
            throw invalid(error.message, "method")
        }
        self.config = config
    }

    func makeSampler() throws -> any TrialSampler {
        try space.makeSampler(method, objective: objective, seed: config.seed)
    }
}

extension TallySweeps.ParamValue {
    init?(_ value: TallyProto.ParamValue) {
        switch value.kind {
        case .stringValue(let string)?: self = .string(string)
        case .intValue(let int)?: self = .int(Int(int))
        case .doubleValue(let double)?: self = .double(double)
        case .boolValue(let bool)?: self = .bool(bool)
        case nil: return nil
        }
    }

    var proto: TallyProto.ParamValue {
        var value = TallyProto.ParamValue()
        switch self {
        case .string(let string): value.kind = .stringValue(string)
        case .int(let int): value.kind = .intValue(Int64(int))
        case .double(let double): value.kind = .doubleValue(double)
        case .bool(let bool): value.kind = .boolValue(bool)
        }
        return value
    }
}

extension CrossValidationResult {
    init(_ summary: CrossValidationSummary) {
        self.init()
        n = UInt64(summary.count)
        mean = summary.mean
        std = summary.standardDeviation ?? 0
        median = summary.median
        min = summary.min
        max = summary.max
        if let ci95 = summary.confidenceInterval95, let ci99 = summary.confidenceInterval99 {
            hasInterval = true
            ci95Lower = ci95.lower
            ci95Upper = ci95.upper
            ci99Lower = ci99.lower
            ci99Upper = ci99.upper
        }
        fitTimeMean = summary.meanFitTime ?? 0
        scoreTimeMean = summary.meanScoreTime ?? 0
        scores = summary.scores
    }

    /// Summarizes fold scores; times are optional (empty for none).
    /// - Throws: ``StoreError`` `invalidArgument` for no scores, non-finite values or times of
    ///   another length.
    static func summarize(scores: [Double], fitTimes: [Double], scoreTimes: [Double], field: String) throws -> CrossValidationResult {
        do {
            return CrossValidationResult(try CrossValidationSummary(
                scores: scores, fitTimes: fitTimes.isEmpty ? nil : fitTimes, scoreTimes: scoreTimes.isEmpty ? nil : scoreTimes
            ))
        } catch {
            throw StoreError(code: .invalidArgument, message: error.message, field: field)
        }
    }
}

extension Trial {
    /// The trial as the sweep core's history sees it.
    var completedTrial: CompletedTrial? {
        let state: TrialState
        switch status {
        case .completed: state = .completed
        case .pruned: state = .pruned
        case .failed, .killed: state = .failed
        default: return nil
        }
        return CompletedTrial(
            params: sweepParams, state: state, value: score,
            intermediateValues: Dictionary(intermediate.map { (Int($0.step), $0.value) }, uniquingKeysWith: { _, last in last }),
            foldScores: folds?.scores
        )
    }

    var sweepParams: Params {
        params.compactMapValues { TallySweeps.ParamValue($0) }
    }
}
