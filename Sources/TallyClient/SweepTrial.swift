import TallyAPI
public import TallyProto
import TallyRPC

/// One trial handed out by a sweep: its params, its tracking run, and the reports that end it.
public struct SweepTrial: Sendable {
    /// The client every call goes through.
    public let client: TallyClient
    /// The sweep's job id.
    public let sweepID: String
    /// The trial as handed out.
    public let trial: Trial

    /// A trial known by its message (from ``Sweep/nextTrial(worker:pollInterval:)`` or a job's results).
    public init(client: TallyClient, sweepID: String, trial: Trial) {
        self.client = client
        self.sweepID = sweepID
        self.trial = trial
    }

    /// The trial's id.
    public var id: String { trial.id }
    /// 0, 1, … in the order trials were handed out.
    public var number: UInt64 { trial.number }
    /// Searched and fixed params.
    public var params: [String: ParamValue] { trial.params }
    /// The tracking run recording the trial; log metrics to it as to any run.
    public var runID: String { trial.runId }

    /// Ends the trial COMPLETED with a score.
    /// - Returns: The trial as it ended.
    /// - Throws: ``RPCError`` INVALID_ARGUMENT for a non-finite score, FAILED_PRECONDITION when the
    ///   trial has already ended (reported, pruned, expired or the sweep cancelled).
    @discardableResult
    public func report(score: Double) async throws -> Trial {
        var request = ReportTrialRequest()
        request.outcome = .score(score)
        return try await send(request).trial ?? Trial()
    }

    /// Ends the trial COMPLETED with the scores of a cross-validation: the objective is their
    /// mean, and the trial carries their statistics.
    /// - Parameters:
    ///   - folds: One score per fold.
    ///   - fitTimes: Seconds each fold took to fit, or empty.
    ///   - scoreTimes: Seconds each fold took to score, or empty.
    /// - Returns: The trial as it ended, with `folds` set.
    /// - Throws: ``RPCError`` INVALID_ARGUMENT for no or non-finite scores, FAILED_PRECONDITION
    ///   when the trial has already ended.
    @discardableResult
    public func report(folds: [Double], fitTimes: [Double] = [], scoreTimes: [Double] = []) async throws -> Trial {
        var message = ReportTrialRequest.Folds()
        message.scores = folds
        message.fitTimes = fitTimes
        message.scoreTimes = scoreTimes
        var request = ReportTrialRequest()
        request.outcome = .folds(message)
        return try await send(request).trial ?? Trial()
    }

    /// Reports an intermediate objective value (also a heartbeat).
    /// - Returns: `true` when the sweep's pruner stopped the trial: it is now PRUNED and the worker
    ///   should stop working on it.
    /// - Throws: ``RPCError`` FAILED_PRECONDITION when the trial has already ended.
    public func reportIntermediate(step: Int64, value: Double) async throws -> Bool {
        var item = IntermediateValue()
        item.step = step
        item.value = value
        var request = ReportTrialRequest()
        request.intermediate = [item]
        return try await send(request).prune
    }

    /// Ends the trial FAILED with a reason.
    /// - Throws: ``RPCError`` FAILED_PRECONDITION when the trial has already ended.
    @discardableResult
    public func fail(_ reason: String) async throws -> Trial {
        var request = ReportTrialRequest()
        request.outcome = .failure(reason)
        return try await send(request).trial ?? Trial()
    }

    /// Ends the trial KILLED: its worker stopped it (an interrupted agent).
    /// - Throws: ``RPCError`` FAILED_PRECONDITION when the trial has already ended.
    @discardableResult
    public func kill(_ reason: String) async throws -> Trial {
        var request = ReportTrialRequest()
        request.outcome = .killed(reason)
        return try await send(request).trial ?? Trial()
    }

    /// Tells the sweep the trial's worker is alive.
    /// - Throws: ``RPCError`` FAILED_PRECONDITION when the trial has already ended.
    public func heartbeat() async throws {
        var request = HeartbeatRequest()
        request.trialId = trial.id
        _ = try await client.experiments.heartbeat(request)
    }

    /// Runs `body` while a child task sends a heartbeat every `interval`, so that a long trial is
    /// not failed for silence (the sweep's `heartbeat_timeout_ms`, 60 s by default). Heartbeat
    /// errors are ignored: the report at the end tells whether the trial still runs.
    /// - Returns: What `body` returns.
    public func withHeartbeats<T: Sendable>(every interval: Duration = .seconds(10), _ body: () async throws -> T) async throws -> T {
        let beats = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                try? await heartbeat()
            }
        }
        defer { beats.cancel() }
        return try await body()
    }

    private func send(_ request: ReportTrialRequest) async throws -> ReportTrialResponse {
        var request = request
        request.trialId = trial.id
        return try await client.experiments.reportTrial(request)
    }
}
