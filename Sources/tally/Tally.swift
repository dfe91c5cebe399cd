import ArgumentParser

@main
struct Tally: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "A local-first experiment tracker and runner.",
        discussion: "Start the daemon with `tally serve`; the other commands talk to it over its Unix socket.",
        version: "0.1.0",
        subcommands: [
            Serve.self, Status.self, Experiments.self, Runs.self, Metrics.self, Artifacts.self,
            Compare.self, Watch.self, Datasets.self, Providers.self, Eval.self, Jobs.self, Sweeps.self, Agent.self, CrossValidate.self, Import.self, UI.self, Sync.self, Tokens.self,
        ]
    )
}
