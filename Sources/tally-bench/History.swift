import Foundation
import GRDB
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC
import TallyStore

/// History of a 1,000,000-point series downsampled to 1,000 points.
func benchHistory(report: Report, daemon: DaemonProcess, ingest: IngestResult, quick: Bool) async throws {
    let client = try await daemon.waitUntilReady()
    defer { Task { await client.close() } }
    let run = try await startRun(client, experiment: "history", name: "one series")
    let shape = IngestShape(keys: 1, batchPoints: 10_000, batches: 100)
    log("history: logging a series of \(shape.points) points")
    _ = try await ingestThroughDaemon(client: client, runID: run.id, shape: shape)

    var request = GetMetricHistoryRequest()
    request.runId = run.id
    request.keys = ["m0"]
    request.maxPoints = 1_000
    var timings: [Double] = []
    var returned = 0
    var total: UInt64 = 0
    for _ in 0..<(quick ? 5 : 11) {
        let start = now()
        var points = 0
        for try await chunk in try await client.tracking.getMetricHistory(request) {
            points += chunk.steps.count
            total = chunk.totalPoints
        }
        timings.append(now() - start)
        returned = points
    }
    guard total == UInt64(shape.points) else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "history reports \(total) points, expected \(shape.points)"])
    }
    let value = median(timings)
    let raw = try rawSQLiteScan(path: ingest.rawDatabasePath, buckets: 500)
    report.add(Figure(
        name: "History of a 1,000,000-point series downsampled to 1,000 (\(returned) returned), median",
        value: millis(value), baseline: millis(raw.seconds) + " raw SQLite scan+bucket of \(grouped(Double(raw.rows))) rows",
        ratio: ratio(value / raw.seconds), target: "< 20 ms", met: value < 0.020))
}

/// Builds a store of 10,000 runs with 20 params and 10 metric series each (as the search timing
/// test does), directly through SQLite, in the home folder of a daemon that is not started yet.
func buildSearchStore(home: String) async throws {
    let store = try Store(path: home + "/tally.sqlite")
    defer { try? store.close() }
    try await store.pool.write { db in
        try db.execute(sql: "INSERT INTO experiments (pk, id, name, created_at_ms, updated_at_ms) VALUES (1, 'e', 'e', 0, 0)")
        let run = try db.makeStatement(sql: "INSERT INTO runs (pk, id, experiment_pk, name, status, started_at_ms, completed_at_ms) VALUES (?, ?, 1, ?, 2, ?, ?)")
        let param = try db.makeStatement(sql: "INSERT INTO params (run_pk, key, type, value) VALUES (?, ?, ?, ?)")
        let series = try db.makeStatement(sql: """
            INSERT INTO metric_series (run_pk, key, count, finite_count, min, max, sum, last_value, last_step, last_timestamp_ms, first_step)
            VALUES (?, ?, 100, 100, ?, ?, ?, ?, 99, 0, 0)
            """)
        var generator = SplitMix(seed: 42)
        for pk in 1...10_000 {
            try run.execute(arguments: [pk, String(format: "r%031d", pk), "run \(pk)", pk * 1000, pk * 1000 + 500])
            for index in 0..<20 {
                if index % 4 == 0 {
                    try param.execute(arguments: [pk, "p\(index)", 1, "value\(generator.next() % 10)"])
                } else {
                    try param.execute(arguments: [pk, "p\(index)", 3, generator.unit()])
                }
            }
            for index in 0..<10 {
                let low = generator.unit() * 0.5
                let high = 0.5 + generator.unit() * 0.5
                try series.execute(arguments: [pk, "m\(index)", low, high, (low + high) * 50, low + (high - low) * generator.unit()])
            }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Search over 10,000 runs by a param filter and a metric aggregate, ordered by a metric, first page.
func benchSearch(report: Report, binary: String, directory: String, quick: Bool) async throws {
    log("search: building a store of 10,000 runs")
    let home = directory + "/search-home"
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    try await buildSearchStore(home: home)
    let filter = "params.p3 < 0.5 and metrics.m2.max > 0.75"
    let order = ["metrics.m1 desc"]

    // Baseline: the same search in process, straight on the store (no socket, no protobuf).
    var inProcess: [Double] = []
    do {
        let store = try Store(path: home + "/tally.sqlite")
        for _ in 0..<(quick ? 3 : 7) {
            let start = now()
            _ = try await store.searchRuns(experimentIDs: [], filter: filter, orderBy: order, pageSize: 50, pageToken: "")
            inProcess.append(now() - start)
        }
        try store.close()
    }

    let daemon = try DaemonProcess(binary: binary, directory: directory, name: "search")
    defer { daemon.terminate() }
    let (value, matched) = try await searchTiming(daemon, filter: filter, order: order, quick: quick)
    let base = median(inProcess)
    report.add(Figure(
        name: "Search 10,000 runs (param filter + metric aggregate, order by metric), first page of \(matched)",
        value: millis(value), baseline: millis(base) + " same search in process on the store",
        ratio: ratio(value / base), target: "< 50 ms", met: value < 0.050))
}

/// The median time of the first page (50) of a search through `daemon`, and its size.
func searchTiming(_ daemon: DaemonProcess, filter: String, order: [String], quick: Bool) async throws -> (Double, Int) {
    let client = try await daemon.waitUntilReady()
    defer { Task { await client.close() } }
    var request = SearchRunsRequest()
    request.filter = filter
    request.orderBy = order
    request.pageSize = 50
    var timings: [Double] = []
    var matched = 0
    for _ in 0..<(quick ? 5 : 11) {
        let start = now()
        let page = try await client.tracking.searchRuns(request)
        timings.append(now() - start)
        matched = page.runs.count
    }
    return (median(timings), matched)
}
