// Load and soak test of a real daemon: many connections logging metrics while watchers follow
// their runs and a sweep job, some watchers never reading. Prints throughput, watcher latency,
// the daemon's memory and open files, and exits 1 when a check fails (docs/reliability.md).
//
//     swift run -c release tally-load                      # 200 writers, 500 watchers, 20 s
//     swift run -c release tally-load --minutes 30         # soak: RSS and fds sampled, no growth allowed
import Foundation
import Synchronization
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var tally = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tally").path
    var writers = 200
    var watchers = 500
    var stalled = 20
    var seconds = 20.0
    var minutes: Double?
    var batch = 1000
    var maxRSSMB = 256.0

    static func parse() -> Options {
        var o = Options()
        var args = CommandLine.arguments.dropFirst()
        func value() -> String {
            guard let v = args.popFirst() else { fail("missing value") }
            return v
        }
        while let arg = args.popFirst() {
            switch arg {
            case "--tally": o.tally = value()
            case "--writers": o.writers = Int(value()) ?? o.writers
            case "--watchers": o.watchers = Int(value()) ?? o.watchers
            case "--stalled": o.stalled = Int(value()) ?? o.stalled
            case "--seconds": o.seconds = Double(value()) ?? o.seconds
            case "--minutes": o.minutes = Double(value())
            case "--batch": o.batch = Int(value()) ?? o.batch
            case "--max-rss-mb": o.maxRSSMB = Double(value()) ?? o.maxRSSMB
            case "-h", "--help":
                print("usage: tally-load [--tally PATH] [--writers 200] [--watchers 500] [--stalled 20] [--seconds 20 | --minutes N] [--batch 1000] [--max-rss-mb 256]")
                exit(0)
            default: fail("unknown option \(arg)")
            }
        }
        return o
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("tally-load: \(message)\n".utf8))
    exit(2)
}

func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// Counters shared by every task.
final class Tally: Sendable {
    let points = Atomic<Int>(0)
    let writerErrors = Atomic<Int>(0)
    let watcherErrors = Atomic<Int>(0)
    let events = Atomic<Int>(0)
    let latencies = Mutex<[Int64]>([])
    let jobLatencies = Mutex<[Int64]>([])
    let ackLatencies = Mutex<[Int64]>([])
    let firstErrors = Mutex<[String]>([])

    func writerError(_ text: String) {
        writerErrors.add(1, ordering: .relaxed)
        note(text)
    }

    func watcherError(_ text: String) {
        watcherErrors.add(1, ordering: .relaxed)
        note(text)
    }

    private func note(_ text: String) {
        firstErrors.withLock { if $0.count < 5 { $0.append(text) } }
    }
}

