// Benchmarks of Tally's hot paths, each next to a baseline measured in the same run on the same
// machine, with the target from docs/performance.md. Run in release mode:
//
//     swift build -c release && .build/release/tally-bench [--quick] [--only unary,ingest,...]
//         [--python PATH] [--python-bench clients/python/bench/bench_targets.py]
//         [--artifact-mib 1024] [--markdown FILE]
//
// The daemon is the real `tally serve` binary next to this one, in a child process on a
// temporary socket and home. Progress goes to standard error, the table to standard output.
import Foundation
import TallyClient

struct Options {
    var quick = false
    var only: Set<String> = []
    var python: String? = nil
    var pythonBench = "clients/python/bench/bench_targets.py"
    var artifactMiB = 1024
    var watchers = 1_000
    var markdown: String? = nil
    var tally = DaemonProcess.defaultBinary()
    /// A PostgreSQL server for the `postgres` section (it runs only when given).
    var postgres: String? = ProcessInfo.processInfo.environment["TALLY_BENCH_POSTGRES_URL"]

    static let sections = ["memory", "unary", "python", "ingest", "history", "search", "watch", "artifacts", "durability", "postgres"]

    init(arguments: [String]) throws {
        var iterator = arguments.dropFirst().makeIterator()
        func value(_ name: String) throws -> String {
            guard let value = iterator.next() else { throw NSError(domain: "bench", code: 64, userInfo: [NSLocalizedDescriptionKey: "\(name) needs a value"]) }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--quick": quick = true
            case "--only": only = Set(try value(argument).split(separator: ",").map(String.init))
            case "--python": python = try value(argument)
            case "--python-bench": pythonBench = try value(argument)
            case "--artifact-mib": artifactMiB = Int(try value(argument)) ?? 1024
            case "--watchers": watchers = max(1, Int(try value(argument)) ?? 1_000)
            case "--markdown": markdown = try value(argument)
            case "--tally": tally = try value(argument)
            case "--postgres": postgres = try value(argument)
            case "-h", "--help":
                print("usage: tally-bench [--quick] [--only \(Self.sections.joined(separator: ","))] [--python PATH] [--python-bench FILE] [--artifact-mib N] [--watchers N] [--markdown FILE] [--tally PATH] [--postgres postgres://USER@HOST:PORT/DB]")
                exit(0)
            default:
                throw NSError(domain: "bench", code: 64, userInfo: [NSLocalizedDescriptionKey: "unknown argument \(argument)"])
            }
        }
    }

    func wants(_ section: String) -> Bool { only.isEmpty || only.contains(section) }
}

func machine() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(model)"
}

func run() async throws {
    let options = try Options(arguments: CommandLine.arguments)
    let report = Report()
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let date = ISO8601DateFormatter().string(from: Date())
    log("tally-bench: \(machine()), \(date)\(options.quick ? ", quick" : "")")

    let echo = try RawEchoServer(path: directory + "/raw-echo.sock")
    defer { echo.stop() }
    let daemon = try DaemonProcess(binary: options.tally, directory: directory, name: "main")
    defer { daemon.terminate() }
    do {
        let client = try await daemon.waitUntilReady()
        await client.close()
    }

    if options.wants("memory") {
        try await Task.sleep(for: .seconds(1))
        let idle = daemon.memory().rss
        report.add(Figure(
            name: "Daemon RSS, idle (VmRSS after start)", value: fmt(idle / 1_048_576) + " MB",
            baseline: "—", ratio: "—", target: "< 30 MB", met: idle < 30 * 1_048_576))
    }
    if options.wants("unary") {
        try await benchUnary(report: report, daemon: daemon, echo: echo, quick: options.quick)
    }
    if options.wants("python"), let python = options.python {
        try benchPythonUnary(report: report, python: python, script: options.pythonBench, daemon: daemon, echo: echo, quick: options.quick)
    }
    var ingest: IngestResult?
    if options.wants("ingest") || options.wants("history") {
        ingest = try await benchIngest(report: report, daemon: daemon, directory: directory, quick: options.quick)
    }
    if options.wants("python"), let python = options.python {
        try benchPythonLoop(report: report, python: python, script: options.pythonBench, daemon: daemon)
    }
    if options.wants("history"), let ingest {
        try await benchHistory(report: report, daemon: daemon, ingest: ingest, quick: options.quick)
    }
    if options.wants("search") {
        try await benchSearch(report: report, binary: options.tally, directory: directory, quick: options.quick)
    }
    if options.wants("watch") {
        try await benchWatch(report: report, daemon: daemon, directory: directory, quick: options.quick, watchers: options.watchers)
    }
    if options.wants("artifacts") {
        try await benchArtifacts(report: report, daemon: daemon, directory: directory, sizeMiB: options.quick ? min(options.artifactMiB, 256) : options.artifactMiB)
    }

    if options.wants("durability") {
        try await benchDurability(report: report, directory: directory, quick: options.quick)
    }
    if options.wants("postgres") {
        if let url = options.postgres {
            try await benchPostgres(report: report, binary: options.tally, directory: directory, url: url, quick: options.quick)
        } else if options.only.contains("postgres") {
            throw NSError(domain: "bench", code: 64, userInfo: [NSLocalizedDescriptionKey: "the postgres section needs --postgres URL (or TALLY_BENCH_POSTGRES_URL)"])
        }
    }

    print("Tally benchmarks — \(machine()) — \(date)\n")
    report.printTable()
    if let path = options.markdown {
        try ("Machine: \(machine()). Date: \(date).\n\n" + report.markdown()).write(toFile: path, atomically: true, encoding: .utf8)
    }
}

do {
    try await run()
} catch {
    FileHandle.standardError.write(Data("tally-bench: error: \(error)\n".utf8))
    exit(1)
}
