import Logging

/// Runs a route's handler for one call and decides the status its END frame carries.
///
/// Shared by every transport so that they map errors, cancellation and deadlines the same way.
public enum ServerCallRunner {
    /// Runs `handler` for `call`, enforcing the call's deadline.
    ///
    /// - Parameters:
    ///   - handler: The route's handler.
    ///   - call: The call.
    /// - Returns: `nil` when the call succeeded, otherwise the error to report. Errors that are
    ///   not ``RPCError`` become INTERNAL; every INTERNAL answer is logged at error level with its
    ///   real cause.
    public static func run(_ handler: @escaping RouteHandler, call: ServerCall) async -> RPCError? {
        let outcome: Result<Void, any Error>
        if let deadline = call.context.deadline {
            outcome = await runWithDeadline(handler, call: call, deadline: deadline)
        } else {
            do {
                try await handler(call)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
        }
        switch outcome {
        case .success:
            return nil
        case .failure(let error):
            let status = RPCError.from(error)
            if status.code == .internalError {
                // Every INTERNAL answer is logged with its cause: the client sees only "internal
                // error", so the log is the one place the reason is kept. An RPCError made from a
                // store error carries that error as its cause.
                let cause: any Error = (error as? RPCError)?.cause ?? error
                call.context.logger.error(
                    "handler failed",
                    metadata: [
                        "method": "\(call.context.method.path)",
                        "status": "\(status.message)",
                        "error": "\(String(reflecting: cause))",
                    ]
                )
            }
            return status
        }
    }

    private struct DeadlineExceeded: Error {}

    private static func runWithDeadline(
        _ handler: @escaping RouteHandler,
        call: ServerCall,
        deadline: ContinuousClock.Instant
    ) async -> Result<Void, any Error> {
        if deadline <= .now {
            return .failure(deadlineError)
        }
        return await withTaskGroup(of: Result<Void, any Error>.self) { group in
            group.addTask {
                do {
                    try await handler(call)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    return .failure(DeadlineExceeded())
                } catch {
                    return .failure(error)
                }
            }
            let first = await group.next()!
            group.cancelAll()
            // Wait for the handler to see the cancellation.
            while await group.next() != nil {}
            if case .failure(let error) = first, error is DeadlineExceeded {
                return .failure(deadlineError)
            }
            return first
        }
    }

    private static var deadlineError: RPCError {
        RPCError(code: .deadlineExceeded, message: "the call's deadline passed before it finished")
    }
}
