import Foundation
import TallyClient
#if canImport(Glibc)
import Glibc
#endif

/// The real `tally serve` binary in a child process, on a temporary socket and home.
final class DaemonProcess: @unchecked Sendable {
    let socketPath: String
    let home: String
    let process: Process

    /// `tally` next to this executable (both built by the same `swift build`).
    static func defaultBinary() -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("tally").path
    }

    init(binary: String, directory: String, name: String, extraArguments: [String] = []) throws {
        socketPath = directory + "/\(name).sock"
        home = directory + "/\(name)-home"
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--socket", socketPath, "--home", home, "--log-level", "error"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits until the daemon answers on its socket.
    func waitUntilReady(timeout: Duration = .seconds(60)) async throws -> TallyClient {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                return try await TallyClient.connect(socketPath: socketPath, clientName: "tally-bench")
            } catch {
                if ContinuousClock.now > deadline || !process.isRunning { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// VmRSS and VmHWM of the daemon, in bytes.
    func memory() -> (rss: Double, hwm: Double) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (.nan, .nan) }
        var rss = Double.nan
        var hwm = Double.nan
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kib = Double(parts[1]) else { continue }
            if parts[0] == "VmRSS:" { rss = kib * 1024 }
            if parts[0] == "VmHWM:" { hwm = kib * 1024 }
        }
        return (rss, hwm)
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A fresh temporary folder (short path: socket paths are limited to 108 bytes).
func makeTemporaryDirectory(prefix: String = "tally-bench") throws -> String {
    let base = ProcessInfo.processInfo.environment["TALLY_BENCH_DIR"] ?? NSTemporaryDirectory()
    var template = Array((base + "/\(prefix)-XXXXXX").utf8CString)
    guard let result = mkdtemp(&template) else { throw POSIXError(.EIO) }
    return String(cString: result)
}
