import Foundation
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
    /// The writer numbering its batches, with this batch's number: a batch whose (writer,
    /// sequence) the run has stored before is not stored again. Empty: no such check.
    public var writerID: String
    public var sequence: UInt64

    public init(runID: String, keys: [String], keyIndex: [UInt32], values: [Double], steps: [Int64], timestampsMs: [Int64], receivedAtMs: Int64, writerID: String = "", sequence: UInt64 = 0) {
        self.writerID = writerID
        self.sequence = sequence
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
    /// The batch had been stored before (same writer and sequence); nothing was stored now.
    public var duplicate = false

    package init(runID: String, keys: [String], keyIndex: [UInt32], values: [Double], steps: [Int64], timestampsMs: [Int64], duplicate: Bool = false) {
        self.runID = runID
        self.keys = keys
        self.keyIndex = keyIndex
        self.values = values
        self.steps = steps
        self.timestampsMs = timestampsMs
        self.duplicate = duplicate
    }
}

/// One point of a series' history.
public struct MetricPointRecord: Sendable, Hashable {
    public var step: Int64
    public var value: Double
    public var timestampMs: Int64

    package init(step: Int64, value: Double, timestampMs: Int64) {
        self.step = step
        self.value = value
        self.timestampMs = timestampMs
    }
}

/// A series' points in a step range, possibly downsampled.
public struct MetricHistoryRecord: Sendable {
    public var key: String
    public var points: [MetricPointRecord]
    /// Points in the range before downsampling.
    public var totalPoints: Int64
    public var downsampled: Bool

    package init(key: String, points: [MetricPointRecord], totalPoints: Int64, downsampled: Bool) {
        self.key = key
        self.points = points
        self.totalPoints = totalPoints
        self.downsampled = downsampled
    }
}

// Storage of points: per-series chunks.
//
// A series' points are stored in the order they were logged, in chunks of at most
// `metricChunkCapacity` points: a row of `metric_chunks` (step range, point count, lowest and
// highest point) and a row of `metric_chunk_data` (the points packed as three little-endian
// columns: steps as Int64, values as Float64 with NaN kept as NaN, times in ms as Int64). A batch
// first fills the series' last chunk, then adds new ones, so inserts stay sequential and a
// 10,000-point batch costs a few dozen rows instead of 10,000. Queries stay exact: they read the
// chunks whose step range meets theirs and filter the points; downsampling reads only the
// summaries of chunks that fall inside one bucket and the points of the others.

extension Store {
    /// Most points in one chunk.
    static let metricChunkCapacity = MetricChunk.capacity

    /// Commits batches of several runs in one transaction (group commit).
    ///
    /// A batch whose run is missing or has ended fails alone; the others commit. A batch for a
    /// crashed run makes it running again (its writer is back). A batch with a writer id whose
    /// (writer, sequence) the run has stored before is answered as a duplicate, storing nothing.
    /// - Returns: For each batch, the committed points or the error that rejected it.
    public func commitMetrics(_ batches: [MetricPointBatch]) async throws -> [Result<CommittedPoints, StoreError>] {
        try await pool.write { db in
            var seriesCache: [String: [String: SeriesState]] = [:]
            var results: [Result<CommittedPoints, StoreError>] = []
            results.reserveCapacity(batches.count)
            for batch in batches {
                results.append(try Self.commitBatch(db, batch, seriesCache: &seriesCache))
            }
            return results
        }
    }

