import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate one or more models as classifiers of a dataset (a background job).",
        discussion: """
            Creates a classification job and prints its id; the daemon runs it in the background. With --watch,
            follows it like `tally watch job` and prints the results at the end (exit 1 if it fails or is
            cancelled). Each model gets a tracking run in the experiment eval-<dataset> (or --experiment),
            so `tally compare` works on them.
            Example: tally eval news --provider openai --model gpt-4o-mini --model gpt-4.1-nano --sample 200 --stratified --watch
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: ArgumentHelp("The dataset's id or name.", valueName: "dataset"))
    var dataset: String

    @Option(help: ArgumentHelp("The provider's name.", valueName: "name"))
    var provider: String

    @Option(help: ArgumentHelp("A model to evaluate; repeat to compare several on the same sample.", valueName: "model"))
    var model: [String] = []

    @Option(help: ArgumentHelp("Evaluate this many items (default: the whole dataset).", valueName: "n"))
    var sample: UInt32?

    @Flag(help: "Sample proportionally per label instead of uniformly.")
    var stratified = false

    @Option(help: ArgumentHelp("Seed of the sample (default 0).", valueName: "n"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Parallel requests (default 4, at most 64).", valueName: "n"))
    var concurrency: UInt32?

    @Option(name: .customLong("timeout-ms"), help: ArgumentHelp("Per-request timeout in milliseconds (default 30000).", valueName: "ms"))
    var timeoutMs: UInt32?

    @Option(help: ArgumentHelp("Retries per item after a timeout or connection/HTTP error (default 2).", valueName: "n"))
    var retries: UInt32?

    @Option(name: .customLong("time-limit"), help: ArgumentHelp("Fail the job if it runs longer than this, e.g. 90s, 10m, 2h (counted from its first start; default none). A Retry-After that would end past it is not waited for.", valueName: "duration"))
    var timeLimit: String?

    @Option(help: ArgumentHelp("Tracking experiment for the per-model runs (default eval-<dataset>).", valueName: "name"))
    var experiment: String?

    @Option(name: .customLong("prompt-file"), help: ArgumentHelp("A prompt template with {{text}} and {{labels}} (default: docs/evaluation.md).", valueName: "file"))
    var promptFile: String?

    @Flag(help: "Follow the job until it ends and print its results.")
    var watch = false

    @Flag(help: "With --watch: also print a line per finished item.")
    var items = false

    func validate() throws {
        if model.isEmpty { throw ValidationError("give at least one --model") }
        if sample == 0 { throw ValidationError("--sample must be positive") }
        if concurrency == 0 { throw ValidationError("--concurrency must be positive") }
        if timeoutMs == 0 { throw ValidationError("--timeout-ms must be positive") }
        if items && !watch { throw ValidationError("--items goes with --watch") }
    }

    func run() async throws {
        var config = ClassificationEvalConfig()
        config.dataset = dataset
        config.provider = provider
        config.models = model
        config.sampleSize = sample ?? 0
        config.sampling = stratified ? .stratified : .random
        config.seed = seed ?? 0
        config.concurrency = concurrency ?? 0
        config.requestTimeoutMs = timeoutMs ?? 0
        config.retries = retries
        if let timeLimit { config.timeLimitMs = try parseDurationMs(timeLimit, option: "--time-limit") }
        config.experiment = experiment ?? ""
        if let promptFile {
            guard let data = FileManager.default.contents(atPath: promptFile) else {
                throw ValidationErrorMessage(message: "cannot read \(promptFile): \(String(cString: strerror(errno)))")
            }
            config.promptTemplate = String(decoding: data, as: UTF8.self)
        }
        var request = CreateJobRequest()
        request.config = .classification(config)
        let job = try await client.withClient("eval") { c in
            try await c.experiments.createJob(request, options: client.unary)
        }
        if watch {
            try await followJob(job.id, items: items, client: client)
        } else if client.json {
            printJSON(job)
        } else {
            print(job.id)
        }
    }
}
