import Foundation
import TallyClient
#if canImport(Glibc)
import Glibc
#endif

/// The real `tally` binary running `serve` in a child process.
final class DaemonProcess: @unchecked Sendable {
    let socketPath: String
    let home: String
    let process: Process

    /// The binary built by `swift build`, next to the test bundle or under .build/debug.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["TALLY_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/tally").path
    }

    /// Starts `tally serve` on `socketPath` and `home`.
    /// - Parameters:
    ///   - arguments: Extra arguments for `tally serve`.
    ///   - fileLimit: A soft and hard `RLIMIT_NOFILE` for the daemon (set by `prlimit`, which then
    ///     executes the daemon in its own process, so `process` is the daemon's).
    ///   - quiet: Discard the daemon's standard error too.
    init(socketPath: String, home: String, arguments: [String] = [], fileLimit: Int? = nil, quiet: Bool = false) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw POSIXError(.ENOENT, userInfo: [NSLocalizedDescriptionKey: "tally binary not found at \(Self.binary); run `swift build` first"])
        }
        self.socketPath = socketPath
        self.home = home
        process = Process()
        var command = [Self.binary, "serve", "--socket", socketPath, "--home", home, "--log-level", "error"] + arguments
        if let fileLimit {
            command = ["/usr/bin/env", "prlimit", "--nofile=\(fileLimit):\(fileLimit)", "--"] + command
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        if quiet { process.standardError = FileHandle.nullDevice }
        try process.run()
    }

    /// Waits until the daemon answers on its socket.
    func waitUntilReady(timeout: Duration = .seconds(30)) async throws -> TallyClient {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                return try await TallyClient.connect(socketPath: socketPath)
            } catch {
                if ContinuousClock.now > deadline || !process.isRunning { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// A daemon a test forgot (or could not reach, after a failed expectation) to stop: it must
    /// not outlive the test run, holding the runner's output open.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
