public import Logging

/// Evaluates items with one classifier and model, in parallel, with retries, resume and a rule
/// that fails the run when the provider cannot be reached at all.
///
/// **Retries.** An attempt that fails with a retryable ``EvaluationError`` (a connection error, a
/// timeout, HTTP 5xx or 429; see ``EvaluationError/isRetryable``) is tried again, up to
/// `settings.retries` more times, after `retryBackoff`, 2×, 4× and at most 8× `retryBackoff`.
/// Any other error, or the last failed attempt, makes the item an ERROR result (see
/// ``ItemResult/init(item:error:latencyMs:)``) and the run goes on.
///
/// **The unreachable rule.** An item is *unreachable* when every attempt failed with
/// `.unreachable` (connection refused or reset, unknown host, connect timeout, an executable that
/// cannot be started). The provider is *reached* once any attempt of any item got an answer: a
/// prediction, an HTTP status, a reply that could not be used, a command that exited. While the
/// provider has not been reached, unreachable items are held back (not passed to `onResult`); when
/// `min(5, number of items to run)` of them have finished, `run` throws
/// ``EvaluationError/Code/unreachable`` with the last connection error, cancelling the rest. The
/// held items are never reported then, so a resumed run tries them again. As soon as the provider
/// is reached, the held items are reported as ERROR results and later connection errors are plain
/// item errors. Timeouts are neutral: they neither reach the provider nor count as unreachable.
///
/// **Errors that cannot clear.** An item that fails with an HTTP status that no item can get
/// past (401, 403, 404, 405, 410, 415: see ``EvaluationError/isPermanent``) fails the run at once
/// with ``EvaluationError/Code/providerRefused`` and the provider's message, cancelling the rest:
/// an evaluation with a wrong key never ends `completed` with accuracy 0. A refusal of one
/// request's content (400, 413, 422) fails only its item, unless the first `min(5, items)`
/// finished items all failed so before any answer: the provider then refuses the request format
/// itself, and the run fails the same way.
///
/// **Retry-After.** A 429 or 503 with a `Retry-After` header is retried after that wait (or the
/// backoff, when longer), if the wait ends before `settings.deadline` (without a deadline, if it
/// is at most `settings.maxRetryAfter`); otherwise the item fails with the provider's answer.
///
/// **Deadline.** When `settings.deadline` passes, the run stops and throws
/// ``EvaluationError/Code/deadlineExceeded``; the items finished before it stay reported.
///
/// **Timeouts.** Each attempt is limited by `settings.requestTimeout`, enforced by the
/// classifier; the runner also abandons an attempt 1 s after that, as a guard against classifiers
/// that do not.
public struct EvaluationRunner: Sendable {
    /// The backend.
    public let classifier: any Classifier
    /// The settings; `models`, `sampleSize`, `sampling` and `seed` are not used by ``run(model:items:completed:onResult:)``.
    public let settings: EvaluationSettings
    /// The label set.
    public let labels: [LabelDefinition]
    /// Where retries and the unreachable decision are logged (at debug and warning level).
    public let logger: Logger

    /// How many unreachable items, at most, fail a run that has not reached its provider.
    public static let unreachableThreshold = 5
    /// How long after the request timeout the runner abandons an attempt itself.
    static let timeoutGuard: Duration = .seconds(1)

    /// Creates a runner.
    public init(
        classifier: any Classifier, settings: EvaluationSettings, labels: [LabelDefinition],
        logger: Logger = Logger(label: "tally.evaluation")
    ) {
        self.classifier = classifier
        self.settings = settings
        self.labels = labels
        self.logger = logger
    }

    /// The template in use: the settings' template or ``PromptTemplate/default``.
    public var promptTemplate: String { settings.promptTemplate ?? PromptTemplate.default }

    /// The sample of `items` the settings ask for (see ``Sampler``).
    public func sample(_ items: [EvaluationItem]) -> [EvaluationItem] {
        Sampler.sample(items, size: settings.sampleSize, method: settings.sampling, seed: settings.seed)
    }

