import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run of an executable: writes its standard input, collects its output, and ends it on a
/// timeout or a cancellation, without blocking a thread of the cooperative pool.
final class ChildProcess: Sendable {
    /// How a run ended.
    struct Outcome: Sendable {
        var status: Int32
        var signaled: Bool
        var stdout: Data
        var stderr: Data
    }

    private enum Ending: Sendable {
        case timedOut
        case cancelled
    }

    private struct State: Sendable {
        var stdout = Data()
        var stderr = Data()
        var stdoutClosed = false
        var stderrClosed = false
        var terminated = false
        var ending: Ending?
        var continuation: CheckedContinuation<Outcome, any Error>?
        var finished = false
    }

    /// How long output is still collected after the process exits while a descendant keeps its
    /// standard output open.
    static let drainGrace: Duration = .milliseconds(200)
    /// How long a terminated process has before it is killed.
    static let killGrace: Duration = .milliseconds(500)

    private let process: UncheckedProcess
    private let pipes: UncheckedPipes
    private let state = Mutex(State())

    /// Ignores SIGPIPE once per process, so writing to a child that exited early fails with EPIPE
    /// instead of killing the daemon.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    init(executable: String, arguments: [String]) {
        _ = Self.ignoreSIGPIPE
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        self.process = UncheckedProcess(process)
        self.pipes = UncheckedPipes(stdin: Pipe(), stdout: Pipe(), stderr: Pipe())
    }

    /// Runs the process with `input` on its standard input.
    ///
    /// - Throws: `.unreachable` when it cannot be started, `.timeout` when it runs past `timeout`
    ///   (it is terminated, then killed), `CancellationError` when cancelled (it is terminated).
    func run(input: Data, timeout: Duration) async throws -> Outcome {
        let process = self.process.value
        let (stdin, stdout, stderr) = (pipes.stdin, pipes.stdout, pipes.stderr)
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr

        process.terminationHandler = { [self] _ in terminated() }

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let alreadyCancelled = state.withLock { state in
                    state.continuation = continuation
                    return state.ending == .cancelled
                }
                if alreadyCancelled {
                    finish()
                    return
                }
                do {
                    try process.run()
                } catch {
                    resume(with: .failure(EvaluationError(
                        code: .unreachable, message: "cannot start \(process.executableURL?.path ?? "?"): \(error)",
                        cause: error)))
                    return
                }
                // Output is read with blocking reads on threads of their own, not with
                // `readabilityHandler`: on Linux, tearing down the dispatch read sources of many
                // short-lived processes can corrupt libdispatch's epoll bookkeeping and crash the
                // daemon (swift-corelibs-libdispatch issue 949).
                readUntilEnd(stdout.fileHandleForReading, onStdout: true)
                readUntilEnd(stderr.fileHandleForReading, onStdout: false)
                let writer = stdin.fileHandleForWriting
                DispatchQueue.global().async {
                    try? writer.write(contentsOf: input)
                    try? writer.close()
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchInterval(timeout)) { [weak self] in
                    self?.end(.timedOut)
                }
            }
        } onCancel: {
            end(.cancelled)
        }
    }

    /// Reads a pipe until its end on a thread of its own, handing each piece to ``received``.
    private func readUntilEnd(_ handle: FileHandle, onStdout: Bool) {
        let handle = UncheckedFileHandle(value: handle)
        Thread.detachNewThread { [self] in
            let fd = handle.value.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    received(Data(), onStdout: onStdout)  // end of output (or a read error)
                    break
                }
                received(Data(buffer[0..<count]), onStdout: onStdout)
            }
            // Closed here rather than when the pipe is released: the descriptor must not
            // outlive the run even if something still holds the pipe.
            try? handle.value.close()
        }
    }

    private func received(_ data: Data, onStdout: Bool) {
        let done = state.withLock { state in
            if onStdout {
                if data.isEmpty { state.stdoutClosed = true } else { state.stdout.append(data) }
            } else {
                if data.isEmpty { state.stderrClosed = true } else { state.stderr.append(data) }
            }
            return state.terminated && state.stdoutClosed && state.stderrClosed
        }
        if done { finish() }
    }

    private func terminated() {
        // The handler holds this object, and the process holds the handler: let go of it once
        // it has run, so that the process, its pipes and this object are released.
        let process = self.process
        DispatchQueue.global().async { process.value.terminationHandler = nil }
        let done = state.withLock { state in
            state.terminated = true
            return state.stdoutClosed && state.stderrClosed
        }
        if done {
            finish()
        } else {
            // A descendant may hold the pipes open; do not wait for it.
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchInterval(Self.drainGrace)) { [self] in
                finish()
            }
        }
    }

    /// Ends the run early: terminates the process, resumes the caller at once, and kills the
    /// process if it lingers.
    ///
    /// The caller does not wait for the termination handler: on Linux, Foundation reports a
    /// termination only once every descendant holding the process's inherited descriptors has
    /// exited too.
    private func end(_ ending: Ending) {
        let terminate = state.withLock { state in
            guard !state.finished, !state.terminated, state.ending == nil else { return false }
            state.ending = ending
            return true
        }
        guard terminate else { return }
        let process = self.process.value
        if process.isRunning {
            let pid = process.processIdentifier
            process.terminate()
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchInterval(Self.killGrace)) { [self] in
                if !state.withLock({ $0.terminated }) { _ = kill(pid, SIGKILL) }
            }
        }
        finish()
    }

    /// Resumes the caller with what happened, once.
    private func finish() {
        let (ending, stdout, stderr) = state.withLock { ($0.ending, $0.stdout, $0.stderr) }
        switch ending {
        case .cancelled:
            resume(with: .failure(CancellationError()))
        case .timedOut:
            resume(with: .failure(EvaluationError(code: .timeout, message: "the command did not finish in time")))
        case nil:
            // Only reached once the process has terminated.
            let process = self.process.value
            resume(with: .success(Outcome(
                status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                stdout: stdout, stderr: stderr)))
        }
    }

    private func resume(with result: Result<Outcome, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Outcome, any Error>? in
            guard !state.finished, let continuation = state.continuation else { return nil }
            state.finished = true
            state.continuation = nil
            return continuation
        }
        guard let continuation else { return }
        continuation.resume(with: result)
    }

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}

/// The three pipes of a ``ChildProcess``; `Pipe` is not marked `Sendable`.
struct UncheckedPipes: @unchecked Sendable {
    let stdin: Pipe
    let stdout: Pipe
    let stderr: Pipe
}

/// A pipe's reading end, read by one thread at a time.
struct UncheckedFileHandle: @unchecked Sendable {
    let value: FileHandle
}

/// `Process` is thread-safe for what ``ChildProcess`` does with it but not marked `Sendable`.
struct UncheckedProcess: @unchecked Sendable {
    let value: Process
    init(_ value: Process) { self.value = value }
}
