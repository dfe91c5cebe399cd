import Foundation
import GRDBSQLite
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// The metric rows every ingest figure writes: batches of 10,000 points over `keys` series,
/// with explicit steps.
struct IngestShape {
    var keys: Int = 5
    var batchPoints: Int = 10_000
    var batches: Int = 100
    var points: Int { batchPoints * batches }
    var stepsPerBatch: Int { batchPoints / keys }

    func batch(runID: String, index: Int) -> MetricBatch {
        var batch = MetricBatch()
        batch.runId = runID
        batch.keys = (0..<keys).map { "m\($0)" }
        batch.sequence = UInt64(index + 1)
        var keyIndex = [UInt32]()
        var values = [Double]()
        var steps = [Int64]()
        keyIndex.reserveCapacity(batchPoints)
        values.reserveCapacity(batchPoints)
        steps.reserveCapacity(batchPoints)
        let firstStep = index * stepsPerBatch
        for s in 0..<stepsPerBatch {
            let step = Int64(firstStep + s)
            for k in 0..<keys {
                keyIndex.append(UInt32(k))
                steps.append(step)
                values.append(sin(Double(step) * 0.001 + Double(k)) + Double(step % 97) * 0.01)
            }
        }
        batch.keyIndex = keyIndex
        batch.values = values
        batch.steps = steps
        return batch
    }
}

/// Raw SQLite floor: the same rows through the C API, a prepared statement, one transaction per
/// batch, WAL with synchronous=FULL (what the daemon uses), same table and index as the store.
func rawSQLiteInsert(path: String, shape: IngestShape) throws -> Double {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { throw POSIXError(.EIO) }
    defer { sqlite3_close(db) }
    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw NSError(domain: "sqlite", code: 1, userInfo: [NSLocalizedDescriptionKey: String(cString: sqlite3_errmsg(db))])
        }
    }
    try exec("PRAGMA journal_mode = WAL")
    try exec("PRAGMA synchronous = FULL")
    try exec("""
        CREATE TABLE metric_points (series_pk INTEGER NOT NULL, step INTEGER NOT NULL, value REAL, timestamp_ms INTEGER NOT NULL);
        CREATE INDEX metric_points_series_step ON metric_points(series_pk, step);
        """)
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(db, "INSERT INTO metric_points (series_pk, step, value, timestamp_ms) VALUES (?, ?, ?, ?)", -1, &statement, nil) == SQLITE_OK else {
        throw POSIXError(.EIO)
    }
    defer { sqlite3_finalize(statement) }
    // Batches are built before the clock starts, as the daemon receives them ready-made.
    let batches = (0..<shape.batches).map { shape.batch(runID: "raw", index: $0) }
    let timestamp = Int64(wallMs())
    let start = now()
    for batch in batches {
        try exec("BEGIN")
        for i in 0..<batch.values.count {
            sqlite3_bind_int64(statement, 1, Int64(batch.keyIndex[i]) + 1)
            sqlite3_bind_int64(statement, 2, batch.steps[i])
            sqlite3_bind_double(statement, 3, batch.values[i])
            sqlite3_bind_int64(statement, 4, timestamp)
            guard sqlite3_step(statement) == SQLITE_DONE else { throw POSIXError(.EIO) }
            sqlite3_reset(statement)
        }
        try exec("COMMIT")
    }
    return Double(shape.points) / (now() - start)
}

/// Raw SQLite read of every point row of the baseline table (step and value) with min/max
/// buckets computed in Swift: the floor for a downsampled history read of as many points.
func rawSQLiteScan(path: String, buckets: Int) throws -> (seconds: Double, rows: Int) {
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { throw POSIXError(.EIO) }
    defer { sqlite3_close(db) }
    var statement: OpaquePointer?
    sqlite3_prepare_v2(db, "SELECT step, value FROM metric_points", -1, &statement, nil)
    defer { sqlite3_finalize(statement) }
    var best = Double.infinity
    var rows = 0
    for _ in 0..<5 {
        let start = now()
        var steps: [Int64] = []
        var values: [Double] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            steps.append(sqlite3_column_int64(statement, 0))
            values.append(sqlite3_column_double(statement, 1))
        }
        sqlite3_reset(statement)
        rows = steps.count
        if let low = steps.min(), let high = steps.max() {
            let width = Double(high - low + 1) / Double(buckets)
            var mins = [Double](repeating: .infinity, count: buckets + 1)
            var maxs = [Double](repeating: -.infinity, count: buckets + 1)
            for i in 0..<steps.count {
                let b = Int(Double(steps[i] - low) / width)
                mins[b] = min(mins[b], values[i])
                maxs[b] = max(maxs[b], values[i])
            }
            _ = mins.count + maxs.count
        }
        best = min(best, now() - start)
    }
    return (best, rows)
}

/// Sends `shape` through StreamMetrics on one connection and waits for every acknowledgement.
/// - Returns: Points per second from the first send until the last acknowledgement.
func ingestThroughDaemon(client: TallyClient, runID: String, shape: IngestShape) async throws -> Double {
    let batches = (0..<shape.batches).map { shape.batch(runID: runID, index: $0) }
    let call = try await client.tracking.streamMetrics()
    let start = now()
    async let acknowledged: Int = {
        var points = 0
        for try await ack in call.responses { points += Int(ack.accepted) }
        return points
    }()
    for batch in batches { try await call.requests.write(batch) }
    try await call.finish()
    let points = try await acknowledged
    let elapsed = now() - start
    guard points == shape.points else { throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "acknowledged \(points) of \(shape.points) points"]) }
    return Double(points) / elapsed
}