    /// Evaluates `items` for one model with `settings.concurrency` requests in parallel, retrying
    /// each item `settings.retries` times on timeouts, HTTP 5xx/429 and connection errors with
    /// backoff. Calls `onResult` for every finished item, one call at a time, in completion order.
    /// Skips items whose ids are in `completed` (resume support). Honors task cancellation promptly:
    /// stops issuing requests, cancels those in flight and throws `CancellationError`.
    ///
    /// - Throws: ``EvaluationError`` `.unreachable` when the provider cannot be reached at all (see
    ///   the type's documentation), `.invalidConfiguration` when the label set is empty,
    ///   `CancellationError`.
    public func run(
        model: String, items: [EvaluationItem], completed: Set<String>,
        onResult: @Sendable (ItemResult) async -> Void
    ) async throws {
        let pending = items.filter { !completed.contains($0.id) }
        guard !pending.isEmpty else { return }
        guard !labels.isEmpty else {
            throw EvaluationError(code: .invalidConfiguration, message: "the evaluation has no labels")
        }
        try Task.checkCancellation()
        guard let deadline = settings.deadline else {
            return try await runAll(model: model, pending: pending, onResult: onResult)
        }
        let timeoutError = EvaluationError(code: .deadlineExceeded, message: "the job's deadline passed while model \(model) was evaluated")
        if deadline <= .now { throw timeoutError }
        // The deadline's task group ends before this returns, so `onResult` does not escape.
        try await withoutActuallyEscaping(onResult) { onResult in
            try await withDeadline(deadline, timeoutError: timeoutError) {
                try await runAll(model: model, pending: pending, onResult: onResult)
            }
        }
    }

    private func runAll(
        model: String, pending: [EvaluationItem], onResult: @Sendable (ItemResult) async -> Void
    ) async throws {
        let threshold = min(Self.unreachableThreshold, pending.count)
        let width = max(1, settings.concurrency)

        try await withThrowingTaskGroup(of: Outcome.self) { group in
            var next = 0
            while next < min(width, pending.count) {
                let item = pending[next]
                group.addTask { try await evaluate(item, model: model) }
                next += 1
            }
            var reached = false
            var predicted = false
            var refused = 0
            var held: [ItemResult] = []
            while let outcome = try await group.next() {
                if let error = outcome.error, error.isPermanent {
                    group.cancelAll()
                    logger.warning("provider refused the requests", metadata: ["model": "\(model)", "error": "\(error)"])
                    throw EvaluationError(
                        code: .providerRefused,
                        message: "the provider refused a request with an error that cannot clear, so the evaluation stops: \(error.message)",
                        cause: error, httpStatus: error.httpStatus)
                }
                if outcome.error == nil {
                    predicted = true
                } else if let error = outcome.error, error.isRefusal, !predicted {
                    refused += 1
                    if refused >= threshold {
                        group.cancelAll()
                        logger.warning("provider refused the request format", metadata: ["model": "\(model)", "error": "\(error)"])
                        throw EvaluationError(
                            code: .providerRefused,
                            message: "the provider refused the first \(refused) requests, so it does not take their format and the "
                                + "evaluation stops: \(error.message)",
                            cause: error, httpStatus: error.httpStatus)
                    }
                }
                if outcome.answered, !reached {
                    reached = true
                    for result in held { await onResult(result) }
                    held = []
                }
                if let error = outcome.error, error.code == .unreachable, !outcome.answered, !reached {
                    held.append(outcome.result)
                    if held.count >= threshold {
                        group.cancelAll()
                        logger.warning(
                            "provider unreachable", metadata: ["model": "\(model)", "error": "\(error)"])
                        throw EvaluationError(
                            code: .unreachable,
                            message: "the provider cannot be reached: the first \(held.count) items all failed to "
                                + "connect (\(settings.retries + 1) attempts each); last error: \(error.message)",
                            cause: error)
                    }
                } else {
                    await onResult(outcome.result)
                }
                try Task.checkCancellation()
                if next < pending.count {
                    let item = pending[next]
                    group.addTask { try await evaluate(item, model: model) }
                    next += 1
                }
            }
            // Never reached, but fewer unreachable items than the threshold (the rest timed out):
            // they are ordinary item errors.
            for result in held { await onResult(result) }
        }
    }

