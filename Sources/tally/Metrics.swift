import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Metrics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Show a run's metric history (or summaries).",
        discussion: """
            The table has a STEP column and one column per key; a key without a point at a step shows "-".
            --json prints the history chunks (MetricHistoryChunk) as a JSON array, or the summaries with --summary.
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
    var run: String

    @Argument(help: "Metric keys to show (default: every key).")
    var keys: [String] = []

    @Option(help: ArgumentHelp("Downsample to about this many points per key (min/max buckets keep spikes).", valueName: "n"))
    var maxPoints: UInt32?

    @Option(parsing: .unconditional, help: ArgumentHelp("First step to show.", valueName: "step"))
    var from: Int64?

    @Option(parsing: .unconditional, help: ArgumentHelp("Last step to show.", valueName: "step"))
    var to: Int64?

    @Flag(help: "Show each series' summary (count, last, min, max, mean) instead of its points.")
    var summary = false

    func validate() throws {
        if let from, let to, to < from { throw ValidationError("--to must not be below --from") }
        if summary && (maxPoints != nil || from != nil || to != nil) {
            throw ValidationError("--summary does not take --max-points, --from or --to")
        }
    }

    func run() async throws {
        if summary {
            let r = try await client.withClient("metrics") { c in
                try await c.tracking.run(try await c.tracking.runID(run, options: client.unary), options: client.unary)
            }
            let metrics = keys.isEmpty ? r.metrics : r.metrics.filter { keys.contains($0.key) }
            if let missing = keys.first(where: { k in !r.metrics.contains { $0.key == k } }) {
                throw ValidationErrorMessage(message: "NOT_FOUND: run \(run) has no metric \(missing)")
            }
            if client.json {
                printJSON(metrics)
            } else {
                Metrics.summaryTable(metrics).print()
            }
            return
        }
        var request = GetMetricHistoryRequest()
        request.runId = run
        request.keys = keys
        request.minStep = from ?? 0
        request.maxStep = to ?? 0
        request.maxPoints = maxPoints ?? 0
        let chunks = try await client.withClient("metrics") { [request] c in
            var request = request
            request.runId = try await c.tracking.runID(request.runId, options: client.unary)
            var chunks: [MetricHistoryChunk] = []
            for try await chunk in try await c.tracking.getMetricHistory(request, options: client.streaming) {
                chunks.append(chunk)
            }
            return chunks
        }
        if client.json {
            printJSON(chunks)
            return
        }
        // Merge the chunks into one column per key, keyed by step.
        var order: [String] = []
        var series: [String: [Int64: Double]] = [:]
        var notes: [String: (shown: Int, total: UInt64, downsampled: Bool)] = [:]
        for chunk in chunks {
            if series[chunk.key] == nil {
                order.append(chunk.key)
                series[chunk.key] = [:]
            }
            for (step, value) in zip(chunk.steps, chunk.values) {
                series[chunk.key]![step] = value
            }
            let note = notes[chunk.key]
            notes[chunk.key] = ((note?.shown ?? 0) + chunk.steps.count, chunk.totalPoints, chunk.downsampled)
        }
        if !keys.isEmpty { order = keys.filter { series[$0] != nil } }
        let steps = Set(series.values.flatMap(\.keys)).sorted()
        var table = Table(["STEP"] + order, numeric: Set(["STEP"] + order))
        for step in steps {
            table.add([String(step)] + order.map { key in series[key]![step].map(Format.number) ?? "-" })
        }
        table.print()
        for key in order {
            if let note = notes[key], note.downsampled {
                printError("(\(key): \(note.shown) of \(note.total) points, downsampled)")
            }
        }
    }

    static func summaryTable(_ metrics: [MetricSummary]) -> Table {
        let headers = ["KEY", "LAST", "STEP", "MIN", "MAX", "MEAN", "COUNT", "UPDATED"]
        var table = Table(headers, numeric: ["LAST", "STEP", "MIN", "MAX", "MEAN", "COUNT"])
        for m in metrics {
            table.add([m.key, Format.number(m.lastValue), String(m.lastStep), Format.number(m.min), Format.number(m.max),
                       Format.number(m.mean), String(m.count), Format.time(ms: m.lastTimestampMs)])
        }
        return table
    }
}