    /// Commits one batch inside a transaction; `seriesCache` carries series states between the
    /// batches of one transaction. A batch refused before anything was written is a `.failure`.
    static func commitBatch(
        _ db: Database,
        _ batch: MetricPointBatch,
        seriesCache: inout [String: [String: SeriesState]]
    ) throws -> Result<CommittedPoints, StoreError> {
        guard let run = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, status FROM runs WHERE id = ?"), arguments: [batch.runID]) else {
            return .failure(StoreError(code: .notFound, message: "run \(batch.runID) not found", field: "run_id"))
        }
        let runPK: Int64 = run["pk"]
        if !batch.writerID.isEmpty {
            let seen = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM run_batches WHERE run_pk = ? AND writer_id = ? AND sequence = ?"),
                arguments: [runPK, batch.writerID, Int64(bitPattern: batch.sequence)]
            ) ?? false
            if seen {
                return .success(CommittedPoints(runID: batch.runID, keys: [], keyIndex: [], values: [], steps: [], timestampsMs: [], duplicate: true))
            }
        }
        switch RunState(rawValue: run["status"]) {
        case .running:
            break
        case .crashed:
            try db.cachedStatement(sql: "UPDATE runs SET status = ? WHERE pk = ?").execute(arguments: [RunState.running.rawValue, runPK])
        default:
            return .failure(StoreError(code: .failedPrecondition, message: "run \(batch.runID) has ended; metrics can only be logged to a running run", field: "run_id"))
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
        let resolved: ResolvedMetricBatch
        switch batch.resolve(series: &series) {
        case .success(let value): resolved = value
        case .failure(let error): return .failure(error)
        }
        let columns = resolved.columns
        for k in series.indices where columns[k].count > 0 {
            try Self.appendPoints(db, series: &series[k], columns[k])
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
        if !batch.writerID.isEmpty {
            try db.cachedStatement(sql: "INSERT INTO run_batches (run_pk, writer_id, sequence) VALUES (?, ?, ?)").execute(
                arguments: [runPK, batch.writerID, Int64(bitPattern: batch.sequence)]
            )
        }
        return .success(resolved.committed(batch))
    }

    /// Appends a series' new points: first into its last chunk while it has room, then in new chunks.
    static func appendPoints(_ db: Database, series: inout SeriesState, _ points: PointColumns) throws {
        let split = MetricChunk.split(tailCount: series.tailChunk?.count, points: points.count)
        if let tail = series.tailChunk, split.intoTail > 0 {
            var columns = try chunkPoints(db, pk: tail.pk, count: tail.count)
            columns.append(contentsOf: points, range: 0..<split.intoTail)
            let summary = ChunkSummary(columns)
            try db.cachedStatement(sql: """
                UPDATE metric_chunks SET count = ?, step_low = ?, step_high = ?, min_value = ?, min_step = ?, min_time = ?,
                    max_value = ?, max_step = ?, max_time = ? WHERE pk = ?
                """).execute(arguments: summaryArguments(summary) + [tail.pk])
            try db.cachedStatement(sql: "UPDATE metric_chunk_data SET data = ? WHERE chunk_pk = ?")
                .execute(arguments: [columns.packed(), tail.pk])
            series.tailChunk = (tail.pk, columns.count)
        }
        for range in split.newChunks {
            let columns = range.count == points.count ? points : points.slice(range)
            let pk = try insertChunk(db, seriesPK: series.pk, columns)
            series.tailChunk = (pk, columns.count)
        }
    }

    /// Adds a chunk of a series; returns its pk.
    static func insertChunk(_ db: Database, seriesPK: Int64, _ columns: PointColumns) throws -> Int64 {
        let summary = ChunkSummary(columns)
        try db.cachedStatement(sql: """
            INSERT INTO metric_chunks (series_pk, count, step_low, step_high, min_value, min_step, min_time, max_value, max_step, max_time)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [seriesPK] + summaryArguments(summary))
        let pk = db.lastInsertedRowID
        try db.cachedStatement(sql: "INSERT INTO metric_chunk_data (chunk_pk, data) VALUES (?, ?)")
            .execute(arguments: [pk, columns.packed()])
        return pk
    }

    private static func summaryArguments(_ summary: ChunkSummary) -> StatementArguments {
        [
            summary.count, summary.stepLow, summary.stepHigh,
            summary.minPoint?.value, summary.minPoint?.step, summary.minPoint?.timestampMs,
            summary.maxPoint?.value, summary.maxPoint?.step, summary.maxPoint?.timestampMs,
        ]
    }

    /// The points of a chunk, in the order they were logged.
    static func chunkPoints(_ db: Database, pk: Int64, count: Int) throws -> PointColumns {
        guard let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT data FROM metric_chunk_data WHERE chunk_pk = ?"), arguments: [pk]) else {
            throw StoreError(code: .dataLoss, message: "metric chunk \(pk) has no data")
        }
        return try PointColumns(packed: data, count: count)
    }

    /// The aggregates of one series while a batch is applied.
    typealias SeriesState = MetricSeriesState
}

extension MetricSeriesState {
    func save(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            UPDATE metric_series SET count = ?, finite_count = ?, min = ?, max = ?, sum = ?, last_value = ?,
                last_step = ?, last_timestamp_ms = ?, first_step = ? WHERE pk = ?
            """)
        try statement.execute(arguments: [
            count, finiteCount, min, max, sum, storedLastValue,
            lastStep, lastTimestampMs, firstStep, pk,
        ])
    }
}

