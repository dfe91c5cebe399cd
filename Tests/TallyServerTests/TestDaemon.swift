import Foundation
import Logging
import TallyClient
import TallyServer
import TallyTransport

/// A daemon on a temporary socket and data folder, for one test.
struct TestDaemon {
    let daemon: TallyDaemon
    let directory: String
    let task: Task<Void, any Error>

    var socketPath: String { daemon.configuration.socketPath }

    /// A short temporary folder (socket paths are limited to 107 bytes).
    static func makeDirectory() throws -> String {
        let path = "/tmp/tally-test-" + String(UUID().uuidString.prefix(8)).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func start(
        directory: String? = nil,
        limits: ConnectionLimits = ConnectionLimits(),
        maxConnections: Int = 1024,
        shutdownGracePeriod: Duration = .seconds(30),
        configure: (inout DaemonConfiguration) -> Void = { _ in }
    ) async throws -> TestDaemon {
        let directory = try directory ?? makeDirectory()
        var configuration = DaemonConfiguration(socketPath: directory + "/run/tally.sock", homeDirectory: directory + "/home")
        configuration.limits = limits
        configuration.maxConnections = maxConnections
        configuration.shutdownGracePeriod = shutdownGracePeriod
        configure(&configuration)
        var logger = Logger(label: "tally.test")
        logger.logLevel = .warning
        let daemon = TallyDaemon(configuration: configuration, logger: logger)
        let task = Task { try await daemon.run() }
        try await daemon.waitUntilReady()
        return TestDaemon(daemon: daemon, directory: directory, task: task)
    }

    func client(name: String = "tally-test") async throws -> TallyClient {
        try await TallyClient.connect(socketPath: socketPath, clientName: name)
    }

    /// Shuts the daemon down gracefully and removes its folder.
    func stop() async throws {
        daemon.shutdown()
        try await task.value
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` against a fresh daemon, stopping it afterwards whatever happens.
func withDaemon<T>(
    limits: ConnectionLimits = ConnectionLimits(),
    maxConnections: Int = 1024,
    _ body: (TestDaemon) async throws -> T
) async throws -> T {
    let daemon = try await TestDaemon.start(limits: limits, maxConnections: maxConnections)
    do {
        let result = try await body(daemon)
        try await daemon.stop()
        return result
    } catch {
        try? await daemon.stop()
        throw error
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
