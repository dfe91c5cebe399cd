import GRDB

/// A validated batch of metric points of one run, ready to commit.
public struct MetricPointBatch: Sendable {
    public var runID: String
    public var keys: [String]
    public var keyIndex: [UInt32]
    public var values: [Double]
    /// Empty, or one step per point.
    public var steps: [Int64]
    /// Empty, or one time per point (0: the receive time).
    public var timestampsMs: [Int64]
    /// The time the daemon received the batch.
    public var receivedAtMs: Int64

    public init(runID: String, keys: [String], keyIndex: [UInt32], values: [Double], steps: [Int64], timestampsMs: [Int64], receivedAtMs: Int64) {
        self.runID = runID
        self.keys = keys
        self.keyIndex = keyIndex
        self.values = values
        self.steps = steps
        self.timestampsMs = timestampsMs
        self.receivedAtMs = receivedAtMs
    }

    public var count: Int { values.count }
}

/// Points as committed, with their resolved steps and times, for watchers.
public struct CommittedPoints: Sendable {
    public var runID: String
    public var keys: [String]
    public var keyIndex: [UInt32]
    public var values: [Double]
    public var steps: [Int64]
    public var timestampsMs: [Int64]
}

/// One point of a series' history.
public struct MetricPointRecord: Sendable, Hashable {
    public var step: Int64
    public var value: Double
    public var timestampMs: Int64
}

/// A series' points in a step range, possibly downsampled.
public struct MetricHistoryRecord: Sendable {
    public var key: String
    public var points: [MetricPointRecord]
    /// Points in the range before downsampling.
    public var totalPoints: Int64
    public var downsampled: Bool
}

extension Store {
    /// Commits batches of several runs in one transaction (group commit).
    ///
    /// A batch whose run is missing or has ended fails alone; the others commit.
    /// - Returns: For each batch, the committed points or the error that rejected it.
    public func commitMetrics(_ batches: [MetricPointBatch]) async throws -> [Result<CommittedPoints, StoreError>] {
        try await pool.write { db in
            var seriesCache: [String: [String: SeriesState]] = [:]
            var results: [Result<CommittedPoints, StoreError>] = []
            results.reserveCapacity(batches.count)
            let insert = try db.cachedStatement(sql: "INSERT INTO metric_points (series_pk, step, value, timestamp_ms) VALUES (?, ?, ?, ?)")
            for batch in batches {
                guard let run = try Row.fetchOne(db, sql: "SELECT pk, status FROM runs WHERE id = ?", arguments: [batch.runID]) else {
                    results.append(.failure(StoreError(code: .notFound, message: "run \(batch.runID) not found", field: "run_id")))
                    continue
                }
                let runPK: Int64 = run["pk"]
                guard (run["status"] as Int) == RunState.running.rawValue else {
                    results.append(.failure(StoreError(code: .failedPrecondition, message: "run \(batch.runID) has ended; metrics can only be logged to a running run", field: "run_id")))
                    continue
                }
                var series: [SeriesState] = []
                series.reserveCapacity(batch.keys.count)
                for key in batch.keys {
                    if let cached = seriesCache[batch.runID]?[key] {
                        series.append(cached)
                    } else {
                        series.append(try Self.loadSeries(db, runPK: runPK, key: key))
                    }
                }
                var steps = batch.steps
                var times = batch.timestampsMs
                if steps.isEmpty { steps = [Int64](repeating: 0, count: batch.count) }
                if times.isEmpty { times = [Int64](repeating: 0, count: batch.count) }
                for i in 0..<batch.count {
                    let k = Int(batch.keyIndex[i])
                    let step = batch.steps.isEmpty ? series[k].lastStep + 1 : steps[i]
                    let time = times[i] == 0 ? batch.receivedAtMs : times[i]
                    steps[i] = step
                    times[i] = time
                    let value = batch.values[i]
                    series[k].add(value: value, step: step, timeMs: time)
                    try insert.execute(arguments: [series[k].pk, step, value.isNaN ? nil : value, time])
                }
                for state in series where state.dirty {
                    try state.save(db)
                }
                var cache = seriesCache[batch.runID] ?? [:]
                for var state in series {
                    state.dirty = false
                    cache[state.key] = state
                }
                seriesCache[batch.runID] = cache
                results.append(.success(CommittedPoints(runID: batch.runID, keys: batch.keys, keyIndex: batch.keyIndex, values: batch.values, steps: steps, timestampsMs: times)))
            }
            return results
        }
    }

    /// The aggregates of one series while a batch is applied.
    struct SeriesState {
        var pk: Int64
        var key: String
        var count: Int64
        var finiteCount: Int64
        var min: Double?
        var max: Double?
        var sum: Double
        var lastValue: Double?
        var lastStep: Int64
        var lastTimestampMs: Int64
        var firstStep: Int64
        var dirty = false

        mutating func add(value: Double, step: Int64, timeMs: Int64) {
            if count == 0 || step < firstStep { firstStep = step }
            count += 1
            if !value.isNaN {
                finiteCount += 1
                min = Swift.min(min ?? value, value)
                max = Swift.max(max ?? value, value)
                sum += value
            }
            if count == 1 || step >= lastStep {
                lastValue = value
                lastStep = step
                lastTimestampMs = timeMs
            }
            dirty = true
        }

        func save(_ db: Database) throws {
            let statement = try db.cachedStatement(sql: """
                UPDATE metric_series SET count = ?, finite_count = ?, min = ?, max = ?, sum = ?, last_value = ?,
                    last_step = ?, last_timestamp_ms = ?, first_step = ? WHERE pk = ?
                """)
            try statement.execute(arguments: [
                count, finiteCount, min, max, sum, lastValue.flatMap { $0.isNaN ? nil : $0 },
                lastStep, lastTimestampMs, firstStep, pk,
            ])
        }
    }

