import Synchronization

/// Send-side flow control of one call: credit in bytes granted by the receiver.
///
/// A sender may send a message while the window is positive; the message's cost is then taken
/// from the window, which may go negative by at most one message. Credit the receiver hands back
/// raises the window and wakes suspended senders. Memory held for a call by the receiver is thus
/// bounded by the initial window plus one frame.
public final class FlowWindow: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var failure: RPCError?
    }

    private let state: Mutex<State>

    /// Creates a window.
    /// - Parameter initial: The initial credit in bytes.
    public init(initial: Int) {
        self.state = Mutex(State(available: initial))
    }

    /// Credit left, in bytes (may be negative).
    public var available: Int {
        state.withLock { $0.available }
    }

    /// Takes `cost` bytes of credit, waiting while the window is not positive.
    /// - Parameter cost: The message's cost in bytes.
    /// - Throws: The error the window was failed with, or `CancellationError`.
    public func acquire(_ cost: Int) async throws {
        // Fast path: credit is there.
        let ready: Bool = try state.withLock { state in
            if let failure = state.failure { throw failure }
            if state.available > 0 && state.waiters.isEmpty {
                state.available -= cost
                return true
            }
            return false
        }
        if ready { return }
        while true {
            try Task.checkCancellation()
            let id = state.withLock { state -> UInt64 in
                state.nextWaiterID += 1
                return state.nextWaiterID
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let resumeNow: Result<Void, any Error>? = state.withLock { state in
                        if let failure = state.failure { return .failure(failure) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        if state.available > 0 && state.waiters.isEmpty { return .success(()) }
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                        return nil
                    }
                    if let resumeNow { continuation.resume(with: resumeNow) }
                }
            } onCancel: {
                let waiter: Waiter? = state.withLock { state in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                waiter?.continuation.resume(throwing: CancellationError())
            }
            let taken: Bool = try state.withLock { state in
                if let failure = state.failure { throw failure }
                if state.available > 0 {
                    state.available -= cost
                    return true
                }
                return false
            }
            if taken {
                wakeIfCredit()
                return
            }
        }
    }

    /// Takes `cost` bytes of credit at once, without waiting: the window may go below zero, and
    /// senders wait until credit brings it back above. For bytes that cannot wait their turn.
    public func take(_ cost: Int) {
        state.withLock { $0.available -= cost }
    }

    /// Adds credit and wakes a waiting sender if the window became positive.
    /// - Parameter credit: Bytes granted by the receiver.
    public func release(_ credit: Int) {
        state.withLock { $0.available += credit }
        wakeIfCredit()
    }

    /// Fails current and future `acquire` calls with `error` (the call ended).
    public func fail(_ error: RPCError) {
        let waiters: [Waiter] = state.withLock { state in
            if state.failure == nil { state.failure = error }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: error) }
    }

    private func wakeIfCredit() {
        let waiter: Waiter? = state.withLock { state in
            guard state.available > 0, !state.waiters.isEmpty else { return nil }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume()
    }
}