extension Store {
    static func loadSeries(_ db: Database, runPK: Int64, key: String) throws -> SeriesState {
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM metric_series WHERE run_pk = ? AND key = ?"), arguments: [runPK, key]) {
            var state = SeriesState(
                pk: row["pk"], key: key, count: row["count"], finiteCount: row["finite_count"],
                min: row["min"], max: row["max"], sum: (row["sum"] as Double?) ?? .nan, lastValue: row["last_value"],
                lastStep: row["last_step"], lastTimestampMs: row["last_timestamp_ms"], firstStep: row["first_step"]
            )
            if let tail = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, count FROM metric_chunks WHERE series_pk = ? ORDER BY pk DESC LIMIT 1"), arguments: [state.pk]) {
                state.tailChunk = (tail["pk"], tail["count"])
            }
            return state
        }
        try db.cachedStatement(sql: "INSERT INTO metric_series (run_pk, key) VALUES (?, ?)").execute(arguments: [runPK, key])
        return SeriesState(
            pk: db.lastInsertedRowID, key: key, count: 0, finiteCount: 0, min: nil, max: nil, sum: 0,
            lastValue: nil, lastStep: -1, lastTimestampMs: 0, firstStep: 0
        )
    }

    /// The history of a run's series in a step range, downsampled by min/max buckets when it
    /// holds more than `maxPoints` points (each bucket keeps its lowest and highest point).
    ///
    /// Holds every point of the answer at once: for tests and small reads. The daemon reads
    /// through ``metricHistoryPlans(runID:keys:minStep:maxStep:maxPoints:)`` and
    /// ``metricHistoryPage(_:page:)``, whose memory does not grow with the series.
    /// - Parameters:
    ///   - runID: The run.
    ///   - keys: Keys to return; empty for every key of the run.
    ///   - minStep: First step, inclusive.
    ///   - maxStep: Last step, inclusive; `nil` for no bound.
    ///   - maxPoints: About how many points per key at most; 0 for all.
    /// - Throws: ``StoreError`` `notFound` for a missing run or key.
    public func metricHistory(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryRecord] {
        try await metricHistoryReadingPlans(runID: runID, keys: keys, minStep: minStep, maxStep: maxStep, maxPoints: maxPoints)
    }

    /// Plans the reading of a run's series in a step range: the total per key, the downsampled
    /// points when a series holds more than `maxPoints` in the range (their number is bounded by
    /// `maxPoints`), and otherwise the pages in which to read its points.
    ///
    /// Reads chunk summaries and at most one chunk's points at a time.
    /// - Throws: ``StoreError`` `notFound` for a missing run or key.
    public func metricHistoryPlans(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryPlan] {
        try await pool.read { db in
            let runPK = try Self.runPK(db, id: runID)
            var series: [(pk: Int64, key: String)] = []
            if keys.isEmpty {
                for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT pk, key FROM metric_series WHERE run_pk = ? ORDER BY key"), arguments: [runPK]) {
                    series.append((row["pk"], row["key"]))
                }
            } else {
                for key in keys {
                    guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM metric_series WHERE run_pk = ? AND key = ?"), arguments: [runPK, key]) else {
                        throw StoreError(code: .notFound, message: "run \(runID) has no metric \"\(key)\"", field: key)
                    }
                    series.append((pk, key))
                }
            }
            let range = minStep...(maxStep ?? Int64.max)
            return try series.map { entry in
                try Self.seriesChunks(db, seriesPK: entry.pk, range: range).plan(runID: runID, key: entry.key, maxPoints: maxPoints) { chunk in
                    try Self.chunkPoints(db, pk: chunk.pk, count: chunk.summary.count)
                }
            }
        }
    }

    /// The chunks of a series whose step range meets `range`, in pk order.
    static func seriesChunks(_ db: Database, seriesPK: Int64, range: ClosedRange<Int64>) throws -> MetricSeriesChunks {
        var chunks: [MetricSeriesChunks.Chunk] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT pk, count, step_low, step_high, min_value, min_step, min_time, max_value, max_step, max_time
            FROM metric_chunks WHERE series_pk = ? AND step_high >= ? AND step_low <= ? ORDER BY pk
            """), arguments: [seriesPK, range.lowerBound, range.upperBound])
        while let row = try rows.next() {
            let minPoint: MetricPointRecord? = (row[4] as Double?).map { MetricPointRecord(step: row[5], value: $0, timestampMs: row[6]) }
            let maxPoint: MetricPointRecord? = (row[7] as Double?).map { MetricPointRecord(step: row[8], value: $0, timestampMs: row[9]) }
            let summary = ChunkSummary(count: row[1], stepLow: row[2], stepHigh: row[3], minPoint: minPoint, maxPoint: maxPoint)
            chunks.append(MetricSeriesChunks.Chunk(pk: row[0], summary: summary, range: range))
        }
        return MetricSeriesChunks(range: range, chunks: chunks)
    }

    /// About how many points one page of a history holds: pages are whole groups of chunks whose
    /// step ranges overlap, so a page passes this only when one such group does.
    static let historyPagePoints = MetricHistoryPlan.pagePoints

    /// The points of one page of a planned history, ordered by step, then in the order logged.
    /// Points logged after the plan was made are left out.
    /// - Throws: ``StoreError`` `notFound` when the run was deleted since.
    public func metricHistoryPage(_ plan: MetricHistoryPlan, page: Int) async throws -> [MetricPointRecord] {
        precondition(plan.pages.indices.contains(page), "page \(page) of \(plan.pages.count)")
        let chunks = plan.pages[page]
        return try await pool.read { db in
            var columns: [PointColumns] = []
            for chunk in chunks {
                guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT c.count, d.data FROM metric_chunks c JOIN metric_chunk_data d ON d.chunk_pk = c.pk WHERE c.pk = ?
                    """), arguments: [chunk.pk]) else {
                    throw plan.changedError
                }
                columns.append(try PointColumns(packed: row[1], count: row[0]))
            }
            return plan.pagePoints(page, columns: columns)
        }
    }
}