func startRun(_ client: TallyClient, experiment: String, name: String) async throws -> Run {
    var start = StartRunRequest()
    var reference = ExperimentRef()
    reference.ref = .name(experiment)
    start.experiment = reference
    start.createExperiment = true
    start.name = name
    return try await client.tracking.startRun(start)
}

struct IngestResult {
    var oneClient: Double
    var rawSQLite: Double
    var rawDatabasePath: String
}

/// Metric ingest: raw SQLite floor, one client, four clients at once (with the daemon's RSS
/// sampled meanwhile).
func benchIngest(report: Report, daemon: DaemonProcess, directory: String, quick: Bool) async throws -> IngestResult {
    let shape = IngestShape(batches: quick ? 50 : 100)
    let rawPath = directory + "/raw-ingest.sqlite"
    log("ingest: raw SQLite insert of \(shape.points) rows")
    let raw = try rawSQLiteInsert(path: rawPath, shape: shape)

    let client = try await daemon.waitUntilReady()
    defer { Task { await client.close() } }
    // Warm up: a first small run so that the daemon's statements and pages are ready.
    let warm = try await startRun(client, experiment: "ingest", name: "warmup")
    _ = try await ingestThroughDaemon(client: client, runID: warm.id, shape: IngestShape(batches: 5))

    // One client before and after the four, so that drift in the machine's load affects both.
    log("ingest: one client, \(shape.points) points in batches of \(shape.batchPoints)")
    let run = try await startRun(client, experiment: "ingest", name: "one client")
    let oneBefore = try await ingestThroughDaemon(client: client, runID: run.id, shape: shape)

    log("ingest: four clients at once, \(shape.points) points each")
    let sampling = Sampler(daemon: daemon)
    let total = try await ingestFourClients(daemon, shape: shape, label: "four clients", sampling: sampling)
    let peak = sampling.stop()
    log("ingest: one client again")
    let again = try await startRun(client, experiment: "ingest", name: "one client again")
    let oneAfter = try await ingestThroughDaemon(client: client, runID: again.id, shape: shape)
    let one = (oneBefore + oneAfter) / 2
    report.add(Figure(
        name: "Metric ingest, 1 client, batches of 10,000, ack after commit (mean of 2 runs)",
        value: grouped(one) + " points/s", baseline: grouped(raw) + " points/s raw SQLite rows",
        ratio: ratio(one / raw), target: ">= 1,000,000 points/s and >= 0.5x",
        met: one >= 1_000_000 && one / raw >= 0.5))
    report.add(Figure(
        name: "Metric ingest, 4 clients at once (total)",
        value: grouped(total) + " points/s", baseline: grouped(one) + " points/s with 1 client (runs before and after)",
        ratio: ratio(total / one), target: ">= 1x", met: total >= one))
    report.add(Figure(
        name: "Daemon RSS under 4-client ingest (peak VmRSS)",
        value: fmt(peak / 1_048_576) + " MB", baseline: "—", ratio: "—", target: "< 256 MB", met: peak < 256 * 1_048_576))
    return IngestResult(oneClient: one, rawSQLite: raw, rawDatabasePath: rawPath)
}

/// Four clients, each on its own connection and run, sending `shape` at once; `sampling`, when
/// given, runs while they send.
/// - Returns: Points per second in total.
func ingestFourClients(_ daemon: DaemonProcess, shape: IngestShape, label: String, sampling: Sampler? = nil) async throws -> Double {
    var clients: [TallyClient] = []
    var runs: [String] = []
    for index in 0..<4 {
        let c = try await TallyClient.connect(socketPath: daemon.socketPath, clientName: "tally-bench-\(index)")
        clients.append(c)
        runs.append(try await startRun(c, experiment: "ingest", name: "\(label) \(index)").id)
    }
    sampling?.start()
    let start = now()
    try await withThrowingTaskGroup(of: Double.self) { group in
        for index in 0..<4 {
            let c = clients[index]
            let id = runs[index]
            group.addTask { try await ingestThroughDaemon(client: c, runID: id, shape: shape) }
        }
        for try await _ in group {}
    }
    let total = Double(shape.points * 4) / (now() - start)
    for c in clients { await c.close() }
    return total
}

/// Samples the daemon's VmRSS every 20 ms on a thread.
final class Sampler: @unchecked Sendable {
    let daemon: DaemonProcess
    private let lock = NSLock()
    private var running = false
    private var peak = 0.0

    init(daemon: DaemonProcess) { self.daemon = daemon }

    func start() {
        lock.withLock { running = true }
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                let rss = daemon.memory().rss
                lock.withLock { peak = max(peak, rss) }
                usleep(20_000)
            }
        }
    }

    func stop() -> Double {
        let rss = daemon.memory().rss
        return lock.withLock {
            running = false
            peak = max(peak, rss)
            return peak
        }
    }
}
