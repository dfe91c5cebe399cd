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

    init(socketPath: String, home: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw POSIXError(.ENOENT, userInfo: [NSLocalizedDescriptionKey: "tally binary not found at \(Self.binary); run `swift build` first"])
        }
        self.socketPath = socketPath
        self.home = home
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--socket", socketPath, "--home", home, "--log-level", "error"]
        process.standardOutput = FileHandle.nullDevice
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
