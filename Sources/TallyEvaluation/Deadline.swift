/// Runs `operation` until `deadline`: returns its value, or throws `timeoutError` (and cancels it)
/// when the deadline passes first. Cancellation of the caller propagates to `operation`.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant,
    timeoutError: @autoclosure @escaping @Sendable () -> EvaluationError,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw timeoutError() }
        return value
    }
}
