import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// `tally ui`: the dashboard's URL, with its token, from the running daemon.
struct UI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Print the dashboard's URL (with its access token); --open opens it in a browser.",
        discussion: """
            The daemon serves the dashboard on 127.0.0.1:7311 by default (`tally serve --http`). \
            The URL carries the token that opens it; the browser keeps it in a cookie and drops it \
            from the address. Keep the URL to yourself: it gives access to all of Tally's data.
            """
    )

    @Option(help: "Path of the daemon's Unix socket (default: $TALLY_SOCKET or the per-user default).")
    var socket: String?

    @Flag(help: "Open the URL in a browser ($BROWSER, else xdg-open) instead of only printing it.")
    var open = false

    @Option(help: "Seconds to wait for the daemon's answer.")
    var timeout: Double = 5

    func run() async throws {
        let info: InfoResponse
        do {
            let client = try await TallyClient.connect(socketPath: socket, clientName: "tally-cli/ui")
            defer { Task { await client.close() } }
            info = try await client.system.info(options: CallOptions(timeout: .milliseconds(Int64(timeout * 1000))))
        } catch let error as RPCError {
            throw ValidationErrorMessage(message: "\(error.code.name): \(error.message)")
        }
        guard !info.dashboardUrl.isEmpty else {
            throw ValidationErrorMessage(message: "the daemon serves no dashboard (it was started with --http off, or is older than the dashboard); restart it with `tally serve --http 127.0.0.1:7311`")
        }
        print(info.dashboardUrl)
        guard open else { return }
        let environment = ProcessInfo.processInfo.environment
        let candidates = (environment["BROWSER"].map { $0.split(separator: ":").map(String.init) } ?? []) + ["xdg-open", "sensible-browser", "chromium", "firefox"]
        for candidate in candidates where !candidate.isEmpty {
            guard let path = Self.executable(named: candidate, path: environment["PATH"] ?? "/usr/bin:/bin") else { continue }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = [info.dashboardUrl]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
                return
            } catch {
                continue
            }
        }
        throw ValidationErrorMessage(message: "no browser found to open the URL (set $BROWSER); open the URL above by hand")
    }

    static func executable(named name: String, path: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