    /// One item's final outcome.
    struct Outcome: Sendable {
        var result: ItemResult
        /// The last attempt's error, when the item failed.
        var error: EvaluationError?
        /// Whether any attempt got an answer from the provider.
        var answered: Bool
    }

    /// Classifies `item`, retrying as the settings say.
    func evaluate(_ item: EvaluationItem, model: String) async throws -> Outcome {
        let prompt = PromptTemplate.render(promptTemplate, item: item, labels: labels)
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double {
            let (seconds, attoseconds) = (clock.now - start).components
            return Double(seconds) * 1000 + Double(attoseconds) / 1e15
        }
        var answered = false
        var attempt = 0
        while true {
            let failure: EvaluationError
            do {
                let prediction = try await attemptOnce(item, model: model, prompt: prompt)
                return Outcome(result: ItemResult(item: item, prediction: prediction, latencyMs: elapsed()), answered: true)
            } catch let error as EvaluationError {
                failure = error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failure = EvaluationError(
                    code: .classifierFailed, message: "the classifier failed: \(error)", cause: error)
            }
            try Task.checkCancellation()
            answered = answered || failure.providerAnswered
            guard failure.isRetryable, attempt < settings.retries else {
                return Outcome(
                    result: ItemResult(item: item, error: failure, latencyMs: elapsed()), error: failure, answered: answered)
            }
            var wait = backoff(beforeRetry: attempt + 1)
            if let asked = failure.retryAfter {
                wait = max(wait, asked)
            }
            if let refusal = refusedWait(wait, asked: failure.retryAfter) {
                var failed = failure
                failed.message += " (\(refusal))"
                return Outcome(
                    result: ItemResult(item: item, error: failed, latencyMs: elapsed()), error: failed, answered: answered)
            }
            attempt += 1
            logger.debug(
                "retrying item",
                metadata: ["item": "\(item.id)", "model": "\(model)", "attempt": "\(attempt)", "error": "\(failure)"])
            try await Task.sleep(for: wait)
        }
    }

    /// One attempt, abandoned ``timeoutGuard`` after the request timeout.
    func attemptOnce(_ item: EvaluationItem, model: String, prompt: String) async throws -> Prediction {
        let classifier = self.classifier
        let labels = self.labels
        let timeout = settings.requestTimeout
        let deadline = ContinuousClock.now.advanced(by: timeout + Self.timeoutGuard)
        return try await withDeadline(
            deadline,
            timeoutError: EvaluationError(code: .timeout, message: "the classifier did not answer within \(timeout)")
        ) {
            try await classifier.classify(item, labels: labels, model: model, prompt: prompt, timeout: timeout)
        }
    }

    /// Why a retry after `wait` is not made (`asked`: the provider's `Retry-After`), or `nil`:
    /// the wait would end past the deadline, or, without one, the provider asked for more than
    /// `settings.maxRetryAfter`.
    func refusedWait(_ wait: Duration, asked: Duration?) -> String? {
        if let deadline = settings.deadline {
            return ContinuousClock.now.advanced(by: wait) > deadline
                ? "not retried: a wait of \(wait) would end past the job's deadline" : nil
        }
        if let asked, asked > settings.maxRetryAfter {
            return "not retried: Retry-After \(asked) is longer than \(settings.maxRetryAfter)"
        }
        return nil
    }

    /// The wait before retry number `retry` (1-based): `retryBackoff · 2^(retry−1)`, at most 8× `retryBackoff`.
    func backoff(beforeRetry retry: Int) -> Duration {
        settings.retryBackoff * (1 << min(max(retry - 1, 0), 3))
    }
}
