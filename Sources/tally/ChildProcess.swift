import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process in a process group of its own (so that a Ctrl-C at the terminal reaches the
/// agent, which then stops its children itself), with standard output and error read line by line.
final class ChildProcess: Sendable {
    /// How a child ended.
    enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signalled(let signal): "killed by signal \(signal)" + (signalName(signal).map { " (\($0))" } ?? "")
            }
        }
    }

    enum Stream: Sendable { case output, error }

    private static let spawnLock = NSLock()

    let pid: pid_t
    private let done: Mutex<(termination: Termination?, waiters: [CheckedContinuation<Termination, Never>])> = Mutex((nil, []))

    /// Starts `arguments[0]` (looked up in `PATH` when it has no slash) with the other arguments and
    /// exactly `environment`. `onLine` receives every line the child writes, on reader threads.
    /// - Throws: A message naming the command when it cannot be started.
    init(arguments: [String], environment: [String: String], onLine: @escaping @Sendable (Stream, String) -> Void) throws {
        precondition(!arguments.isEmpty)
        // Spawns are serialized so that no child inherits the pipes of another one before they
        // are marked close-on-exec.
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard pipe(&out) == 0 else {
            throw ValidationErrorMessage(message: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        guard pipe(&err) == 0 else {
            close(out[0])
            close(out[1])
            throw ValidationErrorMessage(message: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own; default signal handling (the agent ignores some signals).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // No blocked signals either, whatever the spawning thread blocks.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        close(out[1])
        close(err[1])
        guard status == 0 else {
            close(out[0])
            close(err[0])
            throw ValidationErrorMessage(message: "cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        let child = pid

        // Two readers and a waiter; the termination is published once all three are done, so
        // that every line has been seen when `wait()` returns.
        let group = DispatchGroup()
        for (fd, stream) in [(out[0], Stream.output), (err[0], Stream.error)] {
            group.enter()
            Thread.detachNewThread {
                Self.readLines(fd, stream: stream, onLine: onLine)
                close(fd)
                group.leave()
            }
        }
        let result = Mutex<Termination>(.exited(-1))
        group.enter()
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            let low = status & 0x7f
            result.withLock { $0 = low == 0 ? .exited((status >> 8) & 0xff) : .signalled(low) }
            group.leave()
        }
        group.notify(queue: .global()) { [self] in
            let termination = result.withLock { $0 }
            let waiters = done.withLock { state in
                state.termination = termination
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: termination) }
        }
    }

    /// Waits for the child to end and its output to be read.
    func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            let ended = done.withLock { state -> Termination? in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }

    /// Whether the child has ended (and its output has been read).
    var hasEnded: Bool { done.withLock { $0.termination != nil } }

    /// Sends a signal to the child's process group (its own children too).
    func signalGroup(_ signal: Int32) {
        guard !hasEnded else { return }
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    private static func readLines(_ fd: Int32, stream: Stream, onLine: @Sendable (Stream, String) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            pending.append(contentsOf: buffer[0..<n])
            while let newline = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<newline])
                if line.last == 0x0D { line.removeLast() }
                onLine(stream, String(decoding: line, as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { onLine(stream, String(decoding: pending, as: UTF8.self)) }
    }
}

/// The name of a common signal.
func signalName(_ signal: Int32) -> String? {
    switch signal {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGKILL: "SIGKILL"
    case SIGSEGV: "SIGSEGV"
    case SIGABRT: "SIGABRT"
    case SIGHUP: "SIGHUP"
    case SIGBUS: "SIGBUS"
    case SIGFPE: "SIGFPE"
    case SIGPIPE: "SIGPIPE"
    default: nil
    }
}
