import Foundation
import Logging
import NIOCore
import PostgresNIO
import TallyAPI
import TallyClient
import TallyPostgres
import TallyProto
import TallyRPC
import TallyStore

/// The PostgreSQL engine's figures (docs/performance.md, "PostgreSQL"), on the server of
/// `--postgres URL` (its password from TALLY_PG_PASSWORD or ~/.pgpass), each in a database of
/// its own created for the run and dropped after it:
/// - metric ingest from 4 clients over the Unix socket into a daemon on PostgreSQL, next to the
///   same load on a daemon on SQLite and to a raw COPY of the same rows (4 connections, one COPY
///   per batch of 10,000, the daemon's commit granularity);
/// - search over 10,000 runs, and the history of a 1,000,000-point series downsampled to 1,000.
func benchPostgres(report: Report, binary: String, directory: String, url text: String, quick: Bool) async throws {
    let server = try PostgresURL(text)
    let password = PostgresPassword.resolve(for: server)
    let shape = IngestShape(batches: quick ? 50 : 100)
    let logger = Logger(label: "tally-bench", factory: { _ in SwiftLogNoOpLogHandler() })
    let admin = PostgresStore(url: server, password: password, maximumConnections: 1, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await admin.run() }
        defer { group.cancelAll() }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let databases = ["bench_raw_\(suffix)", "bench_ingest_\(suffix)", "bench_search_\(suffix)", "bench_shared_\(suffix)"]
        for name in databases { try await admin.executeUnsafe("CREATE DATABASE \(name)") }
        do {
            var rawURL = server
            rawURL.database = databases[0]
            log("postgres: raw COPY of \(shape.points * 4) rows from 4 connections")
            let raw = try await rawCopy(url: rawURL, password: password, shape: shape, logger: logger)

            var ingestURL = server
            ingestURL.database = databases[1]
            let postgresDaemon = try DaemonProcess(binary: binary, directory: directory, name: "pg", extraArguments: ["--store", ingestURL.description, "--http", "off"])
            defer { postgresDaemon.terminate() }
            let sqliteDaemon = try DaemonProcess(binary: binary, directory: directory, name: "pg-sqlite", extraArguments: ["--http", "off"])
            defer { sqliteDaemon.terminate() }
            log("postgres: 4 clients into the daemon on SQLite, then on PostgreSQL, then on SQLite again")
            let sqliteBefore = try await fourClients(sqliteDaemon, shape: shape, label: "before")
            let postgres = try await fourClients(postgresDaemon, shape: shape, label: "pg")
            let sqliteAfter = try await fourClients(sqliteDaemon, shape: shape, label: "after")
            let sqlite = (sqliteBefore + sqliteAfter) / 2
            report.add(Figure(
                name: "PostgreSQL: metric ingest, 4 clients over the socket (total), ack after commit",
                value: grouped(postgres) + " points/s", baseline: grouped(raw) + " points/s raw COPY (4 connections)",
                ratio: ratio(postgres / raw), target: ">= 1,000,000 points/s", met: postgres >= 1_000_000))
            report.add(Figure(
                name: "The same 4-client ingest on SQLite (mean of runs before and after)",
                value: grouped(sqlite) + " points/s", baseline: grouped(postgres) + " points/s on PostgreSQL",
                ratio: ratio(sqlite / postgres), target: "—", met: nil))

            // History: one series of 1,000,000 points, downsampled to 1,000.
            let series = IngestShape(keys: 1, batchPoints: 10_000, batches: 100)
            log("postgres: a series of \(series.points) points on each engine, then its history downsampled to 1,000")
            let (history, returned) = try await historyTiming(postgresDaemon, shape: series, quick: quick)
            let (sqliteHistory, _) = try await historyTiming(sqliteDaemon, shape: series, quick: quick)
            report.add(Figure(
                name: "PostgreSQL: history of a 1,000,000-point series downsampled to 1,000 (\(returned) returned), median",
                value: millis(history), baseline: millis(sqliteHistory) + " the same on SQLite",
                ratio: ratio(history / sqliteHistory), target: "< 50 ms", met: history < 0.050))

            // Search over 10,000 runs.
            var searchURL = server
            searchURL.database = databases[2]
            log("postgres: building 10,000 runs for search")
            let (value, base, matched) = try await postgresSearch(binary: binary, directory: directory, url: searchURL, password: password, logger: logger, quick: quick)
            report.add(Figure(
                name: "PostgreSQL: search 10,000 runs (param filter + metric aggregate, order by metric), first page of \(matched)",
                value: millis(value), baseline: millis(base) + " same search in process on the store",
                ratio: ratio(value / base), target: "< 100 ms", met: value < 0.100))

            // Watching across daemons: two daemons on one database.
            var sharedURL = server
            sharedURL.database = databases[3]
            log("postgres: a run written through one daemon, watched through it and through a second daemon")
            let (remote, local, remote95) = try await watchLatency(binary: binary, directory: directory, url: sharedURL, quick: quick)
            report.add(Figure(
                name: "PostgreSQL, two daemons: a point sent to one daemon, seen by a watcher of the other, median (p95 \(millis(remote95)))",
                value: millis(remote), baseline: millis(local) + " a watcher of the writing daemon",
                ratio: ratio(remote / max(local, 1e-6)), target: "< 200 ms", met: remote < 0.200))
        } catch {
            for name in databases { try? await admin.executeUnsafe("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
            throw error
        }
        for name in databases { try await admin.executeUnsafe("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }
}

/// Logs one point at a time (every 10 ms) through daemon A while a watcher of A and a watcher
/// of daemon B, on the same database, follow the run: the median delay from each point's sending
/// to its arrival at each watcher (A's: the commit and the push; B's: also the announcement, the
/// notification and the read back from the store), and B's 95th percentile.
private func watchLatency(binary: String, directory: String, url: PostgresURL, quick: Bool) async throws -> (remote: Double, local: Double, remote95: Double) {
    let a = try DaemonProcess(binary: binary, directory: directory, name: "pg-shared-a", extraArguments: ["--store", url.description, "--http", "off"])
    defer { a.terminate() }
    let writer = try await a.waitUntilReady()
    let b = try DaemonProcess(binary: binary, directory: directory, name: "pg-shared-b", extraArguments: ["--store", url.description, "--http", "off"])
    defer { b.terminate() }
    let remoteClient = try await b.waitUntilReady()
    let localClient = try await TallyClient.connect(socketPath: a.socketPath, clientName: "tally-bench-watch")
    defer {
        Task {
            await writer.close()
            await remoteClient.close()
            await localClient.close()
        }
    }
    let run = try await startRun(writer, experiment: "shared", name: "watched")
    let count = quick ? 100 : 300
    let acknowledged = AckTimes()
    func watch(_ client: TallyClient) async throws -> (task: Task<[Double], any Error>, ready: AsyncStream<Void>) {
        var request = WatchRunRequest()
        request.runId = run.id
        let events = try await client.tracking.watchRun(request, options: CallOptions(timeout: .seconds(120)))
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            var delays: [Double] = []
            for try await event in events {
                if case .snapshot? = event.event { readyContinuation.yield() }
                guard case .points(let points)? = event.event else { continue }
                let arrived = now()
                for step in points.steps {
                    if let sent = await acknowledged.time(of: step) { delays.append(arrived - sent) }
                }
                if points.steps.last == Int64(count - 1) { break }
            }
            return delays
        }
        return (task, ready)
    }
    let (remoteTask, remoteReady) = try await watch(remoteClient)
    let (localTask, localReady) = try await watch(localClient)
    for ready in [remoteReady, localReady] {
        var iterator = ready.makeAsyncIterator()
        _ = await iterator.next()
    }
    for step in 0..<count {
        var batch = MetricBatch()
        batch.runId = run.id
        batch.keys = ["loss"]
        batch.keyIndex = [0]
        batch.steps = [Int64(step)]
        batch.values = [Double(step)]
        await acknowledged.record(step: Int64(step), at: now())
        _ = try await writer.tracking.logMetrics(batch)
        try await Task.sleep(for: .milliseconds(10))
    }
    let remote = try await remoteTask.value.sorted()
    let local = try await localTask.value.sorted()
    guard remote.count == count, local.count == count else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "the watchers saw \(remote.count) and \(local.count) of \(count) points"])
    }
    return (median(remote), median(local), remote[min(remote.count - 1, remote.count * 95 / 100)])
}

