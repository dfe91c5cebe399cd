import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// Options shared by `tally cv` and `tally sweeps validate`: how the folds run.
struct FoldOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Folds (default 5, 2 to 100).", valueName: "k"))
    var folds: UInt32 = 5

    @Option(help: ArgumentHelp("Folds running at once (default 1).", valueName: "n"))
    var parallel: Int = 1

    @Option(help: ArgumentHelp("Times a failed fold is tried again (default 0).", valueName: "n"))
    var retries: UInt32?

    @Option(help: ArgumentHelp("Tracking experiment of the runs (default cv-<job id>).", valueName: "name"))
    var experiment: String?

    @Option(help: ArgumentHelp("Name of the parent run (default cv).", valueName: "name"))
    var name: String?

    @Flag(name: .customLong("no-args"), help: "Do not append --name=value arguments (params only in TALLY_PARAMS).")
    var noArgs = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The fold command, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. -- python train.py") }
        if !(2...100).contains(folds) { throw ValidationError("--folds must be between 2 and 100") }
        if parallel <= 0 || parallel > 256 { throw ValidationError("--parallel must be between 1 and 256") }
    }

    /// Creates the job and runs its folds here, as `tally agent` does.
    func run(_ config: CrossValidationConfig, client: ClientOptions) async throws {
        var config = config
        config.folds = folds
        config.maxParallel = UInt32(parallel)
        config.retries = retries ?? 0
        if let experiment { config.experiment = experiment }
        if let name { config.name = name }
        var request = CreateJobRequest()
        request.config = .crossValidation(config)
        let job = try await client.withClient("cv") { c in
            try await c.experiments.createJob(request, options: client.unary)
        }
        var arguments = [job.id, "--parallel", String(parallel)]
        if let socket = client.socket { arguments += ["--socket", socket] }
        if let url = client.url { arguments += ["--url", url] }
        if client.json { arguments.append("--json") }
        if client.noColor { arguments.append("--no-color") }
        if noArgs { arguments.append("--no-args") }
        let agent = try await Agent.asyncParse(arguments + ["--"] + command)
        try await agent.run()
    }
}

struct CrossValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cv",
        abstract: "Cross-validate one configuration: run a command once per fold and summarise its scores.",
        discussion: """
            Creates a cross-validation job and runs its folds as child processes of the command, as tally agent runs
            a sweep's trials. Each fold gets --fold=i --folds=K (and the --param values) as arguments, and
            TALLY_FOLD, TALLY_FOLDS, TALLY_PARAMS, TALLY_TRIAL_ID and TALLY_RUN_ID in its environment. It reports
            through a client (Python: tally.current_fold().report(test={...}, train={...}, fit_time=s,
            score_time=s)) or prints a JSON object as its last line: {"test": {"accuracy": 0.9}, "train": {...},
            "fit_time": 1.2, "score_time": 0.1}, or flat {"accuracy": 0.9, "f1": 0.8}. At the end: per metric the
            folds' mean, std, median, min, max and 95% and 99% t-intervals, and the mean fit and score times.
            Example: tally cv --folds 10 --metric accuracy --metric f1 --maximize --param C=0.5 -- python fit.py
            """
    )

    @OptionGroup var client: ClientOptions

    @Option(name: .customLong("metric"), help: ArgumentHelp("A metric to summarise, the first being the objective; repeatable (default: every test score reported).", valueName: "name"))
    var metrics: [String] = []

    @Flag(help: "Larger values of the first metric are better.")
    var maximize = false

    @Option(name: .customLong("param"), help: ArgumentHelp("A param every fold gets, NAME=VALUE; repeatable.", valueName: "name=value"))
    var params: [String] = []

    @OptionGroup var fold: FoldOptions

    func run() async throws {
        var config = CrossValidationConfig()
        config.metrics = metrics
        config.maximize = maximize
        for (key, value) in try pairs(params, option: "--param") {
            config.params[key] = parseParamValue(value)
        }
        try await fold.run(config, client: client)
    }
}

extension Sweeps {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cross-validate a sweep's best trial: its params, once per fold (as tally cv).",
            discussion: "Example: tally sweeps validate 5f0c2a9e1b7d4c3a --folds 10 --parallel 2 -- python fit.py"
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The sweep's id.", completion: Completion.sweeps)
        var sweep: String

        @OptionGroup var fold: FoldOptions

        func run() async throws {
            let job = try await client.withClient("sweeps") { c in
                var request = GetJobRequest()
                request.jobId = sweep
                return try await c.experiments.getJob(request, options: client.unary)
            }
            guard case .sweep(let sweepConfig)? = job.config else {
                throw ValidationErrorMessage(message: "job \(sweep) is a \(job.kind) job, not a sweep")
            }
            guard let results = job.results?.sweep, let best = results.trials.first(where: { $0.id == results.bestTrialId }) else {
                throw ValidationErrorMessage(message: "FAILED_PRECONDITION: sweep \(sweep) has no completed trial to validate")
            }
            var config = CrossValidationConfig()
            config.params = best.params
            config.metrics = [SweepFormat.metric(sweepConfig)]
            config.maximize = sweepConfig.objective?.direction == .maximize
            config.sweepId = job.id
            config.trialId = best.id
            if fold.name == nil { config.name = "cv-trial-\(best.number)" }
            try await fold.run(config, client: client)
        }
    }
}