/// The daemon's VmRSS, VmHWM (KiB) and open files, from /proc.
func sample(_ pid: Int32) -> (rss: Double, peak: Double, fds: Int) {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    func kib(_ key: String) -> Double {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
        return Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    return (kib("VmRSS:") / 1024, kib("VmHWM:") / 1024, fds)
}

func percentile(_ values: [Int64], _ p: Double) -> Int64 {
    guard !values.isEmpty else { return -1 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

let options = Options.parse()
let duration = options.minutes.map { $0 * 60 } ?? options.seconds
guard FileManager.default.isExecutableFile(atPath: options.tally) else { fail("no tally binary at \(options.tally); give --tally PATH") }

let directory = "/tmp/tally-load-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let socket = directory + "/tally.sock"
let daemon = Process()
daemon.executableURL = URL(fileURLWithPath: options.tally)
daemon.arguments = ["serve", "--socket", socket, "--home", directory + "/home", "--log-level", "error"]
daemon.standardOutput = FileHandle.nullDevice
try daemon.run()
defer {
    daemon.terminate()
    daemon.waitUntilExit()
    try? FileManager.default.removeItem(atPath: directory)
}

var control: TallyClient?
for _ in 0..<600 where control == nil {
    control = try? await TallyClient.connect(socketPath: socket, clientName: "tally-load")
    if control == nil { try await Task.sleep(for: .milliseconds(50)) }
}
guard let control else { fail("the daemon did not start") }
try await Task.sleep(for: .milliseconds(500))
let idle = sample(daemon.processIdentifier)
print("daemon pid \(daemon.processIdentifier): idle RSS \(String(format: "%.1f", idle.rss)) MiB, \(idle.fds) open files")
print("load: \(options.writers) writers (batches of \(options.batch) points, each acknowledged after commit), \(options.watchers) watchers (\(options.stalled) never reading), \(Int(duration)) s")

// Runs, one per writer, and a sweep whose trials a worker drives, for job events.
var runs: [String] = []
for index in 0..<options.writers {
    var start = StartRunRequest()
    var ref = ExperimentRef()
    ref.ref = .name("load")
    start.experiment = ref
    start.createExperiment = true
    start.name = "writer-\(index)"
    runs.append(try await control.tracking.startRun(start).id)
}
var param = SweepParam()
param.name = "x"
var range = SweepParam.FloatRange()
range.low = 0
range.high = 1
param.kind = .floatRange(range)
var sweepConfig = SweepConfig()
sweepConfig.params = [param]
sweepConfig.method = .random
sweepConfig.timeLimitMs = UInt64((duration + 30) * 1000)
let sweep = try await control.createSweep(sweepConfig)
let runIDs = runs

let counters = Tally()
let deadline = ContinuousClock.now + .seconds(duration)
let stop = Atomic<Bool>(false)

// Watchers: four in five follow runs, the rest the sweep; a few never read.
let runWatchers = options.watchers * 4 / 5
let watcherConnections = max(1, (options.watchers + 49) / 50)
var watcherClients: [TallyClient] = []
for _ in 0..<watcherConnections { watcherClients.append(try await TallyClient.connect(socketPath: socket, clientName: "tally-load-watch")) }
var stalledStreams: [ResponseStream<RunEvent>] = []
let stalledClient = try await TallyClient.connect(socketPath: socket, clientName: "tally-load-stalled")
for index in 0..<options.stalled {
    var request = WatchRunRequest()
    request.runId = runs[index % runs.count]
    stalledStreams.append(try await stalledClient.tracking.watchRun(request))
}

let watchClients = watcherClients
let watching = Task {
    await withTaskGroup(of: Void.self) { group in
        for index in 0..<(options.watchers - options.stalled) {
            let client = watchClients[index % watchClients.count]
            let followsRun = index < runWatchers - options.stalled
            group.addTask {
                do {
                    if followsRun {
                        var request = WatchRunRequest()
                        request.runId = runIDs[index % runIDs.count]
                        for try await event in try await client.tracking.watchRun(request) {
                            guard case .points(let points)? = event.event, let sent = points.timestampsMs.last else { continue }
                            let latency = nowMs() - sent
                            counters.events.add(1, ordering: .relaxed)
                            counters.latencies.withLock { $0.append(latency) }
                        }
                    } else {
                        var request = WatchJobRequest()
                        request.jobId = sweep.id
                        for try await event in try await client.experiments.watchJob(request) {
                            guard event.timeMs > 0, case .trialFinished? = event.event else { continue }
                            counters.events.add(1, ordering: .relaxed)
                            counters.jobLatencies.withLock { $0.append(nowMs() - event.timeMs) }
                        }
                    }
                } catch is CancellationError {
                } catch let error as RPCError where error.code == .cancelled || stop.load(ordering: .relaxed) {
                } catch {
                    counters.watcherError("watcher: \(error)")
                }
            }
        }
    }
}
// Let the watchers subscribe before the load starts.
try await Task.sleep(for: .seconds(1))

// The sweep's worker: a trial every 20 ms.
let sweeping = Task {
    while ContinuousClock.now < deadline {
        guard let trial = try? await sweep.nextTrial(worker: "load", pollInterval: .milliseconds(50)) else { break }
        try? await Task.sleep(for: .milliseconds(20))
        _ = try? await trial.report(score: Double(trial.number))
    }
}

// Samples of the daemon's memory and files.
let samples = Mutex<[(seconds: Double, rss: Double, fds: Int)]>([])
let started = ContinuousClock.now
let sampling = Task {
    while !stop.load(ordering: .relaxed) {
        let s = sample(daemon.processIdentifier)
        let elapsed = Double((ContinuousClock.now - started).components.seconds)
        samples.withLock { $0.append((elapsed, s.rss, s.fds)) }
        try? await Task.sleep(for: .milliseconds(250))
    }
}

// Writers.
let batchSize = options.batch
await withTaskGroup(of: Void.self) { group in
    for (index, run) in runIDs.enumerated() {
        group.addTask {
            guard let client = try? await TallyClient.connect(socketPath: socket, clientName: "tally-load-writer") else {
                counters.writerError("writer \(index): cannot connect")
                return
            }
            var step: Int64 = 0
            while ContinuousClock.now < deadline {
                var batch = MetricBatch()
                batch.runId = run
                batch.keys = ["loss", "acc"]
                batch.keyIndex = (0..<batchSize).map { UInt32($0 % 2) }
                batch.values = (0..<batchSize).map { Double($0) }
                batch.steps = (0..<batchSize).map { step + Int64($0 / 2) }
                let sent = nowMs()
                batch.timestampsMs = [Int64](repeating: sent, count: batchSize)
                do {
                    _ = try await client.tracking.logMetrics(batch)
                    counters.ackLatencies.withLock { $0.append(nowMs() - sent) }
                    counters.points.add(batchSize, ordering: .relaxed)
                    step += Int64(batchSize / 2)
                } catch {
                    counters.writerError("writer \(index): \(error)")
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            await client.close()
        }
    }
}
let elapsed = Double((ContinuousClock.now - started).components.seconds) + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
try? await Task.sleep(for: .milliseconds(500))
stop.store(true, ordering: .relaxed)
sweeping.cancel()
watching.cancel()
sampling.cancel()
_ = await sampling.value

// Every acknowledged point is stored.
var stored: UInt64 = 0
for run in runs {
    var get = GetRunRequest()
    get.runId = run
    stored += (try await control.tracking.getRun(get)).metrics.reduce(0) { $0 + $1.count }
}
let final = sample(daemon.processIdentifier)
let info = try await control.system.info()
for client in watcherClients { await client.close() }
await stalledClient.close()
_ = stalledStreams
await control.close()

let acknowledged = counters.points.load(ordering: .relaxed)
let latencies = counters.latencies.withLock { $0 }
let jobLatencies = counters.jobLatencies.withLock { $0 }
let ackLatencies = counters.ackLatencies.withLock { $0 }
let history = samples.withLock { $0 }
print(String(format: "ingest: %d points acknowledged in %.1f s: %.0f points/s; %d stored", acknowledged, elapsed, Double(acknowledged) / elapsed, stored))
print("writer errors: \(counters.writerErrors.load(ordering: .relaxed)); watcher errors: \(counters.watcherErrors.load(ordering: .relaxed)); events received: \(counters.events.load(ordering: .relaxed))")
print("writers, log → acknowledgement (committed): p50 \(percentile(ackLatencies, 0.5)) ms, p99 \(percentile(ackLatencies, 0.99)) ms")
print("run watchers, log → watcher latency: p50 \(percentile(latencies, 0.5)) ms, p99 \(percentile(latencies, 0.99)) ms (\(latencies.count) events)")
print("job watchers, publish → watcher latency: p50 \(percentile(jobLatencies, 0.5)) ms, p99 \(percentile(jobLatencies, 0.99)) ms (\(jobLatencies.count) events)")
print(String(format: "daemon memory: peak RSS %.1f MiB (idle %.1f MiB), now %.1f MiB; open files %d at idle, %d at the end (%d connections still open)",
             final.peak, idle.rss, final.rss, idle.fds, final.fds, Int(info.openConnections)))

var failures: [String] = []
if counters.writerErrors.load(ordering: .relaxed) > 0 { failures.append("writers had errors") }
if counters.watcherErrors.load(ordering: .relaxed) > 0 { failures.append("watchers had errors") }
if stored < UInt64(acknowledged) { failures.append("stored \(stored) < acknowledged \(acknowledged)") }
if latencies.isEmpty || jobLatencies.isEmpty { failures.append("watchers received no events") }
if final.peak > options.maxRSSMB { failures.append(String(format: "peak RSS %.1f MiB over %.0f MiB", final.peak, options.maxRSSMB)) }

if options.minutes != nil {
    // Soak: after a warm-up (the first third), RSS and open files must not keep growing.
    let warm = history.filter { $0.seconds >= duration / 3 }
    if let first = warm.first, let last = warm.last {
        let headRSS = warm.prefix(max(1, warm.count / 10)).map(\.rss).reduce(0, +) / Double(max(1, warm.count / 10))
        let tailRSS = warm.suffix(max(1, warm.count / 10)).map(\.rss).reduce(0, +) / Double(max(1, warm.count / 10))
        print(String(format: "soak: after warm-up RSS %.1f → %.1f MiB, open files %d → %d", headRSS, tailRSS, first.fds, last.fds))
        for row in stride(from: 0, to: history.count, by: max(1, history.count / 12)) {
            print(String(format: "  t=%5.0fs  RSS %6.1f MiB  fds %d", history[row].seconds, history[row].rss, history[row].fds))
        }
        if tailRSS > headRSS * 1.2 + 16 { failures.append("RSS grew after warm-up") }
        if last.fds > first.fds + 8 { failures.append("open files grew after warm-up") }
    }
}
for text in counters.firstErrors.withLock({ $0 }) { print("  first errors: \(text)") }
if failures.isEmpty {
    print("ok")
} else {
    print("FAILED: " + failures.joined(separator: "; "))
    exit(1)
}