/// When each step was sent, in the bench's clock.
private actor AckTimes {
    private var times: [Int64: Double] = [:]
    func record(step: Int64, at time: Double) { times[step] = time }
    func time(of step: Int64) -> Double? { times[step] }
}

/// A warm-up run, then four clients at once (``ingestFourClients``).
private func fourClients(_ daemon: DaemonProcess, shape: IngestShape, label: String) async throws -> Double {
    let first = try await daemon.waitUntilReady()
    let warm = try await startRun(first, experiment: "ingest", name: "warmup \(label)")
    _ = try await ingestThroughDaemon(client: first, runID: warm.id, shape: IngestShape(batches: 5))
    await first.close()
    return try await ingestFourClients(daemon, shape: shape, label: label)
}

/// The median time of the downsampled history of one `shape` series logged into `daemon`, and
/// the points it returned.
private func historyTiming(_ daemon: DaemonProcess, shape: IngestShape, quick: Bool) async throws -> (Double, Int) {
    let client = try await daemon.waitUntilReady()
    defer { Task { await client.close() } }
    let run = try await startRun(client, experiment: "history", name: "one series")
    _ = try await ingestThroughDaemon(client: client, runID: run.id, shape: shape)
    var request = GetMetricHistoryRequest()
    request.runId = run.id
    request.keys = ["m0"]
    request.maxPoints = 1_000
    var timings: [Double] = []
    var returned = 0
    for _ in 0..<(quick ? 5 : 11) {
        let start = now()
        var points = 0
        for try await chunk in try await client.tracking.getMetricHistory(request) { points += chunk.steps.count }
        timings.append(now() - start)
        returned = points
    }
    return (median(timings), returned)
}

