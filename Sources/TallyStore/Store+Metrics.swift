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

/// Points of one series, column by column, in the order they were logged.
struct PointColumns {
    var steps: [Int64] = []
    var values: [Double] = []
    var times: [Int64] = []

    var count: Int { steps.count }

    init() {}

    init(capacity: Int) {
        steps.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
        times.reserveCapacity(capacity)
    }

    /// Unpacks a chunk's data: `count` steps, then `count` values, then `count` times.
    init(packed data: Data, count: Int) throws {
        guard data.count == count * 24 else {
            throw StoreError(code: .dataLoss, message: "a metric chunk holds \(data.count) bytes for \(count) points")
        }
        func column<T>(_ index: Int, as type: T.Type) -> [T] {
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                data.withUnsafeBytes { raw in
                    let source = UnsafeRawBufferPointer(rebasing: raw[(index * count * 8)..<((index + 1) * count * 8)])
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
                }
                initialized = count
            }
        }
        steps = column(0, as: Int64.self).map { Int64(littleEndian: $0) }
        values = column(1, as: UInt64.self).map { Double(bitPattern: UInt64(littleEndian: $0)) }
        times = column(2, as: Int64.self).map { Int64(littleEndian: $0) }
    }

    /// The packed form stored in `metric_chunk_data.data`.
    func packed() -> Data {
        var data = Data(count: count * 24)
        data.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in 0..<count {
                words[i] = UInt64(bitPattern: steps[i]).littleEndian
                words[count + i] = values[i].bitPattern.littleEndian
                words[2 * count + i] = UInt64(bitPattern: times[i]).littleEndian
            }
        }
        return data
    }

    mutating func append(step: Int64, value: Double, time: Int64) {
        steps.append(step)
        values.append(value)
        times.append(time)
    }

    mutating func append(contentsOf other: PointColumns, range: Range<Int>) {
        steps.append(contentsOf: other.steps[range])
        values.append(contentsOf: other.values[range])
        times.append(contentsOf: other.times[range])
    }

    func slice(_ range: Range<Int>) -> PointColumns {
        var slice = PointColumns()
        slice.append(contentsOf: self, range: range)
        return slice
    }

    func point(_ i: Int) -> MetricPointRecord {
        MetricPointRecord(step: steps[i], value: values[i], timestampMs: times[i])
    }
}

/// What a chunk row says about its points without reading them.
struct ChunkSummary {
    var count: Int
    var stepLow: Int64
    var stepHigh: Int64
    /// The lowest non-NaN value (ties: the lowest step, then the first logged); `nil` when
    /// every value is NaN.
    var minPoint: MetricPointRecord?
    /// The highest non-NaN value, ties broken the same way.
    var maxPoint: MetricPointRecord?

    init(count: Int, stepLow: Int64, stepHigh: Int64, minPoint: MetricPointRecord?, maxPoint: MetricPointRecord?) {
        self.count = count
        self.stepLow = stepLow
        self.stepHigh = stepHigh
        self.minPoint = minPoint
        self.maxPoint = maxPoint
    }

    init(_ points: PointColumns) {
        count = points.count
        stepLow = points.steps.min() ?? 0
        stepHigh = points.steps.max() ?? 0
        var low: Int?
        var high: Int?
        for i in 0..<points.count {
            let value = points.values[i]
            if value.isNaN { continue }
            let step = points.steps[i]
            if let l = low {
                let best = points.values[l]
                if value < best || (value == best && step < points.steps[l]) { low = i }
            } else {
                low = i
            }
            if let h = high {
                let best = points.values[h]
                if value > best || (value == best && step < points.steps[h]) { high = i }
            } else {
                high = i
            }
        }
        minPoint = low.map(points.point)
        maxPoint = high.map(points.point)
    }
}

