import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The real `tally serve` in a child process with extra arguments, optionally under a lower
/// descriptor limit, with readings of its memory and CPU time from /proc.
final class SpawnedDaemon: @unchecked Sendable {
    let directory: String
    let daemon: DaemonProcess
    var socketPath: String { daemon.socketPath }
    var process: Process { daemon.process }

    /// Starts the daemon in a new temporary folder.
    /// - Parameters:
    ///   - arguments: Extra arguments for `tally serve`.
    ///   - fileLimit: A soft and hard `RLIMIT_NOFILE` for the daemon (set by `prlimit`).
    init(arguments: [String] = [], fileLimit: Int? = nil) throws {
        directory = try TestDaemon.makeDirectory()
        daemon = try DaemonProcess(
            socketPath: directory + "/run/tally.sock", home: directory + "/home",
            arguments: arguments, fileLimit: fileLimit, quiet: true
        )
    }

    deinit {
        stop()
    }

    /// The daemon's pid (`prlimit` executes the daemon in its own process).
    var pid: Int32 { process.processIdentifier }

    var isRunning: Bool { process.isRunning }

    /// Waits until the daemon completes a handshake on its socket.
    func waitUntilReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let raw = try? RawSocket(path: socketPath), (try? await raw.handshake()) != nil { return }
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw POSIXError(.ETIMEDOUT, userInfo: [NSLocalizedDescriptionKey: "the daemon did not become ready"])
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Resident memory, in bytes (VmRSS of /proc/PID/status).
    func residentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// CPU time used so far (user + system), in seconds (/proc/PID/stat).
    func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Descriptors the daemon has open.
    func openDescriptors() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    func stop() {
        daemon.terminate()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
