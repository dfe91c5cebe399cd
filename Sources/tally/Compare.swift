import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare runs: params side by side (differences marked *), best and worst run per metric.",
        discussion: "Metrics are judged on their last value, by the experiment's declared goal or by name (loss/error minimize, others maximize)."
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: ArgumentHelp("Runs to compare (with --experiments: experiments, by id or name).", valueName: "id"), completion: Completion.runs)
    var ids: [String]

    @Flag(help: "Compare every run of the given experiments.")
    var experiments = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("give at least one run id (or experiments with --experiments)") }
    }

    func run() async throws {
        let response = try await client.withClient("compare") { c in
            var request = CompareRunsRequest()
            if experiments {
                request.experimentIds = try await c.tracking.experimentIDs(ids, options: client.unary)
            } else {
                request.runIds = try await c.tracking.runIDs(ids, options: client.unary)
            }
            return try await c.tracking.compareRuns(request, options: client.unary)
        }
        if client.json {
            printJSON(response)
            return
        }
        let labels = Self.labels(response.runs)
        let label = Dictionary(zip(response.runs.map(\.runId), labels), uniquingKeysWith: { a, _ in a })

        var runs = Table(["RUN", "ID", "NAME", "STATUS"])
        for (r, l) in zip(response.runs, labels) {
            runs.add([l, r.runId, r.name, Format.status(r.status)])
        }
        print("runs")
        runs.print(indent: "  ")

        print("\nparams (* differs)")
        if response.params.isEmpty {
            print("  (none)")
        } else {
            var params = Table(["", "PARAM"] + labels)
            for p in response.params {
                params.add([p.differs ? "*" : "", p.key] + p.values.map { $0.kind == nil ? "-" : Format.param($0) })
            }
            params.print(indent: "  ")
        }

        print("\nmetrics (last values)")
        if response.metrics.isEmpty {
            print("  (none)")
        } else {
            var metrics = Table(["METRIC", "GOAL"] + labels + ["BEST", "WORST"], numeric: Set(labels))
            for m in response.metrics {
                let values = response.runs.map { r in
                    r.metrics.first { $0.key == m.key }.map { Format.number($0.lastValue) } ?? "-"
                }
                let best = m.bestRunId.isEmpty ? "-" : "\(label[m.bestRunId] ?? m.bestRunId) (\(Format.number(m.bestValue)))"
                let worst = m.worstRunId.isEmpty ? "-" : "\(label[m.worstRunId] ?? m.worstRunId) (\(Format.number(m.worstValue)))"
                // On a terminal, the best run's value is green and the worst's red.
                var styles: [Int: Style] = [:]
                for (index, run) in response.runs.enumerated() where m.bestRunId != m.worstRunId {
                    if run.runId == m.bestRunId { styles[2 + index] = .green }
                    if run.runId == m.worstRunId { styles[2 + index] = .red }
                }
                if !m.bestRunId.isEmpty { styles[2 + values.count] = .green }
                if !m.worstRunId.isEmpty { styles[3 + values.count] = .red }
                metrics.add([m.key, Format.goal(m.goal)] + values + [best, worst], styles: styles)
            }
            metrics.print(indent: "  ")
        }
    }

    /// Column labels: run names when they are distinct and not empty, else short ids.
    static func labels(_ runs: [ComparedRun]) -> [String] {
        let names = runs.map(\.name)
        if !names.contains(""), Set(names).count == names.count { return names }
        return runs.map { Format.short($0.runId, 8) }
    }
}
