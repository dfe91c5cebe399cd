import TallyAPI
public import TallyProto
public import TallyRPC

/// A hyperparameter sweep of the daemon (a job of kind `sweep`), for workers that ask for trials
/// and report their scores (docs/sweeps.md).
///
/// ```swift
/// let sweep = try await client.createSweep(config)
/// for try await trial in sweep.trials(worker: "gpu0") {
///     let loss = try await trial.withHeartbeats { try await train(trial.params) }
///     try await trial.report(score: loss)
/// }
/// print(try await sweep.job().results?.sweep?.bestParams ?? [:])
/// ```
public struct Sweep: Sendable {
    /// The client every call goes through.
    public let client: TallyClient
    /// The sweep's job id.
    public let id: String

    /// A sweep known by its job id; no call is made.
    public init(client: TallyClient, id: String) {
        self.client = client
        self.id = id
    }

    /// The sweep's job: its configuration, status and, while it runs or once it has ended, its
    /// results (trials, counts and the best trial).
    /// - Throws: ``RPCError`` NOT_FOUND for an unknown job.
    public func job(options: CallOptions = CallOptions()) async throws -> Job {
        var request = GetJobRequest()
        request.jobId = id
        return try await client.experiments.getJob(request, options: options)
    }

    /// Asks for the next trial, waiting while the sweep says so (its parallel budget is full, or
    /// the job is still queued).
    /// - Parameters:
    ///   - worker: Who asks, recorded on the trial.
    ///   - pollInterval: The longest pause between two asks while waiting (pauses start at a tenth
    ///     of it and double).
    ///   - stopped: Checked before each ask and every 50 ms while waiting: once it returns `true`,
    ///     the wait ends with `nil` (a worker that is shutting down).
    /// - Returns: The trial, or `nil` once the sweep hands out no more trials (or `stopped`).
    /// - Throws: ``RPCError`` NOT_FOUND for an unknown job, INVALID_ARGUMENT for a job that is not a
    ///   sweep; `CancellationError` when the task is cancelled while waiting.
    public func nextTrial(
        worker: String = "",
        pollInterval: Duration = .seconds(1),
        until stopped: @Sendable () -> Bool = { false }
    ) async throws -> SweepTrial? {
        var request = NextTrialRequest()
        request.jobId = id
        request.worker = worker
        var pause = pollInterval / 10
        while !stopped() {
            let response = try await client.experiments.nextTrial(request)
            switch response.next {
            case .trial(let trial)?:
                return SweepTrial(client: client, sweepID: id, trial: trial)
            case .finished(true)?:
                return nil
            default:
                let resume = ContinuousClock.now + pause
                while !stopped() && ContinuousClock.now < resume {
                    try await Task.sleep(for: min(.milliseconds(50), resume - ContinuousClock.now))
                }
                pause = min(pollInterval, pause * 2)
            }
        }
        return nil
    }

    /// The trials of this sweep for one worker, one at a time, until the sweep is finished. Each
    /// must be reported (or failed) before the next is asked for when the sweep runs one trial at
    /// a time.
    /// - Parameter worker: Who asks, recorded on each trial.
    public func trials(worker: String = "") -> Trials {
        Trials(sweep: self, worker: worker)
    }

    /// Cancels the sweep: running trials fail and no more are handed out.
    /// - Throws: ``RPCError`` FAILED_PRECONDITION when the sweep has already ended.
    @discardableResult
    public func cancel() async throws -> Job {
        var request = CancelJobRequest()
        request.jobId = id
        return try await client.experiments.cancelJob(request)
    }

    /// The trials of a sweep as an asynchronous sequence (see ``Sweep/trials(worker:)``).
    public struct Trials: AsyncSequence, Sendable {
        public typealias Element = SweepTrial
        let sweep: Sweep
        let worker: String

        public func makeAsyncIterator() -> Iterator {
            Iterator(sweep: sweep, worker: worker)
        }

        /// Asks the daemon for one trial per `next()`.
        public struct Iterator: AsyncIteratorProtocol {
            let sweep: Sweep
            let worker: String
            var done = false

            public mutating func next() async throws -> SweepTrial? {
                guard !done else { return nil }
                guard let trial = try await sweep.nextTrial(worker: worker) else {
                    done = true
                    return nil
                }
                return trial
            }
        }
    }
}

extension TallyClient {
    /// Creates a sweep job (docs/sweeps.md).
    /// - Parameter config: The search space, method, objective and budget.
    /// - Returns: The sweep; its job is queued and starts when a job worker is free.
    /// - Throws: ``RPCError`` INVALID_ARGUMENT for an invalid search space or budget.
    public func createSweep(_ config: SweepConfig, options: CallOptions = CallOptions()) async throws -> Sweep {
        var request = CreateJobRequest()
        request.config = .sweep(config)
        let job = try await experiments.createJob(request, options: options)
        return Sweep(client: self, id: job.id)
    }

    /// Cross-validation statistics of fold scores: mean, standard deviation, median, range and the
    /// 95% and 99% Student's t intervals of the mean.
    /// - Parameters:
    ///   - scores: One score per fold.
    ///   - fitTimes: Seconds each fold took to fit, or empty.
    ///   - scoreTimes: Seconds each fold took to score, or empty.
    /// - Throws: ``RPCError`` INVALID_ARGUMENT for no scores, non-finite values or time lists of
    ///   another length.
    public func crossValidate(_ scores: [Double], fitTimes: [Double] = [], scoreTimes: [Double] = []) async throws -> CrossValidationResult {
        var request = CrossValidateRequest()
        request.scores = scores
        request.fitTimes = fitTimes
        request.scoreTimes = scoreTimes
        return try await experiments.crossValidate(request)
    }
}
