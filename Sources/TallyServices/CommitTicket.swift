import Synchronization
import TallyStore

/// The outcome of one queued metric batch: completed by the ingestor's run loop once the batch's
/// commit has ended, awaited by the call that queued it.
final class CommitTicket: Sendable {
    private struct State {
        var result: Result<CommittedPoints, any Error>?
        var waiters: [CheckedContinuation<CommittedPoints, any Error>] = []
        var callbacks: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    /// Records the outcome and wakes the waiters; later calls are ignored.
    func complete(_ result: Result<CommittedPoints, any Error>) {
        let (waiters, callbacks) = state.withLock { state -> ([CheckedContinuation<CommittedPoints, any Error>], [@Sendable () -> Void]) in
            guard state.result == nil else { return ([], []) }
            state.result = result
            defer {
                state.waiters.removeAll()
                state.callbacks.removeAll()
            }
            return (state.waiters, state.callbacks)
        }
        for waiter in waiters { waiter.resume(with: result) }
        for callback in callbacks { callback() }
    }

    /// Calls `body` once the commit has ended (at once if it has).
    func whenDone(_ body: @escaping @Sendable () -> Void) {
        let done = state.withLock { state in
            if state.result != nil { return true }
            state.callbacks.append(body)
            return false
        }
        if done { body() }
    }

    /// The committed points, once the commit has ended. A commit cannot be stopped half-way, so
    /// cancellation does not cut the wait short.
    var value: CommittedPoints {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let done: Result<CommittedPoints, any Error>? = state.withLock { state in
                    if let result = state.result { return result }
                    state.waiters.append(continuation)
                    return nil
                }
                if let done { continuation.resume(with: done) }
            }
        }
    }
}
