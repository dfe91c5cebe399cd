import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Sweeps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweeps",
        abstract: "Create, list and inspect hyperparameter sweeps (jobs whose trials `tally agent` runs).",
        subcommands: [Create.self, List.self, Show.self, Validate.self],
        aliases: ["sweep"]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a sweep and print its id.",
            discussion: """
                The search space is one --param per parameter:
                  --param lr=float:1e-5:1e-1:log     floats in [low, high], log-uniform
                  --param dropout=float:0:0.5:0.1     floats in steps of 0.1 (a grid needs a step)
                  --param layers=int:1:8              integers low..high (int:LOW:HIGH:STEP, or :log)
                  --param optimizer=choice:adam,sgd   a list of values (also plain "adam,sgd")
                Values of a choice and of --fixed are typed like params: integer, float, true/false, else a string.
                Then run trials with `tally agent <sweep> -- <command>`, or from Python with `sweep.trials()`.
                Example:
                  tally sweeps create --param x=float:-5:5 --param y=float:-5:5 --method bayesian --max-trials 40 --parallel 3 --metric loss
                """
        )

        @OptionGroup var client: ClientOptions

        @Option(name: .customLong("param"), help: ArgumentHelp("A searched parameter, NAME=SPEC (see below); repeatable.", valueName: "name=spec"))
        var params: [String] = []

        @Option(help: ArgumentHelp("A param every trial gets, NAME=VALUE; repeatable.", valueName: "name=value"))
        var fixed: [String] = []

        @Option(help: ArgumentHelp("A search space for a model family, used with (or instead of) --param: random-forest, gradient-boosting, logistic-regression, svm, mlp, xgboost (docs/sweeps.md).", valueName: "name"))
        var preset: String?

        @Option(name: .customLong("preset-file"), help: ArgumentHelp("A JSON file of search spaces, {\"NAME\": {\"PARAM\": \"SPEC\", …}, …}; --preset then names one of them.", valueName: "file"))
        var presetFile: String?

        @Option(name: .customLong("method"), help: ArgumentHelp("grid (default; random with --preset), random or bayesian (TPE).", valueName: "method"))
        var methodOption: String?

        var method: String { methodOption ?? (preset != nil ? "random" : "grid") }

        @Option(help: ArgumentHelp("The objective's metric name (default score).", valueName: "name"))
        var metric: String = "score"

        @Flag(help: "Maximize the objective (default: minimize).")
        var maximize = false

        @Option(name: .customLong("max-trials"), help: ArgumentHelp("Trials to start, failed ones included (default: the grid's size; 10 for random and bayesian, or as many as fit in --time-limit when it is given).", valueName: "n"))
        var maxTrials: UInt32?

        @Option(help: ArgumentHelp("Trials running at once (default 1).", valueName: "n"))
        var parallel: UInt32?

        @Option(name: .customLong("time-limit"), help: ArgumentHelp("No new trials after this long, e.g. 90s, 10m, 2h (running ones fail).", valueName: "duration"))
        var timeLimit: String?

        @Option(help: ArgumentHelp("Seed of the sampler (default 0).", valueName: "n"))
        var seed: UInt64?

        @Option(name: .customLong("startup-trials"), help: ArgumentHelp("Random trials before TPE starts (bayesian; default 10).", valueName: "n"))
        var startupTrials: UInt32?

        @Flag(help: "Stop trials whose intermediate value is worse than the median of completed trials at that step.")
        var prune = false

        @Option(name: .customLong("prune-min-trials"), help: ArgumentHelp("Completed trials needed at a step before pruning (default 5).", valueName: "n"))
        var pruneMinTrials: UInt32?

        @Option(name: .customLong("prune-warmup"), help: ArgumentHelp("Steps below this are never pruned (default 0).", valueName: "steps"))
        var pruneWarmup: UInt32?

        @Option(name: .customLong("heartbeat-timeout"), help: ArgumentHelp("A trial without a report or heartbeat for this long fails (default 60s).", valueName: "duration"))
        var heartbeatTimeout: String?

        @Option(help: ArgumentHelp("Times a failed trial is tried again with the same params (default 0, at most 10; retries do not count against --max-trials).", valueName: "n"))
        var retries: UInt32?

        @Option(name: .customLong("retry-backoff"), help: ArgumentHelp("Wait before a failed trial's first retry, doubling for each further one, at most 60s (default 1s).", valueName: "duration"))
        var retryBackoff: String?

        @Option(help: ArgumentHelp("Tracking experiment of the trials' runs (default sweep-<id>).", valueName: "name"))
        var experiment: String?

        @Flag(help: "Follow the sweep until it ends, like `tally watch job`.")
        var watch = false

        func validate() throws {
            if params.isEmpty && preset == nil { throw ValidationError("give at least one --param NAME=SPEC, or --preset NAME") }
            if presetFile != nil && preset == nil { throw ValidationError("--preset-file goes with --preset NAME") }
            if SweepFormat.parseMethod(method) == nil { throw ValidationError("--method must be grid, random or bayesian, got \"\(method)\"") }
            if parallel == 0 { throw ValidationError("--parallel must be positive") }
            if metric.isEmpty { throw ValidationError("--metric must not be empty") }
            if (pruneMinTrials != nil || pruneWarmup != nil) && !prune { throw ValidationError("--prune-min-trials and --prune-warmup go with --prune") }
            _ = try config()
        }

        func config() throws -> SweepConfig {
            var c = SweepConfig()
            var seen = Set<String>()
            var params = self.params
            if let presetFile, let preset {
                params = try Self.presetParams(file: presetFile, name: preset) + params
            } else if let preset {
                c.preset = preset  // the daemon's space
            }
            for text in params {
                let param = try parseSweepParam(text)
                if seen.contains(param.name), presetFile != nil, let index = c.params.firstIndex(where: { $0.name == param.name }) {
                    c.params[index] = param  // a --param replaces the preset file's
                    continue
                }
                guard seen.insert(param.name).inserted else { throw ValidationError("--param \(param.name) is given twice") }
                c.params.append(param)
            }
            for (name, value) in try pairs(fixed, option: "--fixed") {
                guard !seen.contains(name) else { throw ValidationError("\(name) is both searched (--param) and fixed (--fixed)") }
                c.fixed[name] = parseParamValue(value)
            }
            c.method = SweepFormat.parseMethod(method) ?? .grid
            var objective = SweepObjective()
            objective.metric = metric
            objective.direction = maximize ? .maximize : .minimize
            c.objective = objective
            c.maxTrials = maxTrials ?? 0
            c.maxParallel = parallel ?? 1
            if let timeLimit { c.timeLimitMs = try parseDurationMs(timeLimit, option: "--time-limit") }
            c.seed = seed ?? 0
            c.startupTrials = startupTrials
            if prune {
                var pruner = PrunerConfig()
                pruner.enabled = true
                pruner.minTrials = pruneMinTrials ?? 0
                pruner.warmupSteps = pruneWarmup ?? 0
                c.pruner = pruner
            }
            if let heartbeatTimeout { c.heartbeatTimeoutMs = try parseDurationMs(heartbeatTimeout, option: "--heartbeat-timeout") }
            c.retries = retries ?? 0
            if let retryBackoff { c.retryBackoffMs = try parseDurationMs(retryBackoff, option: "--retry-backoff") }
            c.experiment = experiment ?? ""
            return c
        }

        /// The `NAME=SPEC` params of space `name` in a preset file.
        static func presetParams(file: String, name: String) throws -> [String] {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read --preset-file \(file): \(String(cString: strerror(errno)))")
            }
            guard let spaces = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ValidationError("--preset-file \(file) is not a JSON object of spaces")
            }
            guard let space = spaces[name] as? [String: Any] else {
                throw ValidationError("--preset-file \(file) has no space \"\(name)\"; it has: \(spaces.keys.sorted().joined(separator: ", "))")
            }
            return try space.keys.sorted().map { param in
                guard let spec = space[param] as? String else {
                    throw ValidationError("--preset-file \(file): \(name).\(param) must be a SPEC string such as \"float:0.001:0.1:log\"")
                }
                return "\(param)=\(spec)"
            }
        }

        func run() async throws {
            let config = try config()
            let job = try await client.withClient("sweeps") { c in
                var request = CreateJobRequest()
                request.config = .sweep(config)
                return try await c.experiments.createJob(request, options: client.unary)
            }
            if watch {
                try await followJob(job.id, items: false, client: client)
            } else if client.json {
                printJSON(job)
            } else {
                print(job.id)
                if isatty(STDOUT_FILENO) == 1, case .sweep(let stored)? = job.config {
                    printError("sweep \(job.id): \(SweepFormat.summary(stored)); run trials with: tally agent \(job.id) -- <command>")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List sweeps, newest first.", aliases: ["list"])

        @OptionGroup var client: ClientOptions

        @OptionGroup var filter: JobListOptions

        func run() async throws {
            let response = try await filter.fetch(kind: "sweep", client: client, command: "sweeps")
            if client.json {
                printJSON(response)
                return
            }
            var table = Table(["ID", "STATUS", "METHOD", "OBJECTIVE", "TRIALS", "BEST", "CREATED", "DURATION"], numeric: ["TRIALS", "BEST"])
            for j in response.jobs {
                guard case .sweep(let c)? = j.config else { continue }
                let total = j.progressTotal > 0 ? "/\(j.progressTotal)" : ""
                let best = j.results?.sweep?.bestScore.map(Format.number) ?? "-"
                table.add([j.id, JobFormat.status(j.status), SweepFormat.method(c.method),
                           "\(SweepFormat.direction(c.objective?.direction ?? .minimize)) \(SweepFormat.metric(c))",
                           "\(j.progressCurrent)\(total)", best, Format.time(ms: j.createdAtMs), JobFormat.duration(j)])
            }
            table.print()
            filter.noteMore(response, noun: "sweeps")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a sweep: its search space and budget, the best trial so far (with confidence intervals when folds were reported) and every trial."
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The sweep's id.", completion: Completion.sweeps)
        var sweep: String

        func run() async throws {
            let j = try await client.withClient("sweeps") { c in
                var request = GetJobRequest()
                request.jobId = sweep
                return try await c.experiments.getJob(request, options: client.unary)
            }
            if client.json {
                printJSON(j)
                return
            }
            guard case .sweep? = j.config else {
                throw ValidationErrorMessage(message: "job \(j.id) is a \(j.kind) job, not a sweep: see `tally jobs show \(j.id)`")
            }
            JobFormat.printDetails(j)
            if let results = j.results?.sweep {
                print()
                SweepFormat.printResults(results, metric: JobFormat.sweepMetric(j))
            }
        }
    }
}

/// A `--param NAME=SPEC` of `tally sweeps create`.
func parseSweepParam(_ text: String) throws -> SweepParam {
    let (name, spec) = try splitPair(text, option: "--param")
    let value = spec ?? ""
    var param = SweepParam()
    param.name = name
    func number<T: LosslessStringConvertible>(_ part: Substring, _ what: String) throws -> T {
        guard let n = T(String(part)) else { throw ValidationError("--param \(name): \(what) must be a number, got \"\(part)\"") }
        return n
    }
    let parts = value.split(separator: ":", omittingEmptySubsequences: false)
    switch parts.first {
    case "int"?, "float"?:
        guard parts.count == 3 || parts.count == 4 else {
            throw ValidationError("--param \(name)=\(parts[0]):LOW:HIGH[:STEP|:log], got \"\(value)\"")
        }
        let log = parts.count == 4 && parts[3] == "log"
        if parts[0] == "int" {
            var range = SweepParam.IntRange()
            range.low = try number(parts[1], "low")
            range.high = try number(parts[2], "high")
            if parts.count == 4 && !log { range.step = try number(parts[3], "step") }
            range.log = log
            param.kind = .intRange(range)
        } else {
            var range = SweepParam.FloatRange()
            range.low = try number(parts[1], "low")
            range.high = try number(parts[2], "high")
            if parts.count == 4 && !log { range.step = try number(parts[3], "step") }
            range.log = log
            param.kind = .floatRange(range)
        }
    default:
        var list = value
        if list.hasPrefix("choice:") { list.removeFirst("choice:".count) } else if !list.contains(",") {
            throw ValidationError("--param \(name): give int:LOW:HIGH, float:LOW:HIGH or choice:A,B,… (a single value is --fixed \(name)=\(value))")
        }
        let values = list.split(separator: ",", omittingEmptySubsequences: false).map { parseParamValue(String($0)) }
        var categorical = SweepParam.Categorical()
        categorical.values = values
        param.kind = .categorical(categorical)
    }
    return param
}

/// "90s", "10m", "2h", "500ms" or a plain number of seconds, in milliseconds.
func parseDurationMs(_ text: String, option: String) throws -> UInt64 {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    var number = text
    var scale = 1.0
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        number = String(text.dropLast(suffix.count))
        scale = factor
        break
    }
    guard let value = Double(number), value.isFinite, value > 0 else {
        throw ValidationError("\(option) must be a positive duration like 90s, 10m or 2h, got \"\(text)\"")
    }
    return UInt64((value * scale * 1000).rounded())
}
