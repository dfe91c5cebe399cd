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

    @OptionGroup var options: ClientOptions

    @Flag(help: "Open the URL in a browser ($BROWSER, else xdg-open) as well as printing it.")
    var open = false

    func run() async throws {
        let info = try await options.withClient("ui") { try await $0.system.info(options: options.unary) }
        guard !info.dashboardUrl.isEmpty else {
            throw ValidationErrorMessage(message: "the daemon serves no dashboard (it was started with --http off, or is older than the dashboard); restart it with `tally serve --http 127.0.0.1:7311`")
        }
        if options.json {
            print(JSONValue.object(["dashboardUrl": .string(info.dashboardUrl)]).serialized())
        } else {
            print(info.dashboardUrl)
        }
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