    static func loadSeries(_ db: Database, runPK: Int64, key: String) throws -> SeriesState {
        if let row = try Row.fetchOne(db, sql: "SELECT * FROM metric_series WHERE run_pk = ? AND key = ?", arguments: [runPK, key]) {
            return SeriesState(
                pk: row["pk"], key: key, count: row["count"], finiteCount: row["finite_count"],
                min: row["min"], max: row["max"], sum: row["sum"], lastValue: row["last_value"],
                lastStep: row["last_step"], lastTimestampMs: row["last_timestamp_ms"], firstStep: row["first_step"]
            )
        }
        try db.execute(sql: "INSERT INTO metric_series (run_pk, key) VALUES (?, ?)", arguments: [runPK, key])
        return SeriesState(
            pk: db.lastInsertedRowID, key: key, count: 0, finiteCount: 0, min: nil, max: nil, sum: 0,
            lastValue: nil, lastStep: -1, lastTimestampMs: 0, firstStep: 0
        )
    }

    /// The history of a run's series in a step range, downsampled by min/max buckets when it
    /// holds more than `maxPoints` points (each bucket keeps its lowest and highest point).
    /// - Parameters:
    ///   - runID: The run.
    ///   - keys: Keys to return; empty for every key of the run.
    ///   - minStep: First step, inclusive.
    ///   - maxStep: Last step, inclusive; `nil` for no bound.
    ///   - maxPoints: About how many points per key at most; 0 for all.
    /// - Throws: ``StoreError`` `notFound` for a missing run or key.
    public func metricHistory(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryRecord] {
        try await pool.read { db in
            let runPK = try Self.runPK(db, id: runID)
            var series: [(pk: Int64, key: String)] = []
            if keys.isEmpty {
                for row in try Row.fetchAll(db, sql: "SELECT pk, key FROM metric_series WHERE run_pk = ? ORDER BY key", arguments: [runPK]) {
                    series.append((row["pk"], row["key"]))
                }
            } else {
                for key in keys {
                    guard let pk = try Int64.fetchOne(db, sql: "SELECT pk FROM metric_series WHERE run_pk = ? AND key = ?", arguments: [runPK, key]) else {
                        throw StoreError(code: .notFound, message: "run \(runID) has no metric \"\(key)\"", field: key)
                    }
                    series.append((pk, key))
                }
            }
            let upper = maxStep ?? Int64.max
            return try series.map { entry in
                let total = try Int64.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM metric_points WHERE series_pk = ? AND step BETWEEN ? AND ?",
                    arguments: [entry.pk, minStep, upper]
                ) ?? 0
                if maxPoints <= 0 || total <= Int64(maxPoints) {
                    let points = try Self.points(db, sql: """
                        SELECT step, value, timestamp_ms FROM metric_points
                        WHERE series_pk = ? AND step BETWEEN ? AND ? ORDER BY step, rowid
                        """, arguments: [entry.pk, minStep, upper])
                    return MetricHistoryRecord(key: entry.key, points: points, totalPoints: total, downsampled: false)
                }
                return MetricHistoryRecord(
                    key: entry.key,
                    points: try Self.downsample(db, seriesPK: entry.pk, minStep: minStep, maxStep: upper, maxPoints: maxPoints),
                    totalPoints: total,
                    downsampled: true
                )
            }
        }
    }

    static func points(_ db: Database, sql: String, arguments: StatementArguments) throws -> [MetricPointRecord] {
        var points: [MetricPointRecord] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            points.append(MetricPointRecord(step: row[0], value: (row[1] as Double?) ?? .nan, timestampMs: row[2]))
        }
        return points
    }

    /// Min/max buckets over equal step ranges: SQLite returns the row holding a group's MIN or
    /// MAX for the bare columns, so each bucket's extreme points come back with their steps.
    static func downsample(_ db: Database, seriesPK: Int64, minStep: Int64, maxStep: Int64, maxPoints: Int) throws -> [MetricPointRecord] {
        guard let bounds = try Row.fetchOne(db, sql: "SELECT MIN(step), MAX(step) FROM metric_points WHERE series_pk = ? AND step BETWEEN ? AND ?", arguments: [seriesPK, minStep, maxStep]),
              let low = bounds[0] as Int64?, let high = bounds[1] as Int64? else { return [] }
        let buckets = Swift.max(1, maxPoints / 2)
        let width = Double(high - low + 1) / Double(buckets)
        var result: [Int64: [MetricPointRecord]] = [:]
        for aggregate in ["MIN", "MAX"] {
            let rows = try Row.fetchCursor(db, sql: """
                SELECT CAST((step - ?) / ? AS INTEGER) AS bucket, \(aggregate)(value), step, timestamp_ms
                FROM metric_points WHERE series_pk = ? AND step BETWEEN ? AND ? AND value IS NOT NULL
                GROUP BY bucket
                """, arguments: [low, width, seriesPK, low, high])
            while let row = try rows.next() {
                let point = MetricPointRecord(step: row[2], value: row[1], timestampMs: row[3])
                result[row[0], default: []].append(point)
            }
        }
        var points: [MetricPointRecord] = []
        for bucket in result.keys.sorted() {
            let pair = result[bucket]!.sorted { $0.step < $1.step }
            points.append(pair[0])
            if pair.count > 1, pair[1] != pair[0] { points.append(pair[1]) }
        }
        return points
    }
}