extension Store {
    /// Most points in one chunk.
    static let metricChunkCapacity = 256

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
        let count = batch.count
        var steps = batch.steps
        var times = batch.timestampsMs
        if steps.isEmpty { steps = [Int64](repeating: 0, count: count) }
        if times.isEmpty { times = [Int64](repeating: 0, count: count) }
        var columns = [PointColumns](repeating: PointColumns(), count: series.count)
        if series.count == 1 {
            columns[0] = PointColumns(capacity: count)
        }
        let automaticSteps = batch.steps.isEmpty
        let receivedAt = batch.receivedAtMs
        // The key whose automatic step would pass Int64.max; the batch is refused whole.
        var overflowingKey: String?
        batch.keyIndex.withUnsafeBufferPointer { keyIndex in
            batch.values.withUnsafeBufferPointer { values in
                for i in 0..<count {
                    let k = Int(keyIndex[i])
                    let step: Int64
                    if automaticSteps {
                        let (next, overflow) = series[k].lastStep.addingReportingOverflow(1)
                        if overflow {
                            overflowingKey = series[k].key
                            return
                        }
                        step = next
                    } else {
                        step = steps[i]
                    }
                    let time = times[i] == 0 ? receivedAt : times[i]
                    steps[i] = step
                    times[i] = time
                    let value = values[i]
                    series[k].add(value: value, step: step, timeMs: time)
                    columns[k].append(step: step, value: value, time: time)
                }
            }
        }
        if let key = overflowingKey {
            return .failure(StoreError(
                code: .invalidArgument,
                message: "metric \"\(key)\" is at step \(Int64.max), the highest step there is; an automatic step would pass it (send explicit steps)",
                field: "steps"
            ))
        }
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
        return .success(CommittedPoints(runID: batch.runID, keys: batch.keys, keyIndex: batch.keyIndex, values: batch.values, steps: steps, timestampsMs: times))
    }

    /// Appends a series' new points: first into its last chunk while it has room, then in new chunks.
    static func appendPoints(_ db: Database, series: inout SeriesState, _ points: PointColumns) throws {
        var offset = 0
        if let tail = series.tailChunk, tail.count < metricChunkCapacity {
            var columns = try chunkPoints(db, pk: tail.pk, count: tail.count)
            let take = min(metricChunkCapacity - columns.count, points.count)
            columns.append(contentsOf: points, range: 0..<take)
            let summary = ChunkSummary(columns)
            try db.cachedStatement(sql: """
                UPDATE metric_chunks SET count = ?, step_low = ?, step_high = ?, min_value = ?, min_step = ?, min_time = ?,
                    max_value = ?, max_step = ?, max_time = ? WHERE pk = ?
                """).execute(arguments: summaryArguments(summary) + [tail.pk])
            try db.cachedStatement(sql: "UPDATE metric_chunk_data SET data = ? WHERE chunk_pk = ?")
                .execute(arguments: [columns.packed(), tail.pk])
            series.tailChunk = (tail.pk, columns.count)
            offset = take
        }
        while offset < points.count {
            let end = min(offset + metricChunkCapacity, points.count)
            let columns = offset == 0 && end == points.count ? points : points.slice(offset..<end)
            let pk = try insertChunk(db, seriesPK: series.pk, columns)
            series.tailChunk = (pk, columns.count)
            offset = end
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
        /// The series' last chunk and its point count, if it has one.
        var tailChunk: (pk: Int64, count: Int)?
        var dirty = false

        @inline(__always)
        mutating func add(value: Double, step: Int64, timeMs: Int64) {
            if count == 0 || step < firstStep { firstStep = step }
            count += 1
            if !value.isNaN {
                finiteCount += 1
                if let low = min { if value < low { min = value } } else { min = value }
                if let high = max { if value > high { max = value } } else { max = value }
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
        var records: [MetricHistoryRecord] = []
        for plan in try await metricHistoryPlans(runID: runID, keys: keys, minStep: minStep, maxStep: maxStep, maxPoints: maxPoints) {
            var points = plan.downsampledPoints ?? []
            for page in 0..<plan.pageCount {
                points += try await metricHistoryPage(plan, page: page)
            }
            records.append(MetricHistoryRecord(key: plan.key, points: points, totalPoints: plan.totalPoints, downsampled: plan.downsampledPoints != nil))
        }
        return records
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
                let reader = try SeriesReader(db, seriesPK: entry.pk, range: range)
                let total = try reader.total()
                if maxPoints <= 0 || total <= Int64(maxPoints) {
                    return MetricHistoryPlan(
                        runID: runID, key: entry.key, range: range, totalPoints: total, downsampledPoints: nil,
                        pages: reader.pages(pointsPerPage: Self.historyPagePoints)
                    )
                }
                return MetricHistoryPlan(
                    runID: runID, key: entry.key, range: range, totalPoints: total,
                    downsampledPoints: try reader.downsample(maxPoints: maxPoints), pages: []
                )
            }
        }
    }

    /// About how many points one page of a history holds: pages are whole groups of chunks whose
    /// step ranges overlap, so a page passes this only when one such group does.
    static let historyPagePoints = 50_000

    /// The points of one page of a planned history, ordered by step, then in the order logged.
    /// Points logged after the plan was made are left out.
    /// - Throws: ``StoreError`` `notFound` when the run was deleted since.
    public func metricHistoryPage(_ plan: MetricHistoryPlan, page: Int) async throws -> [MetricPointRecord] {
        precondition(plan.pages.indices.contains(page), "page \(page) of \(plan.pages.count)")
        let chunks = plan.pages[page]
        return try await pool.read { db in
            // Appended in the order logged wherever steps can tie: points of one chunk in order,
            // and chunks whose step ranges overlap (the only ones that can share a step) by pk.
            var points: [MetricPointRecord] = []
            points.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
            for chunk in chunks {
                guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT c.count, d.data FROM metric_chunks c JOIN metric_chunk_data d ON d.chunk_pk = c.pk WHERE c.pk = ?
                    """), arguments: [chunk.pk]) else {
                    throw StoreError(code: .notFound, message: "the history of run \(plan.runID) changed while it was read (deleted?)", field: plan.key)
                }
                // A chunk only grows: its first `chunk.count` points are the ones planned.
                let columns = try PointColumns(packed: row[1], count: row[0])
                for i in 0..<Swift.min(chunk.count, columns.count) where chunk.inside || plan.range.contains(columns.steps[i]) {
                    points.append(columns.point(i))
                }
            }
            var sorted = true
            for i in points.indices.dropFirst() where points[i].step < points[i - 1].step {
                sorted = false
                break
            }
            if !sorted {
                // Stable: the order appended breaks ties between equal steps.
                points = points.enumerated().sorted { ($0.element.step, $0.offset) < ($1.element.step, $1.offset) }.map(\.element)
            }
            return points
        }
    }
}

/// How one series' history in a step range is read: downsampled points, or pages of chunks.
public struct MetricHistoryPlan: Sendable {
    struct ChunkRef: Sendable {
        var pk: Int64
        /// Points of the chunk when planned.
        var count: Int
        /// Every point of the chunk is in the range.
        var inside: Bool
    }

    public let runID: String
    public let key: String
    let range: ClosedRange<Int64>
    /// Points in the range.
    public let totalPoints: Int64
    /// The min/max-bucket points when the series was downsampled; `nil` when it is read in pages.
    public let downsampledPoints: [MetricPointRecord]?
    /// Chunks per page, pages in step order.
    let pages: [[ChunkRef]]

    /// Pages to read with ``Store/metricHistoryPage(_:page:)``; 0 when downsampled.
    public var pageCount: Int { pages.count }
}

/// Reads one series' points in a step range from its chunks.
final class SeriesReader {
    struct Chunk {
        var pk: Int64
        var summary: ChunkSummary
        /// Every point of the chunk is in the range.
        var inside: Bool
    }

    let db: Database
    let range: ClosedRange<Int64>
    let chunks: [Chunk]

    init(_ db: Database, seriesPK: Int64, range: ClosedRange<Int64>) throws {
        self.db = db
        self.range = range
        var chunks: [Chunk] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT pk, count, step_low, step_high, min_value, min_step, min_time, max_value, max_step, max_time
            FROM metric_chunks WHERE series_pk = ? AND step_high >= ? AND step_low <= ? ORDER BY pk
            """), arguments: [seriesPK, range.lowerBound, range.upperBound])
        while let row = try rows.next() {
            let minPoint: MetricPointRecord? = (row[4] as Double?).map { MetricPointRecord(step: row[5], value: $0, timestampMs: row[6]) }
            let maxPoint: MetricPointRecord? = (row[7] as Double?).map { MetricPointRecord(step: row[8], value: $0, timestampMs: row[9]) }
            let summary = ChunkSummary(count: row[1], stepLow: row[2], stepHigh: row[3], minPoint: minPoint, maxPoint: maxPoint)
            chunks.append(Chunk(pk: row[0], summary: summary, inside: range.contains(summary.stepLow) && range.contains(summary.stepHigh)))
        }
        self.chunks = chunks
    }

    /// A chunk's points, decoded again at each call: nothing is kept, so that reading a series
    /// holds one chunk's points at a time.
    func points(of chunk: Chunk) throws -> PointColumns {
        try Store.chunkPoints(db, pk: chunk.pk, count: chunk.summary.count)
    }

    /// The chunks grouped into pages in step order. Chunks whose step ranges overlap (a series
    /// logged out of step order) must be sorted together, so they share a page; pages gather
    /// such groups, in order, up to about `pointsPerPage` points.
    func pages(pointsPerPage: Int) -> [[MetricHistoryPlan.ChunkRef]] {
        let ordered = chunks.sorted { ($0.summary.stepLow, $0.pk) < ($1.summary.stepLow, $1.pk) }
        var groups: [[Chunk]] = []
        var high = Int64.min
        for chunk in ordered {
            if !groups.isEmpty, chunk.summary.stepLow <= high {
                groups[groups.count - 1].append(chunk)
                high = max(high, chunk.summary.stepHigh)
            } else {
                groups.append([chunk])
                high = chunk.summary.stepHigh
            }
        }
        var pages: [[MetricHistoryPlan.ChunkRef]] = []
        var points = 0
        for group in groups {
            let count = group.reduce(0) { $0 + $1.summary.count }
            if pages.isEmpty || points + count > pointsPerPage {
                pages.append([])
                points = 0
            }
            // Within a page, chunks in the order logged: ties between equal steps keep it.
            pages[pages.count - 1] += group.sorted { $0.pk < $1.pk }.map {
                MetricHistoryPlan.ChunkRef(pk: $0.pk, count: $0.summary.count, inside: $0.inside)
            }
            points += count
        }
        return pages
    }

    /// Points in the range.
    func total() throws -> Int64 {
        var total: Int64 = 0
        for chunk in chunks {
            if chunk.inside {
                total += Int64(chunk.summary.count)
            } else {
                total += Int64(try points(of: chunk).steps.count { range.contains($0) })
            }
        }
        return total
    }

    /// A candidate for a bucket's lowest or highest point; `order` breaks ties between equal
    /// values and steps: the first logged wins.
    private struct Candidate {
        var point: MetricPointRecord
        var order: (Int64, Int)

        func beats(_ other: Candidate, lower: Bool) -> Bool {
            if point.value != other.point.value { return lower ? point.value < other.point.value : point.value > other.point.value }
            if point.step != other.point.step { return point.step < other.point.step }
            return order < other.order
        }
    }

    /// Min/max buckets over equal step ranges between the lowest and highest step in the range
    /// (`maxPoints / 2` buckets); each bucket keeps its lowest and highest non-NaN point.
    /// Chunks that fall inside one bucket contribute their stored extremes without being read.
    func downsample(maxPoints: Int) throws -> [MetricPointRecord] {
        var low = Int64.max
        var high = Int64.min
        for chunk in chunks {
            if chunk.inside {
                low = min(low, chunk.summary.stepLow)
                high = max(high, chunk.summary.stepHigh)
            } else {
                for step in try points(of: chunk).steps where range.contains(step) {
                    low = min(low, step)
                    high = max(high, step)
                }
            }
        }
        guard low <= high else { return [] }
        let buckets = max(1, maxPoints / 2)
        // In Double: `high - low + 1` passes Int64.max for a series that reaches step Int64.max.
        let width = (Double(high) - Double(low) + 1) / Double(buckets)
        // As SQLite's CAST((step - low) / width AS INTEGER) computed it before chunks.
        func bucket(_ step: Int64) -> Int { Swift.min(buckets - 1, Int(Double(step - low) / width)) }
        var lows = [Candidate?](repeating: nil, count: buckets)
        var highs = [Candidate?](repeating: nil, count: buckets)
        func offer(_ candidate: Candidate, to b: Int, lower: Bool) {
            if lower {
                if let current = lows[b], !candidate.beats(current, lower: true) { return }
                lows[b] = candidate
            } else {
                if let current = highs[b], !candidate.beats(current, lower: false) { return }
                highs[b] = candidate
            }
        }
        for chunk in chunks {
            if chunk.inside, bucket(chunk.summary.stepLow) == bucket(chunk.summary.stepHigh) {
                let b = bucket(chunk.summary.stepLow)
                if let point = chunk.summary.minPoint { offer(Candidate(point: point, order: (chunk.pk, -1)), to: b, lower: true) }
                if let point = chunk.summary.maxPoint { offer(Candidate(point: point, order: (chunk.pk, -1)), to: b, lower: false) }
                continue
            }
            let columns = try points(of: chunk)
            for i in 0..<columns.count {
                let step = columns.steps[i]
                let value = columns.values[i]
                guard !value.isNaN, chunk.inside || range.contains(step) else { continue }
                let b = bucket(step)
                let candidate = Candidate(point: columns.point(i), order: (chunk.pk, i))
                offer(candidate, to: b, lower: true)
                offer(candidate, to: b, lower: false)
            }
        }
        var points: [MetricPointRecord] = []
        for b in 0..<buckets {
            guard let lowest = lows[b]?.point, let highest = highs[b]?.point else { continue }
            let pair = highest.step < lowest.step ? [highest, lowest] : [lowest, highest]
            points.append(pair[0])
            if pair[1] != pair[0] { points.append(pair[1]) }
        }
        return points
    }
}
