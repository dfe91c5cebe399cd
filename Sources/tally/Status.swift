import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC
import TallyTransport

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the running daemon's version, pid, uptime and paths."
    )

    @Option(help: "Path of the daemon's Unix socket (default: $TALLY_URL, else $TALLY_SOCKET, else the per-user default).")
    var socket: String?

    @Option(help: ArgumentHelp("The daemon's URL: unix:///PATH, tally+tls://HOST:PORT or tally+tcp://HOST:PORT (default: $TALLY_URL).", valueName: "url"))
    var url: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Seconds to wait for the daemon's answer.")
    var timeout: Double = 5

    func run() async throws {
        let info: InfoResponse
        let hello: HelloReply
        let transport: String
        let peer: String?
        do {
            let client = try await TallyClient.connect(url: url, socketPath: socket, clientName: "tally-cli/status")
            defer { Task { await client.close() } }
            info = try await client.system.info(options: CallOptions(timeout: .milliseconds(Int64(timeout * 1000))))
            hello = client.connection.serverHello
            transport = client.connection.transportName
            peer = await client.connection.peerCertificateSubject()
        } catch let error as RPCError {
            throw ValidationErrorMessage(message: "\(error.code.name): \(error.message)")
        }
        if json {
            // The daemon's Info in proto3 JSON, as every --json (docs/cli.md, "JSON"), with how
            // this client reached it and who the daemon takes it for.
            guard case .object(var object) = info.protoJSON else {
                printJSON(info)
                return
            }
            var connection: [String: JSONValue] = [
                "transport": .string(transport), "user": .string(hello.user), "role": .string(hello.role),
            ]
            if let peer { connection["peerCertificateSubject"] = .string(peer) }
            object["connection"] = .object(connection)
            print(JSONValue.object(object).serialized())
            return
        }
        let allRows: [(String, String)] = [
            ("version", info.version),
            ("protocol", "\(info.protocolVersion)"),
            ("pid", "\(info.pid)"),
            ("uptime", Self.formatUptime(ms: info.uptimeMs)),
            ("socket", info.socketPath),
            ("listen", info.listenUrls.joined(separator: ", ")),
            ("transport", transport + (peer.map { " (daemon certificate: \($0))" } ?? "")),
            ("you", "\(hello.user) (\(hello.role))"),
            ("store", info.storePath),
            ("artifacts", info.artifactPath),
            ("connections", "\(info.openConnections)"),
            ("calls in flight", "\(info.callsInFlight)"),
            ("migrations", info.migrations.joined(separator: ", ")),
        ]
        let rows = allRows.filter { !$0.1.isEmpty }
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
