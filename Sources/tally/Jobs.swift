import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List, inspect, cancel and delete background jobs (evaluations and sweeps).",
        subcommands: [List.self, Show.self, Cancel.self, Remove.self, Items.self],
        aliases: ["job"]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List jobs, newest first.",
            aliases: ["list"]
        )

        @OptionGroup var client: ClientOptions

        @OptionGroup var filter: JobListOptions

        @Option(help: ArgumentHelp("Only jobs of this kind (classification_eval or sweep).", valueName: "kind"))
        var kind: String?

        func run() async throws {
            let response = try await filter.fetch(kind: kind ?? "", client: client, command: "jobs")
            if client.json {
                printJSON(response)
                return
            }
            var table = Table(["ID", "KIND", "STATUS", "PROGRESS", "CREATED", "DURATION", "DATASET", "MODELS"], numeric: ["PROGRESS"])
            for j in response.jobs {
                var dataset = "-"
                var models = "-"
                if case .classification(let config)? = j.config {
                    dataset = config.dataset
                    models = config.models.joined(separator: ",")
                }
                table.add([j.id, j.kind, JobFormat.status(j.status), "\(j.progressCurrent)/\(j.progressTotal)",
                           Format.time(ms: j.createdAtMs), JobFormat.duration(j), dataset, models])
            }
            table.print()
            filter.noteMore(response, noun: "jobs")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job: configuration, status, progress and, once completed, its results.",
            discussion: """
                Results: one row per model (accuracy, average confidence, p50/p95 latency, macro and weighted F1,
                expected calibration error), then for each model its confusion matrix (rows: actual label, columns:
                predicted), per-label precision, recall, F1 and support, and the non-empty reliability bins.
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The job's id.", completion: Completion.jobs)
        var job: String

        func run() async throws {
            let j = try await client.withClient("jobs") { c in
                var request = GetJobRequest()
                request.jobId = job
                return try await c.experiments.getJob(request, options: client.unary)
            }
            if client.json {
                printJSON(j)
                return
            }
            JobFormat.printDetails(j)
            if let sweep = j.results?.sweep, case .sweep? = j.config {
                print()
                SweepFormat.printResults(sweep, metric: JobFormat.sweepMetric(j))
            } else if let cv = j.results?.crossValidation, case .crossValidation? = j.config {
                print()
                for line in CrossValidationFormat.lines(cv) { print(line) }
            } else if let results = j.results, j.status == .completed {
                print()
                JobFormat.printResults(results, labels: JobFormat.labelOrder(j))
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a pending or running job.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The job's id.", completion: Completion.jobs)
        var job: String

        func run() async throws {
            let j = try await client.withClient("jobs") { c in
                var request = CancelJobRequest()
                request.jobId = job
                return try await c.experiments.cancelJob(request, options: client.unary)
            }
            if client.json {
                printJSON(j)
            } else {
                print(("cancelled job \(j.id) at \(j.progressCurrent)/\(j.progressTotal)").terminalSafe)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete a job that is not running, with its item results (its tracking runs stay).",
            aliases: ["delete"]
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The job's id.", completion: Completion.jobs)
        var job: String

        func run() async throws {
            let response = try await client.withClient("jobs") { c in
                var request = DeleteJobRequest()
                request.jobId = job
                return try await c.experiments.deleteJob(request, options: client.unary)
            }
            if client.json {
                printJSON(response)
            } else {
                print(("deleted job \(job)").terminalSafe)
            }
        }
    }

    struct Items: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a job's per-item results.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The job's id.", completion: Completion.jobs)
        var job: String

        @Option(help: "Only this model's results.")
        var model: String?

        @Flag(help: "Only failed items.")
        var errors = false

        @Option(help: ArgumentHelp("Show at most this many (default 50).", valueName: "n"))
        var limit: Int?

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            let want = limit ?? 50
            let response = try await client.withClient("jobs") { c in
                var request = ListJobItemsRequest()
                request.jobId = job
                request.model = model ?? ""
                request.errorsOnly = errors
                return try await collectPages(want: want) { size, token in
                    request.pageSize = size
                    request.pageToken = token
                    return try await c.experiments.listJobItems(request, options: client.unary)
                }
            }
            if client.json {
                printJSON(response)
                return
            }
            var table = Table(["MODEL", "ITEM", "ACTUAL", "PREDICTED", "CONF", "ALTERNATIVES", "LATENCY", "ERROR", "TEXT"], numeric: ["CONF", "LATENCY"])
            for i in response.items {
                let failed = !i.error.isEmpty
                table.add([i.model, i.itemId, i.actual, failed ? "ERROR" : i.predicted, Format.number(i.confidence),
                           JobFormat.alternatives(i), Format.duration(ms: Int64(i.latencyMs.rounded())),
                           failed ? JobFormat.oneLine(i.error, 60) : "-", JobFormat.oneLine(i.excerpt, 40)])
            }
            table.print()
            if UInt64(response.items.count) < response.totalCount {
                printError("(\(response.items.count) of \(response.totalCount) items; --limit N for more)")
            }
        }
    }
}

/// How jobs, their configuration and their results look in tables.
/// The `--status` and `--limit` of `jobs ls` and `sweeps ls`.
struct JobListOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only those with this status (pending, running, completed, failed, cancelled); repeatable.", valueName: "status"))
    var status: [String] = []

    @Option(help: ArgumentHelp("Show at most this many (default 50).", valueName: "n"))
    var limit: Int?

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        for s in status where JobFormat.parseStatus(s) == nil {
            throw ValidationError("--status must be pending, running, completed, failed or cancelled, got \"\(s)\"")
        }
    }

    /// The jobs of `kind` (all kinds when empty), newest first, up to the limit.
    func fetch(kind: String, client: ClientOptions, command: String) async throws -> ListJobsResponse {
        try await client.withClient(command) { c in
            var request = ListJobsRequest()
            request.statuses = status.compactMap(JobFormat.parseStatus)
            request.kind = kind
            return try await collectPages(want: limit ?? 50) { size, token in
                request.pageSize = size
                request.pageToken = token
                return try await c.experiments.listJobs(request, options: client.unary)
            }
        }
    }

    /// Says on standard error when more matched than were shown.
    func noteMore(_ response: ListJobsResponse, noun: String) {
        if UInt64(response.jobs.count) < response.totalCount {
            printError("(\(response.jobs.count) of \(response.totalCount) \(noun); --limit N for more)")
        }
    }
}

enum JobFormat {
    /// "tech 0.3, politics 0.1": the labels a model considered besides its choice, with its
    /// confidence when it gave one; "-" when none.
    static func alternatives(_ item: ItemResult) -> String {
        let labels = item.alternativeLabels.isEmpty
            ? item.alternatives.map { id in "\(id)" }
            : item.alternativeLabels.map { label in label.confidence.map { "\(label.id) \(Format.number($0))" } ?? label.id }
        return labels.isEmpty ? "-" : labels.joined(separator: ", ")
    }

    static func parseStatus(_ text: String) -> JobStatus? {
        switch text.lowercased() {
        case "pending": .pending
        case "running": .running
        case "completed": .completed
        case "failed": .failed
        case "cancelled", "canceled": .cancelled
        default: nil
        }
    }

    static func status(_ status: JobStatus) -> String {
        switch status {
        case .pending: "pending"
        case .running: "running"
        case .completed: "completed"
        case .failed: "failed"
        case .cancelled: "cancelled"
        default: "unknown"
        }
    }

    /// From start to end, or to now while running; "-" before it starts.
    static func duration(_ j: Job) -> String {
        guard j.startedAtMs > 0 else { return "-" }
        let end = j.completedAtMs > 0 ? j.completedAtMs : Int64(Date().timeIntervalSince1970 * 1000)
        return Format.duration(ms: max(0, end - j.startedAtMs))
    }

    static func percent(_ current: UInt64, _ total: UInt64) -> String {
        total > 0 ? "\(current * 100 / total)%" : "-"
    }

    /// Text on one line, cut to `limit` characters with an ellipsis.
    static func oneLine(_ text: String, _ limit: Int) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }

    static func printDetails(_ j: Job) {
        var fields: [(String, String)] = [
            ("id", j.id),
            ("kind", j.kind),
            ("status", status(j.status)),
        ]
        if !j.error.isEmpty { fields.append(("error", j.error)) }
        fields += [
            ("progress", "\(j.progressCurrent)/\(j.progressTotal) (\(percent(j.progressCurrent, j.progressTotal)))"),
            ("created", Format.time(ms: j.createdAtMs)),
            ("started", Format.time(ms: j.startedAtMs)),
            ("ended", Format.time(ms: j.completedAtMs)),
            ("updated", Format.time(ms: j.updatedAtMs)),
            ("duration", duration(j)),
        ]
        if case .classification(let c)? = j.config {
            let sampling = c.sampling == .stratified ? "stratified" : "random"
            fields += [
                ("dataset", c.datasetId.isEmpty ? c.dataset : "\(c.dataset) (\(c.datasetId))"),
                ("provider", c.provider),
                ("models", c.models.joined(separator: ", ")),
                ("sample", "\(c.sampleSize) items, \(sampling), seed \(c.seed)"),
                ("concurrency", String(c.concurrency)),
                ("request timeout", Format.duration(ms: Int64(c.requestTimeoutMs))),
                ("retries", c.retries.map { String($0) } ?? "-"),
                ("time limit", c.timeLimitMs == 0 ? "none" : Format.duration(ms: Int64(clamping: c.timeLimitMs))),
                ("prompt", c.promptTemplate.isEmpty ? "default" : "custom (\(c.promptTemplate.count) characters)"),
                ("experiment", j.experimentId.isEmpty ? c.experiment : "\(c.experiment) (\(j.experimentId))"),
                ("labels", c.labels.map(\.id).joined(separator: ", ")),
            ]
        }
        if case .crossValidation(let c)? = j.config {
            fields += [
                ("folds", String(c.folds)),
                ("metrics", c.metrics.isEmpty ? "every test score" : c.metrics.joined(separator: ", ") + (c.maximize ? " (maximize)" : "")),
                ("params", SweepFormat.params(c.params)),
                ("parallel", String(c.maxParallel)),
            ]
            if !c.sweepId.isEmpty { fields.append(("from", "sweep \(c.sweepId), trial \(c.trialId)")) }
        }
        if case .sweep(let c)? = j.config {
            fields += [
                ("method", SweepFormat.method(c.method) + (c.method == .bayesian ? " (TPE after \(c.startupTrials ?? 10) random trials)" : "")),
                ("objective", "\(SweepFormat.direction(c.objective?.direction ?? .minimize)) \(SweepFormat.metric(c))"),
                ("trials", c.maxTrials > 0 ? String(c.maxTrials) : (c.totalCombinations > 0 ? "\(c.totalCombinations) (the grid)" : "until the time limit")),
                ("retries", c.retries == 0 ? "none" : "\(c.retries) per trial, after \(Format.duration(ms: Int64(clamping: c.retryBackoffMs))) doubling"),
                ("parallel", String(max(1, c.maxParallel))),
            ]
            if c.timeLimitMs > 0 { fields.append(("time limit", Format.duration(ms: Int64(clamping: c.timeLimitMs)))) }
            fields += [
                ("seed", String(c.seed)),
                ("pruner", c.pruner?.enabled == true ? "median (min trials \(c.pruner?.minTrials ?? 0), warmup \(c.pruner?.warmupSteps ?? 0) steps)" : "off"),
                ("heartbeat", Format.duration(ms: Int64(clamping: c.heartbeatTimeoutMs))),
                ("experiment", (c.experiment.isEmpty ? "sweep-\(j.id)" : c.experiment) + (j.experimentId.isEmpty ? "" : " (\(j.experimentId))")),
            ]
            for p in c.params { fields.append(("param \(p.name)", SweepFormat.space(p))) }
            for (name, value) in c.fixed.sorted(by: { $0.key < $1.key }) { fields.append(("fixed \(name)", Format.param(value))) }
        }
        printFields(fields)
    }

    /// The objective metric of a sweep job ("score" by default).
    static func sweepMetric(_ j: Job) -> String {
        if case .sweep(let c)? = j.config { return SweepFormat.metric(c) }
        return "score"
    }

    /// The label ids of a job in the dataset's order.
    static func labelOrder(_ j: Job) -> [String] {
        if case .classification(let c)? = j.config { return c.labels.map(\.id) }
        return []
    }

    /// The summary table: one row per model.
    static func summaryTable(_ results: JobResults) -> Table {
        let headers = ["MODEL", "ACCURACY", "AVG CONF", "P50 LATENCY", "P95 LATENCY", "MACRO F1", "WEIGHTED F1", "ECE", "ERRORS", "ITEMS", "RUN"]
        var table = Table(headers, numeric: Set(headers).subtracting(["MODEL", "RUN"]))
        for m in results.models {
            table.add([
                m.model, Format.number(m.accuracy), Format.number(m.averageConfidence),
                Format.duration(ms: Int64(m.p50LatencyMs.rounded())), Format.duration(ms: Int64(m.p95LatencyMs.rounded())),
                Format.number(m.macroF1), Format.number(m.weightedF1), Format.number(m.expectedCalibrationError),
                String(m.errors), String(m.total), m.runId.isEmpty ? "-" : m.runId,
            ])
        }
        return table
    }

    /// Every table of a completed job's results.
    static func printResults(_ results: JobResults, labels: [String]) {
        print("results")
        summaryTable(results).print(indent: "  ")
        for m in results.models {
            print("\n" + ("model \(m.model)" + (m.runId.isEmpty ? "" : " (run \(m.runId))")).terminalSafe)
            // Labels in the dataset's order, then any others seen, with ERROR last.
            var order = labels
            let seen = Set(m.confusion.keys).union(m.confusion.values.flatMap { $0.predicted.keys }).union(m.perLabel.keys)
            order += seen.subtracting(order).subtracting(["ERROR"]).sorted()
            let actualRows = order.filter { m.confusion[$0] != nil || (m.perLabel[$0]?.support ?? 0) > 0 }
            var columns = order.filter { label in m.confusion.values.contains { ($0.predicted[label] ?? 0) > 0 } || actualRows.contains(label) }
            if m.confusion.values.contains(where: { ($0.predicted["ERROR"] ?? 0) > 0 }) { columns.append("ERROR") }

            print("  confusion (rows: actual, columns: predicted)")
            var confusion = Table(["ACTUAL"] + columns, numeric: Set(columns))
            for actual in actualRows {
                let row = m.confusion[actual]?.predicted ?? [:]
                confusion.add([actual] + columns.map { String(row[$0] ?? 0) })
            }
            confusion.print(indent: "    ")

            print("\n  per label")
            var perLabel = Table(["LABEL", "PRECISION", "RECALL", "F1", "SUPPORT"], numeric: ["PRECISION", "RECALL", "F1", "SUPPORT"])
            for label in order {
                guard let s = m.perLabel[label] else { continue }
                perLabel.add([label, Format.number(s.precision), Format.number(s.recall), Format.number(s.f1), String(s.support)])
            }
            perLabel.print(indent: "    ")

            print("\n  reliability (non-empty bins)")
            var bins = Table(["CONFIDENCE", "COUNT", "MEAN CONF", "ACCURACY", "GAP"], numeric: ["COUNT", "MEAN CONF", "ACCURACY", "GAP"])
            for b in m.reliability where b.count > 0 {
                bins.add([String(format: "%.1f-%.1f", b.lower, b.upper), String(b.count), Format.number(b.meanConfidence),
                          Format.number(b.accuracy), Format.number(b.accuracy - b.meanConfidence)])
            }
            bins.print(indent: "    ")
        }
    }
}
