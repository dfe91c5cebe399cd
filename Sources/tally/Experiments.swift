import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Experiments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments",
        abstract: "List, create, show, update and delete experiments.",
        subcommands: [List.self, Create.self, Show.self, Update.self, Remove.self],
        aliases: ["experiment", "exp"]
    )

    static func table(_ experiments: [Experiment]) -> Table {
        var table = Table(["ID", "NAME", "RUNS", "CREATED", "UPDATED", "TAGS"], numeric: ["RUNS"])
        for e in experiments {
            table.add([e.id, e.name, String(e.runCount), Format.time(ms: e.createdAtMs), Format.time(ms: e.updatedAtMs), Format.tags(e.tags)])
        }
        return table
    }

    /// `--goal METRIC=min|max` (and, where a goal can be removed, `METRIC=none`), each metric once.
    static func goals(_ texts: [String], allowNone: Bool) throws -> [String: MetricGoal] {
        var goals: [String: MetricGoal] = [:]
        for text in texts {
            let (key, value) = try splitPair(text, option: "--goal")
            guard goals[key] == nil else { throw ValidationError("--goal \(key) is given twice") }
            switch value?.lowercased() {
            case "min", "minimize": goals[key] = .minimize
            case "max", "maximize": goals[key] = .maximize
            case "none" where allowNone: goals[key] = .unspecified
            default:
                throw ValidationError("--goal expects METRIC=min\(allowNone ? ", METRIC=max or METRIC=none" : " or METRIC=max"), got \"\(text)\"")
            }
        }
        return goals
    }

    static func printDetails(_ e: Experiment) {
        var fields: [(String, String)] = [
            ("id", e.id),
            ("name", e.name),
            ("description", e.description),
            ("runs", String(e.runCount)),
            ("created", Format.time(ms: e.createdAtMs)),
            ("updated", Format.time(ms: e.updatedAtMs)),
        ]
        if !e.createdBy.isEmpty { fields.append(("created by", e.createdBy)) }
        fields.append(("tags", Format.tags(e.tags)))
        fields.append(("goals", e.metricGoals.keys.sorted().map { "\($0)=\(Format.goal(e.metricGoals[$0]!))" }.joined(separator: ", ")))
        printFields(fields)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List experiments, newest first.",
            aliases: ["list"]
        )

        @OptionGroup var client: ClientOptions

        @Option(help: ArgumentHelp("Only experiments whose name contains this (case-insensitive).", valueName: "substring"))
        var name: String?

        @Option(help: ArgumentHelp("Only experiments with this tag (K, or K=V); repeat to require several.", valueName: "K[=V]"))
        var tag: [String] = []

        @OptionGroup var times: TimeRangeOptions

        @Option(help: ArgumentHelp("Show at most this many (default 50).", valueName: "n"))
        var limit: Int?

        @Flag(help: "Show every matching experiment, fetching page after page.")
        var all = false

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
            if all && limit != nil { throw ValidationError("--all and --limit cannot be combined") }
        }

        func run() async throws {
            let response = try await client.withClient("experiments") { c in
                var request = ListExperimentsRequest()
                request.nameContains = name ?? ""
                request.tagsAll = tag
                let bounds = try times.bounds()
                request.createdAfterMs = bounds.createdAfter
                request.createdBeforeMs = bounds.createdBefore
                request.updatedAfterMs = bounds.updatedAfter
                request.updatedBeforeMs = bounds.updatedBefore
                let want = all ? Int.max : (limit ?? 50)
                var collected = try await collectPages(want: want) { size, token in
                    request.pageSize = size
                    request.pageToken = token
                    return try await c.tracking.listExperiments(request, options: client.unary)
                }
                if all { collected.nextPageToken = "" }
                return collected
            }
            if client.json {
                printJSON(response)
                return
            }
            Experiments.table(response.experiments).print()
            if UInt64(response.experiments.count) < response.totalCount {
                printError("(\(response.experiments.count) of \(response.totalCount) experiments; --limit N or --all for more)")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an experiment.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "Name of the experiment (unique).")
        var name: String

        @Option(help: "What the experiment is about.")
        var description: String = ""

        @Option(help: ArgumentHelp("A tag (K=V, or K for a label); repeatable.", valueName: "K[=V]"))
        var tag: [String] = []

        @Option(help: ArgumentHelp("Whether larger or smaller values of a metric are better; repeatable.", valueName: "METRIC=min|max"))
        var goal: [String] = []

        @Flag(help: "Return the existing experiment of that name instead of failing.")
        var existOk = false

        @Flag(name: .shortAndLong, help: "Print only the experiment's id.")
        var quiet = false

        func run() async throws {
            var request = CreateExperimentRequest()
            request.name = name
            request.description = description
            request.tags = try tagPairs(tag)
            request.getIfExists = existOk
            request.metricGoals = try Experiments.goals(goal, allowNone: false)
            let experiment = try await client.withClient("experiments") { c in
                try await c.tracking.createExperiment(request, options: client.unary)
            }
            if client.json {
                printJSON(experiment)
            } else if quiet {
                print(experiment.id)
            } else {
                print(("created experiment \(experiment.name) (\(experiment.id))").terminalSafe)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an experiment.")

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The experiment's id or name.", valueName: "id|name"), completion: Completion.experiments)
        var experiment: String

        @Option(help: ArgumentHelp("List this many of its runs, newest first (default 20; 0 for none).", valueName: "n"))
        var runs: Int = 20

        func validate() throws {
            if runs < 0 { throw ValidationError("--runs must not be negative") }
        }

        func run() async throws {
            let e = try await client.withClient("experiments") { c in
                var e = try await c.tracking.experiment(experiment, options: client.unary)
                guard runs > 0 else { return e }
                // The page of runs comes with the experiment; more pages as --runs asks.
                var request = GetExperimentRequest()
                var ref = ExperimentRef()
                ref.ref = .id(e.id)
                request.experiment = ref
                var listed: [Run] = []
                var token = ""
                repeat {
                    request.runsPageSize = UInt32(min(runs - listed.count, 1000))
                    request.runsPageToken = token
                    let page = try await c.tracking.getExperiment(request, options: client.unary)
                    e = page
                    listed += page.runs
                    token = page.runsNextPageToken
                } while !token.isEmpty && listed.count < runs
                e.runs = listed
                return e
            }
            if client.json {
                printJSON(e)
                return
            }
            Experiments.printDetails(e)
            guard runs > 0, !e.runs.isEmpty else { return }
            print()
            var table = Table(["RUN", "NAME", "STATUS", "STARTED", "DURATION"], numeric: ["DURATION"])
            for r in e.runs {
                table.add([r.id, r.name, Format.status(r.status), Format.time(ms: r.startedAtMs), Format.duration(ms: r.durationMs)])
            }
            table.print()
            if UInt64(e.runs.count) < e.runCount {
                printError("(\(e.runs.count) of \(e.runCount) runs; --runs N for more, or tally runs ls --experiment \(e.name) --all)")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change an experiment's name, description, tags or metric goals.",
            discussion: """
                Tags are merged into the existing ones; --remove-tag takes one out. A goal of none removes it.
                Example: tally experiments update resnet --description "baseline" --tag stage=prod --remove-tag draft --goal val_acc=max
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The experiment's id or name.", valueName: "id|name"), completion: Completion.experiments)
        var experiment: String

        @Option(help: "A new name (unique).")
        var name: String?

        @Option(help: "A new description.")
        var description: String?

        @Option(help: ArgumentHelp("A tag to add or change (K=V, or K for a label); repeatable.", valueName: "K[=V]"))
        var tag: [String] = []

        @Option(help: ArgumentHelp("A tag to remove; repeatable.", valueName: "K"))
        var removeTag: [String] = []

        @Option(help: ArgumentHelp("Set or remove a metric's goal; repeatable.", valueName: "METRIC=min|max|none"))
        var goal: [String] = []

        func validate() throws {
            if name == nil && description == nil && tag.isEmpty && removeTag.isEmpty && goal.isEmpty {
                throw ValidationError("nothing to change: give --name, --description, --tag, --remove-tag or --goal")
            }
        }

        func run() async throws {
            var request = UpdateExperimentRequest()
            request.name = name
            request.description = description
            request.tags = try tagPairs(tag)
            request.removeTags = removeTag
            request.metricGoals = try Experiments.goals(goal, allowNone: true)
            let updated = try await client.withClient("experiments") { c in
                request.id = try await c.tracking.experiment(experiment, options: client.unary).id
                return try await c.tracking.updateExperiment(request, options: client.unary)
            }
            if client.json {
                printJSON(updated)
            } else {
                Experiments.printDetails(updated)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete an experiment with its runs, metrics, params and artifacts.",
            aliases: ["delete"]
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The experiment's id or name.", valueName: "id|name"), completion: Completion.experiments)
        var experiment: String

        @Flag(help: "Delete even while runs of the experiment are running.")
        var force = false

        func run() async throws {
            let (e, response) = try await client.withClient("experiments") { c in
                let e = try await c.tracking.experiment(experiment, options: client.unary)
                var request = DeleteExperimentRequest()
                request.id = e.id
                request.force = force
                return (e, try await c.tracking.deleteExperiment(request, options: client.unary))
            }
            if client.json {
                printJSON(response)
            } else {
                print(("deleted experiment \(e.name) (\(e.id)): \(plural(response.deletedRuns, "run")), \(plural(response.deletedArtifacts, "artifact version"))").terminalSafe)
            }
        }
    }
}

func plural(_ n: UInt64, _ noun: String) -> String {
    n == 1 ? "1 \(noun)" : "\(n) \(noun)s"
}
