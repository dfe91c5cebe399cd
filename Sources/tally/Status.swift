import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the running daemon's version, pid, uptime and paths."
    )

    @Option(help: "Path of the daemon's Unix socket (default: $TALLY_SOCKET or the per-user default).")
    var socket: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Seconds to wait for the daemon's answer.")
    var timeout: Double = 5

    func run() async throws {
        let info: InfoResponse
        do {
            let client = try await TallyClient.connect(socketPath: socket, clientName: "tally-cli/status")
            defer { Task { await client.close() } }
            info = try await client.system.info(options: CallOptions(timeout: .milliseconds(Int64(timeout * 1000))))
        } catch let error as RPCError {
            throw ValidationErrorMessage(message: "\(error.code.name): \(error.message)")
        }
        if json {
            printJSON(info)  // proto3 JSON, as every --json (docs/cli.md, "JSON")
            return
        }
        let rows: [(String, String)] = [
            ("version", info.version),
            ("protocol", "\(info.protocolVersion)"),
            ("pid", "\(info.pid)"),
            ("uptime", Self.formatUptime(ms: info.uptimeMs)),
            ("socket", info.socketPath),
            ("store", info.storePath),
            ("artifacts", info.artifactPath),
            ("connections", "\(info.openConnections)"),
            ("calls in flight", "\(info.callsInFlight)"),
            ("migrations", info.migrations.joined(separator: ", ")),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        print("tally daemon is running")
        for (key, value) in rows {
            print(("  " + key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value).terminalSafe)
        }
    }

    static func formatUptime(ms: UInt64) -> String {
        let seconds = ms / 1000
        let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60)
        if h > 0 { return "\(h)h \(m)m \(s)s" }
        if m > 0 { return "\(m)m \(s)s" }
        return String(format: "%.1fs", Double(ms) / 1000)
    }
}
