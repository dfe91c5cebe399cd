import ArgumentParser
import Dispatch
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

#if canImport(Glibc)
import Glibc
#endif

struct WatchJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Follow a job's progress until it ends, then print its results.",
        discussion: """
            On a terminal, a progress bar is redrawn in place:
              [#########-----------]  45% 45/100  12.3 items/s  ETA 4s  model=small
            When the output is not a terminal, one plain line is printed per progress event.
            Exit status: 0 when the job completes, 1 when it fails or is cancelled, 130 on Ctrl-C
            (the job keeps running). --json prints every JobEvent as one JSON object per line.
            When the connection to the daemon breaks, watching resumes where it stopped.
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The job's id.", completion: Completion.jobs)
    var job: String

    @Flag(help: "Also print a line per finished item.")
    var items = false

    func run() async throws {
        try await followJob(job, items: items, client: client)
    }
}

struct WatchJobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Follow every job's events until Ctrl-C.",
        discussion: """
            Starts with the jobs that are pending or running, then shows every job's events as they happen:
            on a terminal one redrawn progress line per running job, otherwise one line per event.
            Ctrl-C stops watching (exit 130). When the connection to the daemon breaks, watching resumes
            where it stopped.
            """
    )

    @OptionGroup var client: ClientOptions

    @Option(help: ArgumentHelp("Only jobs of this kind (classification_eval or sweep).", valueName: "kind"))
    var kind: String?

    @Flag(help: "Also print a line per finished item.")
    var items = false

    func run() async throws {
        let printer = JobPrinter(mode: .current(json: client.json), single: false)
        let options = client
        let kind = kind ?? ""
        let items = items
        try await runInterruptibly(printer) {
            try await followJobEvents(options, printer: printer) { c, fromSeq in
                var request = WatchJobsRequest()
                request.kind = kind
                request.itemResults = items
                request.fromSeq = fromSeq
                return try await c.experiments.watchJobs(request, options: options.streaming)
            } handle: { event in
                _ = printer.handle(event)
                return false
            }
        }
    }
}

/// Follows one job to its end (for `watch job` and `eval --watch`): exit 0 when it completes, 1 when
/// it fails or is cancelled, 130 on Ctrl-C.
func followJob(_ jobID: String, items: Bool, client: ClientOptions) async throws {
    let printer = JobPrinter(mode: .current(json: client.json), single: true)
    let outcome = OutcomeBox()
    try await runInterruptibly(printer) {
        try await followJobEvents(client, printer: printer) { c, fromSeq in
            var request = WatchJobRequest()
            request.jobId = jobID
            request.itemResults = items
            request.fromSeq = fromSeq
            return try await c.experiments.watchJob(request, options: client.streaming)
        } handle: { event in
            guard let end = printer.handle(event) else { return false }
            outcome.set(end)
            return true
        }
    }
    if outcome.get() != .completed { throw ExitCode(1) }
}

final class OutcomeBox: @unchecked Sendable {
    private var value: JobPrinter.Outcome?
    private let lock = NSLock()
    func set(_ outcome: JobPrinter.Outcome) { lock.withLock { value = outcome } }
    func get() -> JobPrinter.Outcome? { lock.withLock { value } }
}

/// Runs `body` until it returns or Ctrl-C cancels it (exit 130, no message).
func runInterruptibly(_ printer: JobPrinter, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await runInterruptibly(finish: { printer.finish() }, body)
}

/// Runs `body` until it returns or Ctrl-C cancels it (exit 130, no message); `finish` tidies the
/// terminal output either way.
func runInterruptibly(finish: () -> Void, _ body: @escaping @Sendable () async throws -> Void) async throws {
    signal(SIGINT, SIG_IGN)
    let interrupts = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
    let task = Task { try await body() }
    interrupts.setEventHandler { task.cancel() }
    interrupts.resume()
    defer { interrupts.cancel() }
    do {
        try await task.value
    } catch {
        finish()
        if task.isCancelled { throw ExitCode(130) }
        throw error
    }
    finish()
    if task.isCancelled { throw ExitCode(130) }
}

/// Opens a job event stream and keeps it open: when the connection breaks (the daemon restarts)
/// or the stream ends without `handle` asking to stop, it reconnects with backoff and resumes with
/// `from_seq` = the last sequence number seen. Fails at once when the first connection fails, or
/// on an error other than a lost connection.
func followJobEvents(
    _ options: ClientOptions,
    printer: JobPrinter,
    open: @Sendable (TallyClient, UInt64) async throws -> ResponseStream<JobEvent>,
    handle: @Sendable (JobEvent) throws -> Bool
) async throws {
    var lastSeq: UInt64 = 0
    var connectedOnce = false
    var failures = 0
    var lost = false
    while true {
        try Task.checkCancellation()
        var connection: TallyClient?
        var reason = "the stream ended"
        do {
            let c = try await TallyClient.connect(url: options.url, socketPath: options.socket, clientName: "tally-cli/watch")
            connection = c
            let stream = try await open(c, lastSeq)
            connectedOnce = true
            for try await event in stream {
                if lost {
                    lost = false
                    printer.note("(reconnected)")
                }
                failures = 0
                // A snapshot carries the number of the last event it covers.
                lastSeq = max(lastSeq, event.seq)
                if try handle(event) {
                    await c.close()
                    return
                }
            }
            await c.close()
        } catch let error as RPCError {
            await connection?.close()
            if Task.isCancelled { throw CancellationError() }
            let transient: Set<RPCError.Code> = [.unavailable, .cancelled, .aborted]
            guard connectedOnce, transient.contains(error.code) else { throw CLIError(error) }
            reason = error.message
        } catch {
            await connection?.close()
            throw error
        }
        if !lost {
            lost = true
            printer.note("(connection to the daemon lost: \(reason); reconnecting…)")
        }
        failures += 1
        try await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
    }
}

/// Turns job events into terminal output: progress bars redrawn in place on a terminal, a line per
/// event otherwise, JSON Lines with --json.
final class JobPrinter: @unchecked Sendable {
    enum Mode {
        case interactive, plain, json

        static func current(json: Bool) -> Mode {
            json ? .json : (isatty(STDOUT_FILENO) == 1 ? .interactive : .plain)
        }
    }

    enum Outcome: Equatable {
        case completed, failed, cancelled
    }

    private struct JobState {
        var startedAtMs: Int64 = 0
        var labels: [String] = []
        var progress: String?
        /// Sweeps: the objective's name and the best trial so far.
        var isSweep = false
        var metric = "score"
        var best: Trial?
    }

    let mode: Mode
    /// One job (`watch job`): full results at the end, no job id in front of progress lines.
    let single: Bool
    private var jobs: [String: JobState] = [:]
    /// Jobs with a progress line on screen, in order of appearance.
    private var live: [String] = []
    private var drawn = 0
    private var headerShown = false
    private let lock = NSLock()

    init(mode: Mode, single: Bool) {
        self.mode = mode
        self.single = single
    }

    /// Prints an event; returns the job's outcome when the event ends it.
    func handle(_ event: JobEvent) -> Outcome? {
        lock.lock()
        defer { lock.unlock() }
        let outcome: Outcome? =
            switch event.event {
            case .completed?: .completed
            case .failed?: .failed
            case .cancelled?: .cancelled
            default: nil
            }
        if mode == .json {
            print(event.jsonString(pretty: false))
            fflush(nil)
            return outcome
        }
        let id = event.jobId
        var state = jobs[id] ?? JobState()
        defer { if outcome == nil { jobs[id] = state } else { jobs[id] = nil } }
        let who = "job \(id)"
        if event.jobKind == "sweep" { state.isSweep = true }
        switch event.event {
        case .snapshot(let j)?:
            state.startedAtMs = j.startedAtMs
            state.labels = JobFormat.labelOrder(j)
            if single && headerShown { break }
            headerShown = true
            var line = (single ? "watching job \(id)" : who) + ": \(j.kind)"
            if case .classification(let c)? = j.config {
                line += " of dataset \(c.dataset), models \(c.models.joined(separator: ", ")) (provider \(c.provider))"
            }
            if case .sweep(let c)? = j.config {
                state.isSweep = true
                state.metric = SweepFormat.metric(c)
                state.best = j.results?.sweep.flatMap { r in r.trials.first { $0.id == r.bestTrialId } }
                line += " (\(SweepFormat.summary(c))), \(JobFormat.status(j.status)), \(j.progressCurrent) trials finished"
            } else {
                line += ", \(JobFormat.status(j.status)), \(j.progressCurrent)/\(j.progressTotal) items"
            }
            emit([line])
            if j.status == .running || j.status == .pending, j.progressTotal > 0, j.progressCurrent > 0 {
                var p = JobProgress()
                p.current = j.progressCurrent
                p.total = j.progressTotal
                p.percentage = Double(j.progressCurrent) / Double(j.progressTotal) * 100
                p.etaSeconds = -1
                showProgress(id, bar(p, state: state), state: &state)
            }
        case .started(let s)?:
            // A job resumed after a restart starts again: its duration still counts from its first
            // start, which the snapshot gave.
            if state.startedAtMs == 0 { state.startedAtMs = event.timeMs }
            emit(["\(who) started" + (event.jobKind == "sweep" ? "" : ": \(s.total) items")])
        case .progress(let p)?:
            showProgress(id, bar(p, state: state), state: &state)
        case .itemResult(let r)?:
            var line = "item \(r.itemId)  model=\(r.model)  actual=\(r.actual)  "
            if r.error.isEmpty {
                line += "predicted=\(r.predicted)  conf=\(Format.number(r.confidence))"
                if !r.alternatives.isEmpty { line += "  alternatives=\(JobFormat.alternatives(r).replacingOccurrences(of: ", ", with: ","))" }
            } else {
                line += "predicted=ERROR  error=\(JobFormat.oneLine(r.error, 100))"
            }
            line += "  latency=\(Format.duration(ms: Int64(r.latencyMs.rounded())))"
            emit([single ? line : "job \(id)  " + line])
        case .completed(let c)?:
            retire(id, state: state)
            emit(["\(who) completed\(after(state, event))"], status: "completed")
            let results = c.results ?? JobResults()
            above {
                if let sweep = results.sweep {
                    if single { print() }
                    SweepFormat.printResults(sweep, metric: state.metric, trials: single)
                } else if let cv = results.crossValidation {
                    if single { print() }
                    for line in CrossValidationFormat.lines(cv) { print(line.terminalSafe) }
                } else if single {
                    print()
                    JobFormat.printResults(results, labels: state.labels)
                } else {
                    JobFormat.summaryTable(results).print(indent: "  ")
                }
            }
        case .failed(let f)?:
            retire(id, state: state)
            emit(["\(who) failed\(after(state, event)): \(f.error)"], status: "failed")
        case .cancelled?:
            retire(id, state: state)
            emit(["\(who) cancelled\(after(state, event))"], status: "cancelled")
        case .trialStarted(let t)?:
            let trial = t.trial ?? Trial()
            let how = trial.methodUsed.isEmpty ? "" : " (\(trial.methodUsed))"
            emit([(single ? "" : "job \(id)  ") + "trial \(trial.number) started: \(SweepFormat.params(trial.params))\(how)"])
        case .trialFinished(let t)?:
            let trial = t.trial ?? Trial()
            var line = (single ? "" : "job \(id)  ") + SweepFormat.finishedLine(trial, metric: state.metric)
            state.best = t.best
            if let best = t.best {
                line += "  best so far: trial \(best.number), \(state.metric) \(SweepFormat.score(best))"
            }
            emit([line])
        case nil:
            break
        }
        return outcome
    }

    private func after(_ state: JobState, _ event: JobEvent) -> String {
        guard state.startedAtMs > 0, event.timeMs >= state.startedAtMs else { return "" }
        return " after " + Format.duration(ms: event.timeMs - state.startedAtMs)
    }

    /// The progress line of a job; a sweep's shows the best objective so far.
    private func bar(_ p: JobProgress, state: JobState) -> String {
        guard state.isSweep else { return bar(p) }
        return bar(p, unit: "trials") + (state.best.map { "  best \(state.metric) \(SweepFormat.score($0))" } ?? "")
    }

    /// "[#########-----------]  45% 45/100  12.3 items/s  ETA 4s  model=small"
    func bar(_ p: JobProgress, unit: String = "items") -> String {
        let fraction = p.total > 0 ? min(1, Double(p.current) / Double(p.total)) : 1
        let width = 20
        let filled = Int((fraction * Double(width)).rounded(.down))
        var line = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
        line += String(format: " %3d%% ", Int((fraction * 100).rounded(.down))) + "\(p.current)/\(p.total)"
        if p.itemsPerSecond > 0 { line += "  " + String(format: "%.1f", p.itemsPerSecond) + " \(unit)/s" }
        if p.current < p.total {
            line += "  ETA " + (p.etaSeconds >= 0 ? Format.duration(ms: Int64(p.etaSeconds.rounded(.up)) * 1000) : "-")
        }
        if !p.model.isEmpty { line += "  model=\(p.model)" }
        return line
    }

    private func showProgress(_ id: String, _ text: String, state: inout JobState) {
        // On a terminal, a short id keeps the line within the width.
        let line = (single ? text : "job \(mode == .interactive ? Format.short(id, 8) : id)  " + text).terminalSafe
        state.progress = line
        if mode == .plain {
            print(line)
            fflush(nil)
            return
        }
        if !live.contains(id) { live.append(id) }
        jobs[id] = state
        redraw()
    }

    /// Takes a finished job's progress line off the live block, leaving it on screen as a plain line.
    private func retire(_ id: String, state: JobState) {
        guard mode == .interactive, let index = live.firstIndex(of: id) else { return }
        live.remove(at: index)
        if let line = state.progress { emit([line]) }
    }

    /// Prints lines above the live block of progress lines; the first `status` word of each is
    /// coloured (on a terminal).
    private func emit(_ lines: [String], status: String? = nil) {
        above {
            for line in lines { print(Style.line(line, status: status)) }
        }
    }

    /// Runs `body`, which prints whole lines, above the live block of progress lines.
    private func above(_ body: () -> Void) {
        if mode == .interactive { clearBlock() }
        body()
        if mode == .interactive { drawBlock() }
        fflush(nil)
    }

    private func redraw() {
        clearBlock()
        drawBlock()
        fflush(nil)
    }

    /// Moves to the start of the block's first line, clearing the block.
    private func clearBlock() {
        guard drawn > 0 else { return }
        var out = "\r\u{1B}[K"
        for _ in 1..<drawn { out += "\u{1B}[A\u{1B}[K" }
        print(out, terminator: "")
        drawn = 0
    }

    /// Draws the progress lines, leaving the cursor at the end of the last one.
    private func drawBlock() {
        let lines = live.compactMap { jobs[$0]?.progress }
        guard !lines.isEmpty else { return }
        let width = terminalColumns()
        print(lines.map { fit($0, width) }.joined(separator: "\n"), terminator: "")
        drawn = lines.count
    }

    private func fit(_ line: String, _ width: Int) -> String {
        guard width > 1, line.count >= width else { return line }
        return String(line.prefix(width - 1))
    }

    /// A note on standard error (reconnecting), keeping the progress block intact.
    func note(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        guard mode != .json else {
            printError(text)
            return
        }
        if mode == .interactive { clearBlock() }
        fflush(nil)
        printError(text)
        if mode == .interactive { drawBlock() }
        fflush(nil)
    }

    /// Ends the live block with a newline.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn > 0 {
            print()
            drawn = 0
            live.removeAll()
        }
        fflush(nil)
    }
}

/// Columns of the terminal on standard output (80 when unknown).
func terminalColumns() -> Int {
    var size = winsize()
    if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
    return 80
}