/// The same rows as the daemon stores, COPYed as text into a plain table with the same index,
/// from 4 connections at once, one COPY (one commit) per batch.
private func rawCopy(url: PostgresURL, password: String?, shape: IngestShape, logger: Logger) async throws -> Double {
    let store = PostgresStore(url: url, password: password, maximumConnections: 4, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await store.run() }
        defer { group.cancelAll() }
        try await store.executeUnsafe("CREATE TABLE metric_points (series_pk bigint NOT NULL, step bigint NOT NULL, value double precision, timestamp_ms bigint NOT NULL)")
        try await store.executeUnsafe("CREATE INDEX metric_points_series_step ON metric_points(series_pk, step)")
        // Rows are rendered before the clock starts, as the daemon receives batches ready-made.
        let timestamp = Int64(wallMs())
        let payloads: [[String]] = (0..<4).map { client in
            (0..<shape.batches).map { index in
                let batch = shape.batch(runID: "raw", index: index)
                var text = ""
                text.reserveCapacity(batch.values.count * 40)
                for i in 0..<batch.values.count {
                    text += "\(client * 10 + Int(batch.keyIndex[i]) + 1)\t\(batch.steps[i])\t\(batch.values[i])\t\(timestamp)\n"
                }
                return text
            }
        }
        let start = now()
        try await withThrowingTaskGroup(of: Void.self) { copies in
            for client in 0..<4 {
                let batches = payloads[client]
                copies.addTask {
                    try await store.client.withConnection { connection in
                        for text in batches {
                            try await connection.copyFrom(table: "metric_points", columns: ["series_pk", "step", "value", "timestamp_ms"], logger: logger) { writer in
                                try await writer.write(ByteBuffer(string: text))
                            }
                        }
                    }
                }
            }
            try await copies.waitForAll()
        }
        return Double(shape.points * 4) / (now() - start)
    }
}

/// 10,000 runs with 20 params and 10 metric series each, written through the store's own API in
/// process, then the benchmark's search through a daemon on that database and in process.
private func postgresSearch(binary: String, directory: String, url: PostgresURL, password: String?, logger: Logger, quick: Bool) async throws -> (Double, Double, Int) {
    let filter = "params.p3 < 0.5 and metrics.m2.max > 0.75"
    let order = ["metrics.m1 desc"]
    let store = PostgresStore(url: url, password: password, maximumConnections: 8, logger: logger)
    let inProcess: [Double] = try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await store.run() }
        defer { group.cancelAll() }
        try await store.migrate()
        let experiment = try await store.createExperiment(NewExperiment(name: "e"))
        var generator = SplitMix(seed: 42)
        var plans: [(params: [String: ParamValueRecord], series: [(String, Double, Double, Double)])] = []
        for _ in 1...10_000 {
            var params: [String: ParamValueRecord] = [:]
            for index in 0..<20 {
                params["p\(index)"] = index % 4 == 0 ? .string("value\(generator.next() % 10)") : .double(generator.unit())
            }
            var series: [(String, Double, Double, Double)] = []
            for index in 0..<10 {
                let low = generator.unit() * 0.5
                let high = 0.5 + generator.unit() * 0.5
                series.append(("m\(index)", low, high, low + (high - low) * generator.unit()))
            }
            plans.append((params, series))
        }
        let planned = plans
        // Eight writers at once, as several training processes would.
        try await withThrowingTaskGroup(of: Void.self) { writers in
            for part in 0..<8 {
                writers.addTask {
                    for number in stride(from: part, to: planned.count, by: 8) {
                        let plan = planned[number]
                        let run = try await store.startRun(NewRun(experimentID: experiment.id, name: "run \(number)", params: plan.params))
                        var keyIndex: [UInt32] = []
                        var values: [Double] = []
                        var steps: [Int64] = []
                        for (index, (_, low, high, last)) in plan.series.enumerated() {
                            keyIndex += [UInt32(index), UInt32(index), UInt32(index)]
                            values += [low, high, last]
                            steps += [0, 1, 2]
                        }
                        let batch = MetricPointBatch(
                            runID: run.id, keys: plan.series.map(\.0), keyIndex: keyIndex, values: values, steps: steps,
                            timestampsMs: [], receivedAtMs: Identifiers.nowMs())
                        for result in try await store.commitMetrics([batch]) { _ = try result.get() }
                        _ = try await store.endRun(id: run.id, state: .completed, error: "")
                    }
                }
            }
            try await writers.waitForAll()
        }
        var timings: [Double] = []
        for _ in 0..<(quick ? 3 : 7) {
            let start = now()
            _ = try await store.searchRuns(experimentIDs: [], filter: filter, orderBy: order, pageSize: 50, pageToken: "")
            timings.append(now() - start)
        }
        return timings
    }
    let daemon = try DaemonProcess(binary: binary, directory: directory, name: "pg-search", extraArguments: ["--store", url.description, "--http", "off"])
    defer { daemon.terminate() }
    let (value, matched) = try await searchTiming(daemon, filter: filter, order: order, quick: quick)
    return (value, median(inProcess), matched)
}
