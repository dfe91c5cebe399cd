import ArgumentParser
import Dispatch
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

#if canImport(Glibc)
import Glibc
#endif

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow a run, a job or every job live.",
        subcommands: [WatchRun.self, WatchJob.self, WatchJobsCommand.self]
    )
}

struct WatchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Follow a run's metrics until it ends, then print its final status.",
        discussion: """
            On a terminal, one line shows the latest value of every metric and is redrawn in place.
            When the output is not a terminal, a plain line is printed per step: "step 12  acc=0.91  loss=0.25".
            --json prints every RunEvent as one JSON object per line. Ctrl-C stops watching (exit 130).
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
    var run: String

    @Flag(help: "Also show the points stored before watching started.")
    var history = false

    func run() async throws {
        let interactive = isatty(STDOUT_FILENO) == 1 && !client.json
        let printer = WatchPrinter(interactive: interactive, json: client.json)
        let (client, run, history) = (client, run, history)
        try await runInterruptibly(finish: { printer.endLine() }) {
            try await client.withClient("watch") { c in
                var request = WatchRunRequest()
                request.runId = try await c.tracking.runID(run, options: client.unary)
                request.includeHistory = history
                for try await event in try await c.tracking.watchRun(request, options: client.streaming) {
                    printer.handle(event)
                }
            }
        }
    }
}

/// Turns run events into terminal output.
final class WatchPrinter: @unchecked Sendable {
    let interactive: Bool
    let json: Bool
    private var latest: [String: (step: Int64, value: Double)] = [:]
    private var lineOpen = false
    /// Lines of the redrawn block on screen (the cursor is at the end of the last).
    private var drawn = 0
    private let lock = NSLock()

    init(interactive: Bool, json: Bool) {
        self.interactive = interactive
        self.json = json
    }

    func handle(_ event: RunEvent) {
        lock.lock()
        defer { lock.unlock() }
        if json {
            print(event.jsonString(pretty: false))
            fflush(nil)
            return
        }
        switch event.event {
        case .snapshot(let r)?:
            emit("watching run \(r.name.isEmpty ? r.id : "\(r.name) (\(r.id))"), \(Format.status(r.status)), started \(Format.time(ms: r.startedAtMs))")
            for m in r.metrics {
                latest[m.key] = (m.lastStep, m.lastValue)
            }
        case .points(let p)?:
            var byStep: [Int64: [(String, Double)]] = [:]
            for i in 0..<p.values.count {
                let key = Int(p.keyIndex[i]) < p.keys.count ? p.keys[Int(p.keyIndex[i])] : "?"
                let step = i < p.steps.count ? p.steps[i] : 0
                byStep[step, default: []].append((key, p.values[i]))
                if let old = latest[key], old.step > step { continue }
                latest[key] = (step, p.values[i])
            }
            if interactive {
                let step = latest.values.map(\.step).max() ?? 0
                let parts = latest.keys.sorted().map { "\($0)=\(Format.number(latest[$0]!.value))".terminalSafe }
                // Within the terminal's width: a line that would wrap could not be redrawn in
                // place, so the values go on as many lines as they need, redrawn together.
                let lines = WatchPrinter.layout(parts, first: "step \(step)  ", width: terminalColumns())
                var out = "\r\u{1B}[K"
                for _ in 0..<max(0, drawn - 1) { out += "\u{1B}[A\u{1B}[K" }
                print(out + lines.joined(separator: "\n"), terminator: "")
                fflush(nil)
                drawn = lines.count
                lineOpen = true
            } else {
                for step in byStep.keys.sorted() {
                    let values = byStep[step]!.sorted { $0.0 < $1.0 }.map { "\($0.0)=\(Format.number($0.1))" }
                    emit("step \(step)  " + values.joined(separator: "  "))
                }
            }
        case .params(let p)?:
            emit("params  " + p.params.keys.sorted().map { "\($0)=\(Format.param(p.params[$0]))" }.joined(separator: "  "))
        case .status(let r)?:
            var line = "run \(r.id) \(Format.status(r.status)) after \(Format.duration(ms: r.durationMs))"
            if !r.error.isEmpty { line += ": \(r.error)" }
            emit(line, status: Format.status(r.status))
            if !r.metrics.isEmpty {
                let parts = r.metrics.map { "\($0.key)=\(Format.number($0.lastValue))" }
                if interactive {
                    for line in WatchPrinter.layout(parts.map(\.terminalSafe), first: "final   ", width: terminalColumns()) { emit(line) }
                } else {
                    emit("final   " + parts.joined(separator: "  "))
                }
            }
        case nil:
            break
        }
    }

    /// `parts` after `first`, two spaces apart, on lines shorter than `width` columns; a part
    /// that alone is too wide is cut, ending with "…". Later lines are indented by two spaces.
    static func layout(_ parts: [String], first: String, width: Int) -> [String] {
        let limit = max(20, width - 1)
        func cut(_ text: String, _ room: Int) -> String {
            text.count <= room ? text : String(text.prefix(max(0, room - 1))) + "…"
        }
        var lines: [String] = []
        var line = cut(first, limit)
        var empty = true
        for part in parts {
            let separator = empty ? "" : "  "
            if line.count + separator.count + part.count <= limit {
                line += separator + part
            } else if empty {
                line += cut(part, limit - line.count)
            } else {
                lines.append(line)
                line = "  " + cut(part, limit - 2)
            }
            empty = false
        }
        lines.append(line)
        return lines
    }

    /// Prints a whole line, after finishing the redrawn one; the first `status` word in it is
    /// coloured (on a terminal).
    private func emit(_ line: String, status: String? = nil) {
        if lineOpen {
            print()
            lineOpen = false
            drawn = 0
        }
        print(Style.line(line, status: status))
        fflush(nil)
    }

    func endLine() {
        lock.lock()
        defer { lock.unlock() }
        if lineOpen {
            print()
            fflush(nil)
            lineOpen = false
            drawn = 0
        }
    }
}
