import Synchronization

/// Counts the commits a `StreamMetrics` call has started and lets the call wait until all of
/// them have ended.
final class CommitTracker: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// A commit is about to start.
    func started() {
        state.withLock { $0.running += 1 }
    }

    /// A commit has ended, however it ended.
    func finished() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no commit is running (at once if none is). Cancellation does not cut the wait
    /// short: a commit cannot be stopped half-way.
    func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
