import Synchronization
import TallyRPC

/// A unary call on a ``ClientConnection``: holds the response until the daemon's END, then
/// resumes the one waiting caller.
final class UnaryClientCall: Sendable {
    private struct State {
        var response: [UInt8]?
        var extraResponse = false
        var outcome: Result<[UInt8], RPCError>?
        var waiter: CheckedContinuation<[UInt8], any Error>?
    }

    private let state = Mutex(State())

    /// Keeps the daemon's response until the END arrives.
    func deliver(_ message: [UInt8]) {
        state.withLock { state in
            if state.response == nil {
                state.response = message
            } else {
                state.extraResponse = true
            }
        }
    }

    /// Ends the call with the daemon's status (or a local one: cancellation, the connection's
    /// failure). The first end decides the outcome.
    /// - Returns: Whether this call ended it.
    @discardableResult
    func end(_ status: RPCError?) -> Bool {
        let (waiter, outcome): (CheckedContinuation<[UInt8], any Error>?, Result<[UInt8], RPCError>?) = state.withLock { state in
            guard state.outcome == nil else { return (nil, nil) }
            let outcome: Result<[UInt8], RPCError>
            if let status {
                outcome = .failure(status)
            } else if state.extraResponse {
                outcome = .failure(RPCError(code: .internalError, message: "the server sent more than one response to a single-response call"))
            } else if let response = state.response {
                outcome = .success(response)
            } else {
                outcome = .failure(RPCError(code: .internalError, message: "the server ended the call without a response"))
            }
            state.outcome = outcome
            state.response = nil
            defer { state.waiter = nil }
            return (state.waiter, outcome)
        }
        guard let outcome else { return false }
        waiter?.resume(with: outcome.mapError { $0 as any Error })
        return true
    }

    /// Waits for the call's outcome.
    func response() async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            let ready: Result<[UInt8], RPCError>? = state.withLock { state in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }
}
