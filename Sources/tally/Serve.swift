import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TallyServer
import TallyTransport
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground.",
        discussion: """
            Socket: --socket, else $TALLY_SOCKET, else $XDG_RUNTIME_DIR/tally/tally.sock, else ~/.tally/run/tally.sock.
            Data:   --home, else $TALLY_HOME, else $XDG_DATA_HOME/tally, else ~/.local/share/tally.
            SIGINT or SIGTERM stops it gracefully: calls in flight finish first.
            """
    )

    @Option(help: "Path of the Unix socket to listen on.")
    var socket: String?

    @Option(help: "Folder of the data (SQLite store and artifacts).")
    var home: String?

    @Option(name: .customLong("allow-group"), help: "Also allow peers whose primary group id is this gid.")
    var allowGroup: UInt32?

    @Option(help: "Largest frame payload in bytes.")
    var maxFrameSize: Int = ConnectionLimits().maxFrameSize

    @Option(help: "Most concurrent calls per connection.")
    var maxConcurrentCalls: Int = ConnectionLimits().maxConcurrentCalls

    @Option(help: "Most connections at once.")
    var maxConnections: Int = 1024

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        // Everything the daemon creates (store, artifacts, keys, socket) is for its user only.
        umask(0o077)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tally.daemon")
        var configuration = DaemonConfiguration.resolve(
            environment: ProcessInfo.processInfo.environment,
            socket: socket,
            home: home
        )
        configuration.allowedGroupID = allowGroup
        configuration.maxConnections = maxConnections
        configuration.limits.maxFrameSize = maxFrameSize
        configuration.limits.maxConcurrentCalls = maxConcurrentCalls

        let daemon = TallyDaemon(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: daemon)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let announce = Task {
            do {
                try await daemon.waitUntilReady()
            } catch {
                return
            }
            let banner = """
                tally \(TallyDaemon.version) listening on \(configuration.socketPath)
                  store:     \(configuration.storePath)
                  artifacts: \(configuration.artifactPath)

                """
            FileHandle.standardOutput.write(Data(banner.utf8))
        }
        do {
            try await group.run()
        } catch let error as DaemonError {
            announce.cancel()
            throw ValidationErrorMessage(message: error.message)
        } catch {
            announce.cancel()
            throw ValidationErrorMessage(message: "\(error)")
        }
    }
}

/// An error whose message is shown as is, with exit code 1.
struct ValidationErrorMessage: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
