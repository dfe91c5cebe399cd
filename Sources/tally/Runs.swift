import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List, search, show, start, log to, end, resume, tag and delete runs.",
        subcommands: [List.self, Show.self, Search.self, Start.self, Log.self, End.self, Resume.self, Tag.self, Note.self, Remove.self],
        aliases: ["run"]
    )

    /// Options shared by the listing commands.
    struct Paging: ParsableArguments {
        @Option(help: ArgumentHelp("Show at most this many (default 50).", valueName: "n"))
        var limit: Int?

        @Flag(help: "Show every matching run, fetching page after page.")
        var all = false

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
            if all && limit != nil { throw ValidationError("--all and --limit cannot be combined") }
        }

        var want: Int { all ? Int.max : (limit ?? 50) }

        /// Fetches pages until `want` runs or the last page.
        func collect(_ fetch: (_ pageSize: UInt32, _ token: String) async throws -> ListRunsResponse) async throws -> ListRunsResponse {
            try await collectPages(want: want, fetch)
        }

        func footer(_ response: ListRunsResponse) {
            if UInt64(response.runs.count) < response.totalCount {
                printError("(\(response.runs.count) of \(response.totalCount) runs; --limit N or --all for more)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List runs, newest first.",
            aliases: ["list"]
        )

        @OptionGroup var client: ClientOptions

        @Option(help: ArgumentHelp("Only runs of this experiment (id or name); repeatable.", valueName: "id|name"), completion: Completion.experiments)
        var experiment: [String] = []

        @Option(help: ArgumentHelp("Only direct children of this run.", valueName: "run"), completion: Completion.runs)
        var parent: String?

        @Option(name: [.customLong("started-after"), .customLong("created-after")],
                help: ArgumentHelp("Only runs started at or after this time (7d, 2026-12-01, 2026-12-01T14:30).", valueName: "when"))
        var startedAfter: String?

        @Option(name: [.customLong("started-before"), .customLong("created-before")],
                help: ArgumentHelp("Only runs started before this time.", valueName: "when"))
        var startedBefore: String?

        @OptionGroup var paging: Paging

        /// The time bounds as a filter expression (docs/filter.md), empty when none is given.
        func timeFilter() throws -> String {
            var terms: [String] = []
            if let startedAfter { terms.append("started_at >= \(try TimeBound.parse(startedAfter, option: "--started-after"))") }
            if let startedBefore { terms.append("started_at < \(try TimeBound.parse(startedBefore, option: "--started-before"))") }
            return terms.joined(separator: " and ")
        }

        func run() async throws {
            let filter = try timeFilter()
            let (response, names) = try await client.withClient("runs") { c in
                let ids = try await c.tracking.experimentIDs(experiment, options: client.unary)
                let parent = parent == nil ? nil : try await c.tracking.runID(parent!, options: client.unary)
                let response = try await paging.collect { size, token in
                    if !filter.isEmpty {  // a time range: the same listing through SearchRuns
                        var request = SearchRunsRequest()
                        request.experimentIds = ids
                        request.filter = parent.map { "parent_run_id = \"\($0)\" and \(filter)" } ?? filter
                        request.pageSize = size
                        request.pageToken = token
                        return try await c.tracking.searchRuns(request, options: client.unary)
                    }
                    var request = ListRunsRequest()
                    request.experimentIds = ids
                    request.parentRunId = parent ?? ""
                    request.pageSize = size
                    request.pageToken = token
                    return try await c.tracking.listRuns(request, options: client.unary)
                }
                return (response, try await Runs.experimentNames(response.runs, c, client))
            }
            if client.json {
                printJSON(response)
                return
            }
            var table = Table(["ID", "NAME", "EXPERIMENT", "STATUS", "STARTED", "DURATION"])
            for r in response.runs {
                table.add([r.id, r.name, names[r.experimentId] ?? r.experimentId, Format.status(r.status),
                           Format.time(ms: r.startedAtMs), Format.duration(ms: r.durationMs)])
            }
            table.print()
            paging.footer(response)
        }
    }

    static func experimentNames(_ runs: [Run], _ c: TallyClient, _ options: ClientOptions) async throws -> [String: String] {
        let lookup = ExperimentNames(client: c.tracking, options: options.unary)
        var names: [String: String] = [:]
        for id in Set(runs.map(\.experimentId)) {
            names[id] = await lookup.name(id)
        }
        return names
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run: params, metric summaries, artifacts.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
        var run: String

        func run() async throws {
            let (r, experimentName) = try await client.withClient("runs") { c in
                let r = try await c.tracking.run(try await c.tracking.runID(run, options: client.unary), options: client.unary)
                return (r, await ExperimentNames(client: c.tracking, options: client.unary).name(r.experimentId))
            }
            if client.json {
                printJSON(r)
                return
            }
            var fields: [(String, String)] = [
                ("id", r.id),
                ("name", r.name),
                ("experiment", "\(experimentName) (\(r.experimentId))"),
                ("status", Format.status(r.status)),
            ]
            if !r.error.isEmpty { fields.append(("error", r.error)) }
            if r.lastContactMs > 0 { fields.append(("last contact", Format.time(ms: r.lastContactMs))) }
            if !r.parentRunId.isEmpty { fields.append(("parent", r.parentRunId)) }
            if !r.note.isEmpty { fields.append(("note", r.note)) }
            fields += [
                ("started", Format.time(ms: r.startedAtMs)),
                ("ended", Format.time(ms: r.completedAtMs)),
                ("duration", Format.duration(ms: r.durationMs)),
                ("children", String(r.childCount)),
                ("tags", Format.tags(r.tags)),
            ]
            printFields(fields)
            print("\nparams")
            if r.params.isEmpty {
                print("  (none)")
            } else {
                var table = Table(["KEY", "VALUE"])
                for key in r.params.keys.sorted() { table.add([key, Format.param(r.params[key])]) }
                table.print(indent: "  ")
            }
            print("\nmetrics")
            if r.metrics.isEmpty {
                print("  (none)")
            } else {
                Metrics.summaryTable(r.metrics).print(indent: "  ")
            }
            print("\nartifacts")
            if r.artifacts.isEmpty {
                print("  (none)")
            } else {
                Artifacts.table(r.artifacts, showRun: false).print(indent: "  ")
            }
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search runs with a filter expression (docs/filter.md).",
            discussion: """
                Example: tally runs search 'params.lr < 0.01 and metrics.val_acc.max >= 0.9' --order-by 'metrics.val_acc.max desc'
                The table has a column for every param, metric, tag and time field the filter and the order terms mention.
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The filter; empty matches every run.")
        var filter: String = ""

        @Option(help: ArgumentHelp("Only runs of this experiment (id or name); repeatable.", valueName: "id|name"), completion: Completion.experiments)
        var experiment: [String] = []

        @Option(name: .customLong("order-by"), help: ArgumentHelp("An order term such as \"metrics.val_acc.max desc\"; repeatable.", valueName: "term"))
        var orderBy: [String] = []

        @OptionGroup var paging: Paging

        func run() async throws {
            let response = try await client.withClient("runs") { c in
                let ids = try await c.tracking.experimentIDs(experiment, options: client.unary)
                return try await paging.collect { size, token in
                    var request = SearchRunsRequest()
                    request.experimentIds = ids
                    request.filter = filter
                    request.orderBy = orderBy
                    request.pageSize = size
                    request.pageToken = token
                    return try await c.tracking.searchRuns(request, options: client.unary)
                }
            }
            if client.json {
                printJSON(response)
                return
            }
            let columns = FieldReference.scan([filter] + orderBy)
            var table = Table(["ID", "NAME", "STATUS"] + columns.map(\.header), numeric: Set(columns.filter(\.isNumeric).map(\.header)))
            for r in response.runs {
                table.add([r.id, r.name, Format.status(r.status)] + columns.map { $0.value(in: r) })
            }
            table.print()
            paging.footer(response)
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a run and print its id.",
            discussion: "Param values are typed: 3 is an integer, 0.01 a double, true/false a bool, anything else (or a value in double quotes) a string."
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The experiment's id or name.", valueName: "experiment"), completion: Completion.experiments)
        var experiment: String

        @Option(help: "Name of the run.")
        var name: String = ""

        @Option(help: ArgumentHelp("A param; repeatable.", valueName: "K=V"))
        var param: [String] = []

        @Option(help: ArgumentHelp("A tag (K=V, or K for a label); repeatable.", valueName: "K[=V]"))
        var tag: [String] = []

        @Option(help: ArgumentHelp("The run this one was started from.", valueName: "run"), completion: Completion.runs)
        var parent: String?

        @Flag(help: "Create the experiment (by name) when it does not exist.")
        var createExperiment = false

        func run() async throws {
            var request = StartRunRequest()
            request.name = name
            request.tags = try tagPairs(tag)
            request.parentRunId = parent ?? ""
            for (key, value) in try pairs(param, option: "--param") {
                request.params[key] = parseParamValue(value)
            }
            let r = try await client.withClient("runs") { c in
                var request = request
                if let parent { request.parentRunId = try await c.tracking.runID(parent, options: client.unary) }
                var ref = ExperimentRef()
                if createExperiment {
                    ref.ref = .name(experiment)
                    request.createExperiment = true
                } else {
                    ref.ref = .id(try await c.tracking.experiment(experiment, options: client.unary).id)
                }
                request.experiment = ref
                return try await c.tracking.startRun(request, options: client.unary)
            }
            if client.json {
                printJSON(r)
            } else {
                print(r.id)
            }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log metric points (and params) to a running run.",
            discussion: "Example: tally runs log RUN loss=0.25 acc=0.91 --step 100"
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
        var run: String

        @Argument(help: ArgumentHelp("Metric values (numbers, nan, inf).", valueName: "KEY=VALUE"))
        var points: [String] = []

        // Unconditional: a negative step ("-5") is a value, not an option.
        @Option(parsing: .unconditional, help: "Step of the points (default: each series' next step).")
        var step: Int64?

        @Option(help: ArgumentHelp("A param to log; repeatable.", valueName: "K=V"))
        var param: [String] = []

        func validate() throws {
            if points.isEmpty && param.isEmpty { throw ValidationError("give at least one KEY=VALUE metric point or --param") }
        }

        func run() async throws {
            var batch = MetricBatch()
            batch.runId = run
            for text in points {
                let (key, value) = try splitPair(text, option: "KEY=VALUE")
                guard let number = Double(value ?? "") else {
                    throw ValidationError("metric value of \(key) is not a number: \"\(value ?? "")\"")
                }
                batch.keyIndex.append(UInt32(batch.keys.count))
                batch.keys.append(key)
                batch.values.append(number)
                if let step { batch.steps.append(step) }
            }
            var params = LogParamsRequest()
            params.runId = run
            for (key, value) in try pairs(param, option: "--param") {
                params.params[key] = parseParamValue(value)
            }
            let (logged, stored) = try await client.withClient("runs") { [batch, params] c in
                var (batch, params) = (batch, params)
                let id = try await c.tracking.runID(run, options: client.unary)
                (batch.runId, params.runId) = (id, id)
                let stored = params.params.isEmpty ? nil : try await c.tracking.logParams(params, options: client.unary)
                let logged = batch.keys.isEmpty ? nil : try await c.tracking.logMetrics(batch, options: client.unary)
                return (logged, stored)
            }
            if client.json {
                var object: [String: JSONValue] = [:]
                if let logged { object["metrics"] = logged.protoJSON }
                if let stored { object["params"] = stored.protoJSON }
                print(JSONValue.object(object).serialized())
            } else {
                var parts: [String] = []
                if let logged { parts.append(plural(logged.accepted, "point")) }
                if let stored { parts.append(plural(UInt64(stored.stored), "param")) }
                print(("logged " + parts.joined(separator: ", ")).terminalSafe)
            }
        }
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a running run as completed, failed or killed.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
        var run: String

        @Option(help: ArgumentHelp("How the run ended.", valueName: "completed|failed|killed"))
        var status: String = "completed"

        @Option(help: "Why the run failed (with --status failed).")
        var error: String?

        func validate() throws {
            guard ["completed", "failed", "killed"].contains(status.lowercased()) else {
                throw ValidationError("--status must be completed, failed or killed, not \"\(status)\"")
            }
            if error != nil && status.lowercased() != "failed" {
                throw ValidationError("--error goes with --status failed")
            }
        }

        func run() async throws {
            var request = EndRunRequest()
            request.runId = run
            request.status = switch status.lowercased() {
            case "failed": .failed
            case "killed": .killed
            default: .completed
            }
            request.error = error ?? ""
            let r = try await client.withClient("runs") { [request] c in
                var request = request
                request.runId = try await c.tracking.runID(request.runId, options: client.unary)
                return try await c.tracking.endRun(request, options: client.unary)
            }
            if client.json {
                printJSON(r)
            } else {
                print(("run \(r.id) \(Format.status(r.status)) after \(Format.duration(ms: r.durationMs))").terminalSafe)
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reopen a completed, failed, killed or crashed run so that it can be logged to again.",
            discussion: "Steps continue after the stored ones. From Python: tally.resume_run(RUN)."
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
        var run: String

        func run() async throws {
            var request = ResumeRunRequest()
            request.runId = run
            let r = try await client.withClient("runs") { [request] c in
                var request = request
                request.runId = try await c.tracking.runID(request.runId, options: client.unary)
                return try await c.tracking.resumeRun(request, options: client.unary)
            }
            if client.json {
                printJSON(r)
            } else {
                print("run \(r.id) \(Format.status(r.status))".terminalSafe)
            }
        }
    }

    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set and remove tags of a run.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
        var run: String

        @Argument(help: ArgumentHelp("Tags to set (K=V, or K for a label).", valueName: "K[=V]"))
        var tags: [String] = []

        @Option(help: ArgumentHelp("A tag key to remove; repeatable.", valueName: "key"))
        var remove: [String] = []

        func validate() throws {
            if tags.isEmpty && remove.isEmpty { throw ValidationError("give tags to set or --remove KEY") }
        }

        func run() async throws {
            var request = SetRunTagsRequest()
            request.runId = run
            request.tags = try tagPairs(tags, option: "tag")
            request.removeKeys = remove
            let r = try await client.withClient("runs") { [request] c in
                var request = request
                request.runId = try await c.tracking.runID(request.runId, options: client.unary)
                return try await c.tracking.setRunTags(request, options: client.unary)
            }
            if client.json {
                printJSON(r)
            } else {
                print(("tags of run \(r.id): \(r.tags.isEmpty ? "(none)" : Format.tags(r.tags))").terminalSafe)
            }
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a run's note (a free-text description), or clear it.",
            discussion: "Example: tally runs note mnist/brisk-sunset-412 \"baseline with the old augmentation\""
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
        var run: String

        @Argument(help: "The note (omit with --clear).")
        var text: String?

        @Flag(help: "Remove the note.")
        var clear = false

        func validate() throws {
            if clear == (text != nil) { throw ValidationError("give the note's text, or --clear") }
        }

        func run() async throws {
            let r = try await client.withClient("runs") { c in
                var request = SetRunNoteRequest()
                request.runId = try await c.tracking.runID(run, options: client.unary)
                request.note = text ?? ""
                return try await c.tracking.setRunNote(request, options: client.unary)
            }
            if client.json {
                printJSON(r)
            } else {
                print((r.note.isEmpty ? "note of run \(r.id) cleared" : "note of run \(r.id): \(r.note)").terminalSafe)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete a run with its children, metrics, params and artifacts.",
            aliases: ["delete"]
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id (or EXPERIMENT/RUN_NAME).", completion: Completion.runs)
        var run: String

        @Flag(help: "Delete even while the run or one of its children is running.")
        var force = false

        func run() async throws {
            var request = DeleteRunRequest()
            request.runId = run
            request.force = force
            let response = try await client.withClient("runs") { [request] c in
                var request = request
                request.runId = try await c.tracking.runID(request.runId, options: client.unary)
                return try await c.tracking.deleteRun(request, options: client.unary)
            }
            if client.json {
                printJSON(response)
            } else {
                print(("deleted run \(run): \(plural(response.deletedRuns, "run")), \(plural(response.deletedArtifacts, "artifact version"))").terminalSafe)
            }
        }
    }
}

/// A field of the filter language that a search table shows as a column.
struct FieldReference: Hashable {
    enum Kind: Hashable {
        case param, tag
        case metric(aggregate: String)
        case attribute
    }

    var kind: Kind
    var key: String

    var header: String {
        switch kind {
        case .param: "params.\(key)"
        case .tag: "tags.\(key)"
        case .metric(let aggregate): aggregate == "last" ? "metrics.\(key)" : "metrics.\(key).\(aggregate)"
        case .attribute: key
        }
    }

    var isNumeric: Bool {
        switch kind {
        case .metric: true
        case .param, .tag, .attribute: false
        }
    }

    func value(in run: Run) -> String {
        switch kind {
        case .param: return Format.param(run.params[key])
        case .tag: return run.tags[key] ?? "-"
        case .metric(let aggregate):
            guard let m = run.metrics.first(where: { $0.key == key }) else { return "-" }
            switch aggregate {
            case "min": return Format.number(m.min)
            case "max": return Format.number(m.max)
            case "mean": return Format.number(m.mean)
            case "count": return String(m.count)
            case "first_step": return String(m.firstStep)
            case "last_step": return String(m.lastStep)
            default: return Format.number(m.lastValue)
            }
        case .attribute:
            switch key {
            case "started_at": return Format.time(ms: run.startedAtMs)
            case "completed_at": return Format.time(ms: run.completedAtMs)
            case "duration": return Format.duration(ms: run.durationMs)
            case "parent_run_id": return run.parentRunId.isEmpty ? "-" : run.parentRunId
            case "experiment_id": return run.experimentId
            default: return "-"
            }
        }
    }

    static let aggregates: Set<String> = ["last", "min", "max", "mean", "count", "first_step", "last_step"]
    static let attributes: Set<String> = ["started_at", "completed_at", "duration", "parent_run_id", "experiment_id"]

    /// The params, metrics, tags and extra attributes the texts mention, in order of first
    /// mention; quoted strings are skipped. Lenient: the daemon reports syntax errors.
    static func scan(_ texts: [String]) -> [FieldReference] {
        var out: [FieldReference] = []
        for text in texts {
            for ref in scan(text) where !out.contains(ref) {
                out.append(ref)
            }
        }
        return out
    }

    static func scan(_ text: String) -> [FieldReference] {
        let chars = Array(text)
        var i = 0
        var out: [FieldReference] = []
        func isWordChar(_ c: Character) -> Bool {
            c.isLetter || c.isNumber || c == "_" || c == "-" || c == "/" || c == ":"
        }
        func readKey() -> String? {
            if i < chars.count, chars[i] == "`" {
                var key = ""
                i += 1
                while i < chars.count, chars[i] != "`" {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    key.append(chars[i])
                    i += 1
                }
                i += 1
                return key
            }
            var key = ""
            while i < chars.count, isWordChar(chars[i]) {
                key.append(chars[i])
                i += 1
            }
            return key.isEmpty ? nil : key
        }
        while i < chars.count {
            let c = chars[i]
            if c == "\"" || c == "'" {
                i += 1
                while i < chars.count, chars[i] != c {
                    if chars[i] == "\\" { i += 1 }
                    i += 1
                }
                i += 1
                continue
            }
            guard c.isLetter || c == "_" else {
                i += 1
                continue
            }
            var word = ""
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" {
                word.append(chars[i])
                i += 1
            }
            let lower = word.lowercased()
            if ["params", "metrics", "tags"].contains(lower), i < chars.count, chars[i] == "." {
                i += 1
                guard let key = readKey() else { continue }
                switch lower {
                case "params": out.append(FieldReference(kind: .param, key: key))
                case "tags": out.append(FieldReference(kind: .tag, key: key))
                default:
                    var aggregate = "last"
                    if i < chars.count, chars[i] == "." {
                        i += 1
                        var word = ""
                        while i < chars.count, chars[i].isLetter || chars[i] == "_" {
                            word.append(chars[i])
                            i += 1
                        }
                        if aggregates.contains(word.lowercased()) { aggregate = word.lowercased() }
                    }
                    out.append(FieldReference(kind: .metric(aggregate: aggregate), key: key))
                }
            } else if attributes.contains(lower) {
                out.append(FieldReference(kind: .attribute, key: lower))
            } else {
                // Skip the rest of a bare word (like a key after a prefix we do not know).
                while i < chars.count, isWordChar(chars[i]) { i += 1 }
            }
        }
        return out
    }
}
