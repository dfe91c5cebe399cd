import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

#if canImport(Glibc)
import Glibc
#endif

struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run a sweep's trials as child processes of a command until the sweep ends.",
        discussion: """
            Asks the sweep for trials and runs the command once per trial, up to --parallel at once. Each child gets
            its params as --name=value arguments (after the command's own) and in the environment:
              TALLY_PARAMS        the params as a JSON object
              TALLY_TRIAL_ID, TALLY_TRIAL_NUMBER, TALLY_RUN_ID, TALLY_SWEEP_ID, TALLY_SOCKET
            The child reports its score through a client (Python: tally.current_trial().report(score)), or prints
            a JSON object as the last line of its standard output: {"score": 0.12}, {"<metric>": 0.12} or
            {"folds": [0.91, 0.88, 0.90]}. Exit status 0 without a score, another exit status or a signal fail the
            trial. The children's output is shown with a [trial N] prefix. The agent keeps each running trial
            alive with heartbeats.
            Ctrl-C (or SIGTERM) stops the agent: its children get SIGTERM (SIGKILL after --grace seconds, or at a
            second Ctrl-C) and their trials end KILLED; exit status 130 (143 for SIGTERM). When the sweep
            ends, the agent prints the best trial so far and exits 0.
            Example: tally agent 5f0c2a9e1b7d4c3a --parallel 3 -- python train.py --epochs 5
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The sweep's id.", completion: Completion.sweeps)
    var sweep: String

    @Option(help: ArgumentHelp("Trials to run at once (default 1).", valueName: "n"))
    var parallel: Int = 1

    @Option(help: ArgumentHelp("Start at most this many trials, then stop asking.", valueName: "n"))
    var count: Int?

    @Option(help: ArgumentHelp("Name recorded on the trials (default <host>-<pid>).", valueName: "name"))
    var worker: String?

    @Flag(name: .customLong("no-args"), help: "Do not append --name=value arguments (params only in TALLY_PARAMS).")
    var noArgs = false

    @Option(help: ArgumentHelp("Seconds a stopped child gets between SIGTERM and SIGKILL (default 10).", valueName: "seconds"))
    var grace: Double = 10

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The trial command, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the trial command after --, e.g. tally agent \(sweep) -- python train.py") }
        if parallel <= 0 || parallel > 256 { throw ValidationError("--parallel must be between 1 and 256") }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        if !(grace >= 0) { throw ValidationError("--grace must be a number of seconds") }
    }

    func run() async throws {
        // A command that cannot start would fail every trial it is given: refuse it up front.
        guard Self.findExecutable(command[0]) != nil else {
            throw ValidationErrorMessage(message: "cannot run \(command[0]): not found or not executable" + (command[0].contains("/") ? "" : " in PATH"))
        }
        let connection: TallyClient
        do {
            connection = try await TallyClient.connect(url: client.url, socketPath: client.socket, clientName: "tally-agent")
        } catch let error as RPCError {
            throw CLIError(error)
        }
        defer { Task { [connection] in await connection.close() } }
        let handle = Sweep(client: connection, id: sweep)
        let job: Job
        do {
            job = try await handle.job(options: client.unary)
        } catch let error as RPCError {
            throw CLIError(error)
        }
        let output = AgentOutput(json: client.json)
        let metric: String
        let timeoutMs: UInt64
        let isCrossValidation: Bool
        switch job.config {
        case .sweep(let config)?:
            metric = SweepFormat.metric(config)
            timeoutMs = config.heartbeatTimeoutMs > 0 ? config.heartbeatTimeoutMs : 60_000
            isCrossValidation = false
            guard job.status == .pending || job.status == .running else {
                output.line("sweep \(job.id) has already ended (\(JobFormat.status(job.status)))")
                if let results = job.results?.sweep { output.lines(SweepFormat.bestLines(results, metric: metric)) }
                return
            }
            output.line("agent: sweep \(job.id) (\(SweepFormat.summary(config))), running up to \(parallel) trial\(parallel == 1 ? "" : "s") of: \(command.joined(separator: " "))")
        case .crossValidation(let config)?:
            metric = config.metrics.first ?? "score"
            timeoutMs = config.heartbeatTimeoutMs > 0 ? config.heartbeatTimeoutMs : 60_000
            isCrossValidation = true
            guard job.status == .pending || job.status == .running else {
                output.line("cross-validation \(job.id) has already ended (\(JobFormat.status(job.status)))")
                return
            }
            output.line("agent: cross-validation \(job.id) (\(config.folds) folds), running up to \(parallel) fold\(parallel == 1 ? "" : "s") at once of: \(command.joined(separator: " "))")
        default:
            throw ValidationErrorMessage(message: "job \(job.id) is a \(job.kind) job, not a sweep or a cross-validation")
        }

        let context = AgentContext(
            sweep: handle, command: command, appendArguments: !noArgs, metric: metric, isCrossValidation: isCrossValidation,
            worker: worker ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())",
            socketPath: TallyClient.socketPath(client.socket),
            heartbeat: .milliseconds(Int64(max(100, min(10_000, timeoutMs / 3)))),
            stop: AgentStop(grace: grace), output: output, tickets: count ?? Int.max
        )

        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { context.stop.signal(number, output: output) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        var failure: (any Error)?
        await withTaskGroup(of: (any Error)?.self) { group in
            for slot in 0..<parallel {
                group.addTask {
                    do {
                        try await context.work(slot: slot)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            for await error in group {
                if let error, failure == nil {
                    failure = error
                    context.stop.abort()
                }
            }
        }

        let tally = context.tally.withLock { $0 }
        output.line("agent: ran \(tally.total) trial\(tally.total == 1 ? "" : "s") (\(tally.completed) completed, \(tally.failed) failed, \(tally.pruned) pruned, \(tally.killed) killed)")
        if let failure {
            if let error = failure as? RPCError { throw CLIError(error) }
            throw failure
        }
        if let number = context.stop.signalNumber {
            throw ExitCode(128 + number)
        }
        if isCrossValidation {
            // The job ends once its last fold is stored: wait for it, then show the summary.
            for _ in 0..<100 {
                guard let ended = try? await handle.job(options: client.unary) else { break }
                if ended.status != .pending && ended.status != .running {
                    if let results = ended.results?.crossValidation {
                        output.lines(CrossValidationFormat.lines(results))
                    }
                    if ended.status != .completed {
                        throw ValidationErrorMessage(message: "cross-validation \(ended.id) \(JobFormat.status(ended.status)): \(ended.error)")
                    }
                    break
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        } else if let results = try? await handle.job(options: client.unary).results?.sweep {
            output.line("sweep \(sweep): " + SweepFormat.countsLine(results))
            output.lines(SweepFormat.bestLines(results, metric: metric))
        }
    }
}

extension Agent {
    /// The path `posix_spawnp` would run for `name`: itself when it has a slash, else the first
    /// executable file of that name in `PATH`.
    static func findExecutable(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Trial counts of one agent.
struct AgentTally: Sendable {
    var total = 0, completed = 0, failed = 0, pruned = 0, killed = 0

    mutating func add(_ status: TrialStatus) {
        total += 1
        switch status {
        case .completed: completed += 1
        case .pruned: pruned += 1
        case .killed: killed += 1
        default: failed += 1
        }
    }
}

/// What every slot of an agent shares.
final class AgentContext: Sendable {
    let sweep: Sweep
    let command: [String]
    let appendArguments: Bool
    let metric: String
    /// The job is a cross-validation: its trials are folds.
    let isCrossValidation: Bool
    let worker: String
    let socketPath: String
    let heartbeat: Duration
    let stop: AgentStop
    let output: AgentOutput
    /// Trials this agent may still start (`--count`).
    let tickets: Mutex<Int>
    let tally = Mutex(AgentTally())

    init(sweep: Sweep, command: [String], appendArguments: Bool, metric: String, isCrossValidation: Bool = false, worker: String,
         socketPath: String, heartbeat: Duration, stop: AgentStop, output: AgentOutput, tickets: Int) {
        self.sweep = sweep
        self.command = command
        self.appendArguments = appendArguments
        self.metric = metric
        self.isCrossValidation = isCrossValidation
        self.worker = worker
        self.socketPath = socketPath
        self.heartbeat = heartbeat
        self.stop = stop
        self.output = output
        self.tickets = Mutex(tickets)
    }

    /// One slot: asks for a trial, runs it, reports it, until the sweep or the agent stops.
    func work(slot: Int) async throws {
        while !stop.isStopped {
            let granted = tickets.withLock { left in
                guard left > 0 else { return false }
                left -= 1
                return true
            }
            guard granted else { return }
            guard let trial = try await ask() else { return }
            try await run(trial)
        }
    }

    /// The next trial; `nil` when the sweep is finished or the agent is stopping.
    private func ask() async throws -> SweepTrial? {
        try await sweep.nextTrial(worker: worker, until: { [stop] in stop.isStopped })
    }

    /// Runs one trial's child process to its end and reports the outcome.
    private func run(_ trial: SweepTrial) async throws {
        let number = trial.number
        output.line("trial \(number) started: \(SweepFormat.params(trial.params))" + (trial.trial.methodUsed.isEmpty ? "" : " (\(trial.trial.methodUsed))"))
        guard !stop.isStopped else {
            try await end(trial, outcome: .killed(stop.reason + " before the trial started"))
            return
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TALLY_SOCKET"] = socketPath
        environment["TALLY_SWEEP_ID"] = sweep.id
        environment["TALLY_TRIAL_ID"] = trial.id
        environment["TALLY_TRIAL_NUMBER"] = String(number)
        environment["TALLY_RUN_ID"] = trial.runID
        environment["TALLY_PARAMS"] = SweepFormat.json(trial.params)
        if isCrossValidation {
            for (name, variable) in [("fold", "TALLY_FOLD"), ("folds", "TALLY_FOLDS")] {
                if case .intValue(let value)? = trial.params[name]?.kind { environment[variable] = String(value) }
            }
        }
        let arguments = command + (appendArguments ? SweepFormat.arguments(trial.params) : [])
        let lastLines = Mutex<(output: String?, error: String?)>((nil, nil))
        let child: ChildProcess
        do {
            child = try ChildProcess(arguments: arguments, environment: environment) { [output] stream, line in
                output.child(number: number, stream: stream, line: line)
                guard !line.allSatisfy(\.isWhitespace) else { return }
                lastLines.withLock { last in
                    if stream == .output { last.output = line } else { last.error = line }
                }
            }
        } catch let error as ValidationErrorMessage {
            try await end(trial, outcome: .failure(error.message))
            return
        }
        stop.track(child)
        let beats = Task { [stop] in
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                if Task.isCancelled { break }
                do {
                    try await trial.heartbeat()
                } catch let error as RPCError where error.code == .unavailable {
                    // The daemon is gone: the trial's result could not be reported (a restarted
                    // daemon fails the trials it finds running), so stop the children now.
                    stop.abort()
                    break
                } catch {
                    // FAILED_PRECONDITION: the child has reported already, or the trial expired.
                }
            }
        }
        let termination = await child.wait()
        beats.cancel()
        stop.untrack(child)

        let last = lastLines.withLock { $0 }
        let outcome: ReportTrialRequest.Outcome
        if stop.isStopped {
            outcome = .killed("\(stop.reason); the trial's process: \(termination.description)")
        } else if termination == .exited(0) {
            if let reported = isCrossValidation
                ? TrialOutput.foldOutcome(lastLine: last.output) : TrialOutput.outcome(lastLine: last.output, metric: metric) {
                outcome = reported
            } else {
                outcome = .failure("exit status 0 without a score: report it through a client or print {\"\(metric)\": …} as the last line of standard output")
            }
        } else {
            outcome = .failure(termination.description + (last.error.map { ": " + JobFormat.oneLine($0, 200) } ?? ""))
        }
        try await end(trial, outcome: outcome)
    }

    /// Sends the agent's outcome of a trial, unless the trial already ended (the child reported
    /// through a client, or was pruned), and prints how it ended.
    private func end(_ trial: SweepTrial, outcome: ReportTrialRequest.Outcome) async throws {
        var request = ReportTrialRequest()
        request.trialId = trial.id
        request.outcome = outcome
        var ended: Trial?
        do {
            ended = try await sweep.client.experiments.reportTrial(request).trial
        } catch let error as RPCError where error.code == .failedPrecondition {
            // Already ended by the child's own report: show what it reported.
            let results = try await sweep.job().results?.sweep
            ended = results?.trials.first { $0.id == trial.id }
        } catch let error as RPCError where error.code == .invalidArgument {
            // A score the daemon refuses (not finite, no folds): the trial fails with the reason.
            var failure = ReportTrialRequest()
            failure.trialId = trial.id
            failure.outcome = .failure("the trial's result was refused: \(error.message)")
            ended = try? await sweep.client.experiments.reportTrial(failure).trial
        }
        guard let ended else { return }
        tally.withLock { $0.add(ended.status) }
        output.trial(ended, metric: metric)
    }
}

/// How the agent stops: the signal that asked for it, and the children to stop.
final class AgentStop: Sendable {
    private struct State {
        var stopped = false
        var signal: Int32?
        var signals = 0
        var children: [pid_t: ChildProcess] = [:]
    }

    private let state = Mutex(State())
    private let grace: Double

    init(grace: Double) {
        self.grace = grace
    }

    var isStopped: Bool { state.withLock { $0.stopped } }
    var signalNumber: Int32? { state.withLock { $0.signal } }
    var reason: String {
        state.withLock { s in s.signal.map { "agent stopped by \(signalName($0) ?? "signal \($0)")" } ?? "agent stopped" }
    }

    /// A signal arrived: the first stops the children gently, a later one at once.
    func signal(_ number: Int32, output: AgentOutput) {
        let (first, children) = state.withLock { s -> (Bool, [ChildProcess]) in
            s.signals += 1
            if s.signal == nil { s.signal = number }
            s.stopped = true
            return (s.signals == 1, Array(s.children.values))
        }
        if first {
            output.line("agent: \(signalName(number) ?? "signal \(number)"): stopping \(children.count) running trial\(children.count == 1 ? "" : "s") (again to kill at once)")
            terminate(children)
        } else {
            children.forEach { $0.signalGroup(SIGKILL) }
        }
    }

    /// Stops after an error of the agent itself (the daemon went away).
    func abort() {
        let children = state.withLock { s -> [ChildProcess] in
            s.stopped = true
            return Array(s.children.values)
        }
        terminate(children)
    }

    private func terminate(_ children: [ChildProcess]) {
        children.forEach { $0.signalGroup(SIGTERM) }
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) {
            children.forEach { $0.signalGroup(SIGKILL) }
        }
    }

    func track(_ child: ChildProcess) {
        let stopped = state.withLock { s -> Bool in
            s.children[child.pid] = child
            return s.stopped
        }
        if stopped { terminate([child]) }
    }

    func untrack(_ child: ChildProcess) {
        state.withLock { _ = $0.children.removeValue(forKey: child.pid) }
    }
}

/// The agent's output: its own lines and its children's, whole lines at a time.
final class AgentOutput: Sendable {
    private let lock = Mutex(())
    let json: Bool

    init(json: Bool) {
        self.json = json
    }

    func line(_ text: String) {
        guard !json else { return }
        write(text + "\n", to: FileHandle.standardOutput)
    }

    func lines(_ texts: [String]) {
        for text in texts { line(text) }
    }

    func child(number: UInt64, stream: ChildProcess.Stream, line: String) {
        let text = "[trial \(number)] \(line)\n"
        write(text, to: stream == .output && !json ? FileHandle.standardOutput : FileHandle.standardError)
    }

    /// A trial's end: a line, or the trial as one JSON object with --json.
    func trial(_ trial: Trial, metric: String) {
        if json {
            write(trial.jsonString(pretty: false) + "\n", to: FileHandle.standardOutput)
        } else {
            line(SweepFormat.finishedLine(trial, metric: metric))
        }
    }

    private func write(_ text: String, to handle: FileHandle) {
        lock.withLock { _ in handle.write(Data(text.utf8)) }
    }
}

/// Reads a trial's result from the last line of its standard output.
enum TrialOutput {
    /// `{"score": x}`, `{"<metric>": x}` or `{"folds": [...], "fit_times": [...], "score_times": [...]}`;
    /// `nil` when the line is not such an object.
    static func outcome(lastLine: String?, metric: String) -> ReportTrialRequest.Outcome? {
        guard let lastLine, let data = lastLine.trimmingCharacters(in: .whitespaces).data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        func numbers(_ key: String) -> [Double]? {
            guard let list = object[key] as? [Any] else { return nil }
            let values = list.compactMap { ($0 as? NSNumber).flatMap { isBool($0) ? nil : $0.doubleValue } }
            return values.count == list.count ? values : nil
        }
        if let folds = numbers("folds") {
            var message = ReportTrialRequest.Folds()
            message.scores = folds
            message.fitTimes = numbers("fit_times") ?? []
            message.scoreTimes = numbers("score_times") ?? []
            return .folds(message)
        }
        for key in [metric, "score"] {
            if let number = object[key] as? NSNumber, !isBool(number) {
                return .score(number.doubleValue)
            }
        }
        return nil
    }

    /// A fold's scores: `{"test": {"accuracy": …}, "train": {…}, "fit_time": s, "score_time": s}`, or
    /// a flat object whose numbers (but `fit_time` and `score_time`) are the test scores;
    /// `nil` when the line is not such an object.
    static func foldOutcome(lastLine: String?) -> ReportTrialRequest.Outcome? {
        guard let lastLine, let data = lastLine.trimmingCharacters(in: .whitespaces).data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        func scores(_ value: Any?) -> [String: Double]? {
            guard let map = value as? [String: Any] else { return nil }
            var out: [String: Double] = [:]
            for (key, item) in map {
                guard let number = item as? NSNumber, !isBool(number) else { return nil }
                out[key] = number.doubleValue
            }
            return out
        }
        var fold = FoldScores()
        if let test = scores(object["test"]) {
            fold.test = test
            fold.train = scores(object["train"]) ?? [:]
        } else {
            var flat = object
            flat["fit_time"] = nil
            flat["score_time"] = nil
            guard let test = scores(flat), !test.isEmpty else { return nil }
            fold.test = test
        }
        guard !fold.test.isEmpty else { return nil }
        fold.fitTime = (object["fit_time"] as? NSNumber)?.doubleValue ?? 0
        fold.scoreTime = (object["score_time"] as? NSNumber)?.doubleValue ?? 0
        return .fold(fold)
    }

    private static func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c" && (number == NSNumber(value: true) || number == NSNumber(value: false))
    }
}
