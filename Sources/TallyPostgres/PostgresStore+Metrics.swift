package import Logging
package import PostgresNIO
package import TallyStore

// Metric points in PostgreSQL: the chunks of SQLite (``MetricChunk``, ``PointColumns``), byte for
// byte, in `metric_chunks` (summary columns and `data` in one row). A commit costs a fixed number
// of statements whatever its size: the runs, the series (locked, with their last chunk), then one
// statement that updates the last chunks, inserts the new chunks and updates the series, each as
// `unnest` of arrays.

extension PostgresStore {
    /// Commits batches of several runs in one transaction, as ``Store/commitMetrics(_:)``: a
    /// batch whose run is missing or has ended fails alone; a batch for a crashed run makes it
    /// running again; a batch whose (writer, sequence) the run has stored is a duplicate.
    ///
    /// Several daemons may append to one series: its row is locked (`FOR UPDATE`) for the
    /// transaction, and the run's row shared (`FOR SHARE`) so that it cannot end meanwhile.
    /// A deadlock or a batch delivered twice at once through two daemons (a conflict on
    /// `run_batches`) rolls the transaction back, and it is tried again.
    package func commitMetrics(_ batches: [MetricPointBatch]) async throws -> [Result<CommittedPoints, StoreError>] {
        guard !batches.isEmpty else { return [] }
        return try await Self.retryingConflicts {
            try await self.transaction { connection in
                try await Self.commitMetricBatches(connection, batches, logger: self.logger)
            }
        }
    }

    /// Runs `body` again (up to 5 times) when PostgreSQL rolls it back for a deadlock, a
    /// serialization failure or a unique violation (two transactions adding the same row).
    static func retryingConflicts<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as PSQLError where attempt < 4 {
                let state = error.serverInfo?[.sqlState] ?? ""
                guard state == "40P01" || state == "40001" || state == "23505" else { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << attempt))))
            }
        }
    }

    /// Commits `batches` inside the caller's transaction on `connection`, each batch with its own
    /// outcome (as SQLite's `commitBatch`). For other writes that carry metric batches.
    package static func commitMetricBatches(
        _ connection: PostgresConnection, _ batches: [MetricPointBatch], logger: Logger
    ) async throws -> [Result<CommittedPoints, StoreError>] {
        var results = [Result<CommittedPoints, StoreError>?](repeating: nil, count: batches.count)

        // The runs, shared-locked so that they cannot end or go while the batches commit.
        var runs: [String: (pk: Int64, status: Int64)] = [:]
        let runIDs = Array(Set(batches.map(\.runID)))
        for try await (id, pk, status) in try await connection.query(
            "SELECT id, pk, status FROM runs WHERE id = ANY(\(runIDs)) ORDER BY pk FOR SHARE", logger: logger
        ).decode((String, Int64, Int64).self) {
            runs[id] = (pk, status)
        }

        // (writer, sequence) pairs stored before.
        struct BatchKey: Hashable { var run: Int64, writer: String, sequence: Int64 }
        var seen = Set<BatchKey>()
        let writerKeys = batches.compactMap { batch -> BatchKey? in
            guard !batch.writerID.isEmpty, let run = runs[batch.runID] else { return nil }
            return BatchKey(run: run.pk, writer: batch.writerID, sequence: Int64(bitPattern: batch.sequence))
        }
        if !writerKeys.isEmpty {
            let rows = try await connection.query("""
                SELECT b.run_pk, b.writer_id, b.sequence FROM run_batches b
                JOIN unnest(\(writerKeys.map(\.run))::int8[], \(writerKeys.map(\.writer))::text[], \(writerKeys.map(\.sequence))::int8[]) AS u(r, w, s)
                    ON b.run_pk = u.r AND b.writer_id = u.w AND b.sequence = u.s
                """, logger: logger)
            for try await (run, writer, sequence) in rows.decode((Int64, String, Int64).self) {
                seen.insert(BatchKey(run: run, writer: writer, sequence: sequence))
            }
        }

        // Which batches go on, in order: SQLite checks the run, then the (writer, sequence),
        // then the run's state.
        var live: [(index: Int, runPK: Int64)] = []
        var claimed: [Int: BatchKey] = [:]
        var revive = Set<Int64>()
        for (index, batch) in batches.enumerated() {
            guard let run = runs[batch.runID] else {
                results[index] = .failure(StoreError(code: .notFound, message: "run \(batch.runID) not found", field: "run_id"))
                continue
            }
            if !batch.writerID.isEmpty {
                let key = BatchKey(run: run.pk, writer: batch.writerID, sequence: Int64(bitPattern: batch.sequence))
                if seen.contains(key) {
                    results[index] = .success(CommittedPoints(runID: batch.runID, keys: [], keyIndex: [], values: [], steps: [], timestampsMs: [], duplicate: true))
                    continue
                }
                if run.status == Int64(RunState.running.rawValue) || run.status == Int64(RunState.crashed.rawValue) {
                    seen.insert(key)
                    claimed[index] = key
                }
            }
            switch RunState(rawValue: Int(run.status)) {
            case .running:
                break
            case .crashed:
                revive.insert(run.pk)
            default:
                results[index] = .failure(StoreError(code: .failedPrecondition, message: "run \(batch.runID) has ended; metrics can only be logged to a running run", field: "run_id"))
                continue
            }
            live.append((index, run.pk))
        }
        if !revive.isEmpty {
            try await connection.query(
                "UPDATE runs SET status = \(Int64(RunState.running.rawValue)) WHERE pk = ANY(\(Array(revive))) AND status = \(Int64(RunState.crashed.rawValue))",
                logger: logger
            )
        }

        // The series of the live batches, created when new, locked, with their last chunk.
        var pairs = Set<SeriesKey>()
        for (index, runPK) in live {
            for key in batches[index].keys { pairs.insert(SeriesKey(run: runPK, key: key)) }
        }
        var series = try await lockSeries(connection, pairs, logger: logger)
        let missing = pairs.filter { series[$0] == nil }
        if !missing.isEmpty {
            let sorted = Array(missing)
            try await connection.query("""
                INSERT INTO metric_series (run_pk, key)
                SELECT r, k FROM unnest(\(sorted.map(\.run))::int8[], \(sorted.map(\.key))::text[]) AS u(r, k) ORDER BY r, k
                ON CONFLICT (run_pk, key) DO NOTHING
                """, logger: logger)
            series.merge(try await lockSeries(connection, missing, logger: logger)) { old, _ in old }
        }

        // The points, batch after batch, as SQLite applies them.
        var pending: [Int64: PointColumns] = [:]
        for (index, runPK) in live {
            let batch = batches[index]
            var states: [MetricSeriesState] = []
            states.reserveCapacity(batch.keys.count)
            for key in batch.keys {
                guard let state = series[SeriesKey(run: runPK, key: key)]?.state else {
                    throw StoreError(code: .dataLoss, message: "metric series \"\(key)\" of run \(batch.runID) vanished while it was locked")
                }
                states.append(state)
            }
            switch batch.resolve(series: &states) {
            case .failure(let error):
                results[index] = .failure(error)
                claimed[index] = nil
            case .success(let resolved):
                for (k, state) in states.enumerated() {
                    let pair = SeriesKey(run: runPK, key: batch.keys[k])
                    series[pair]?.state = state
                    let columns = resolved.columns[k]
                    if columns.count > 0 {
                        pending[state.pk, default: PointColumns()].append(contentsOf: columns, range: 0..<columns.count)
                    }
                }
                results[index] = .success(resolved.committed(batch))
            }
        }

        try await writePoints(connection, series: Array(series.values), pending: pending, logger: logger)

        let claims = claimed.sorted { $0.key < $1.key }.map(\.value)
        if !claims.isEmpty {
            try await connection.query("""
                INSERT INTO run_batches (run_pk, writer_id, sequence)
                SELECT * FROM unnest(\(claims.map(\.run))::int8[], \(claims.map(\.writer))::text[], \(claims.map(\.sequence))::int8[])
                """, logger: logger)
        }
        return results.map { $0! }
    }

    /// A series by its run and key.
    struct SeriesKey: Hashable, Sendable {
        var run: Int64
        var key: String
    }

    /// A locked series: its state and its last chunk's points when it has room.
    struct LockedSeries: Sendable {
        var state: MetricSeriesState
        var tailPoints: PointColumns?
    }

    /// Locks the existing series among `pairs` (in pk order) and reads their state and last chunk.
    ///
    /// Two statements: a row locked after waiting for another transaction is re-read, but what a
    /// statement joins to it is not, so the last chunk is read once the lock is held.
    static func lockSeries(_ connection: PostgresConnection, _ pairs: Set<SeriesKey>, logger: Logger) async throws -> [SeriesKey: LockedSeries] {
        guard !pairs.isEmpty else { return [:] }
        let list = Array(pairs)
        var pks: [Int64] = []
        for try await pk in try await connection.query("""
            SELECT pk FROM metric_series
            WHERE (run_pk, key) IN (SELECT * FROM unnest(\(list.map(\.run))::int8[], \(list.map(\.key))::text[]))
            ORDER BY pk FOR UPDATE
            """, logger: logger).decode(Int64.self) {
            pks.append(pk)
        }
        guard !pks.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT s.pk, s.run_pk, s.key, s.count, s.finite_count, s.min, s.max, s.sum, s.last_value, s.last_step, s.last_timestamp_ms, s.first_step,
                c.pk, c.count, c.data
            FROM metric_series s
            LEFT JOIN LATERAL (
                SELECT pk, count, CASE WHEN count < \(Int64(MetricChunk.capacity)) THEN data END AS data
                FROM metric_chunks WHERE series_pk = s.pk ORDER BY pk DESC LIMIT 1
            ) c ON true
            WHERE s.pk = ANY(\(pks))
            """, logger: logger)
        var series: [SeriesKey: LockedSeries] = [:]
        for try await row in rows {
            let (pk, runPK, key, count, finiteCount, min, max, sum, lastValue, lastStep, lastTime, firstStep, tailPK, tailCount, tailData) = try row.decode(
                (Int64, Int64, String, Int64, Int64, Double?, Double?, Double?, Double?, Int64, Int64, Int64, Int64?, Int64?, ByteBuffer?).self
            )
            var state = MetricSeriesState(
                pk: pk, key: key, count: count, finiteCount: finiteCount, min: min, max: max, sum: sum ?? .nan,
                lastValue: lastValue, lastStep: lastStep, lastTimestampMs: lastTime, firstStep: firstStep
            )
            var tailPoints: PointColumns?
            if let tailPK, let tailCount {
                state.tailChunk = (tailPK, Int(tailCount))
                if let tailData {
                    tailPoints = try tailData.withUnsafeReadableBytes { try PointColumns(packed: $0, count: Int(tailCount)) }
                }
            }
            series[SeriesKey(run: runPK, key: key)] = LockedSeries(state: state, tailPoints: tailPoints)
        }
        return series
    }

    /// Chunk rows as arrays, one element per chunk, for `unnest`.
    struct ChunkArrays {
        var pk: [Int64] = []
        var count: [Int64] = []
        var stepLow: [Int64] = []
        var stepHigh: [Int64] = []
        /// NaN: NULL (no finite value), with the step and time then NULL too.
        var minValue: [Double] = []
        var minStep: [Int64] = []
        var minTime: [Int64] = []
        var maxValue: [Double] = []
        var maxStep: [Int64] = []
        var maxTime: [Int64] = []
        var data: [ByteBuffer] = []

        mutating func append(_ key: Int64, _ columns: PointColumns) {
            let summary = ChunkSummary(columns)
            pk.append(key)
            count.append(Int64(summary.count))
            stepLow.append(summary.stepLow)
            stepHigh.append(summary.stepHigh)
            minValue.append(summary.minPoint?.value ?? .nan)
            minStep.append(summary.minPoint?.step ?? 0)
            minTime.append(summary.minPoint?.timestampMs ?? 0)
            maxValue.append(summary.maxPoint?.value ?? .nan)
            maxStep.append(summary.maxPoint?.step ?? 0)
            maxTime.append(summary.maxPoint?.timestampMs ?? 0)
            let size = columns.packedSize
            var buffer = ByteBufferAllocator().buffer(capacity: size)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                columns.pack(into: raw)
                return size
            }
            data.append(buffer)
        }
    }

    /// Writes the pending points of each series (filling its last chunk, then new chunks, as
    /// SQLite does) and the series' new aggregates, in one statement.
    static func writePoints(_ connection: PostgresConnection, series: [LockedSeries], pending: [Int64: PointColumns], logger: Logger) async throws {
        var tails = ChunkArrays()
        var inserts = ChunkArrays()
        var updated: [MetricSeriesState] = []
        // In series order, so that chunks are inserted (and numbered) the same way each time.
        for entry in series.sorted(by: { $0.state.pk < $1.state.pk }) {
            if entry.state.dirty { updated.append(entry.state) }
            guard let points = pending[entry.state.pk], points.count > 0 else { continue }
            let split = MetricChunk.split(tailCount: entry.state.tailChunk?.count, points: points.count)
            if let tail = entry.state.tailChunk, split.intoTail > 0 {
                guard var columns = entry.tailPoints else {
                    throw StoreError(code: .dataLoss, message: "metric chunk \(tail.pk) has no data")
                }
                columns.append(contentsOf: points, range: 0..<split.intoTail)
                tails.append(tail.pk, columns)
            }
            for range in split.newChunks {
                inserts.append(entry.state.pk, range.count == points.count ? points : points.slice(range))
            }
        }
        guard !updated.isEmpty || !tails.pk.isEmpty || !inserts.pk.isEmpty else { return }
        try await connection.query("""
            WITH tails AS (
                UPDATE metric_chunks c SET count = u.count, step_low = u.step_low, step_high = u.step_high,
                    min_value = NULLIF(u.min_value, 'NaN'), min_step = CASE WHEN u.min_value = 'NaN' THEN NULL ELSE u.min_step END,
                    min_time = CASE WHEN u.min_value = 'NaN' THEN NULL ELSE u.min_time END,
                    max_value = NULLIF(u.max_value, 'NaN'), max_step = CASE WHEN u.max_value = 'NaN' THEN NULL ELSE u.max_step END,
                    max_time = CASE WHEN u.max_value = 'NaN' THEN NULL ELSE u.max_time END,
                    data = u.data
                FROM unnest(\(tails.pk)::int8[], \(tails.count)::int8[], \(tails.stepLow)::int8[], \(tails.stepHigh)::int8[],
                    \(tails.minValue)::float8[], \(tails.minStep)::int8[], \(tails.minTime)::int8[],
                    \(tails.maxValue)::float8[], \(tails.maxStep)::int8[], \(tails.maxTime)::int8[], \(tails.data)::bytea[])
                    AS u(pk, count, step_low, step_high, min_value, min_step, min_time, max_value, max_step, max_time, data)
                WHERE c.pk = u.pk
                RETURNING 1
            ), inserted AS (
                INSERT INTO metric_chunks (series_pk, count, step_low, step_high, min_value, min_step, min_time, max_value, max_step, max_time, data)
                SELECT u.series_pk, u.count, u.step_low, u.step_high,
                    NULLIF(u.min_value, 'NaN'), CASE WHEN u.min_value = 'NaN' THEN NULL ELSE u.min_step END,
                    CASE WHEN u.min_value = 'NaN' THEN NULL ELSE u.min_time END,
                    NULLIF(u.max_value, 'NaN'), CASE WHEN u.max_value = 'NaN' THEN NULL ELSE u.max_step END,
                    CASE WHEN u.max_value = 'NaN' THEN NULL ELSE u.max_time END,
                    u.data
                FROM unnest(\(inserts.pk)::int8[], \(inserts.count)::int8[], \(inserts.stepLow)::int8[], \(inserts.stepHigh)::int8[],
                    \(inserts.minValue)::float8[], \(inserts.minStep)::int8[], \(inserts.minTime)::int8[],
                    \(inserts.maxValue)::float8[], \(inserts.maxStep)::int8[], \(inserts.maxTime)::int8[], \(inserts.data)::bytea[])
                    WITH ORDINALITY AS u(series_pk, count, step_low, step_high, min_value, min_step, min_time, max_value, max_step, max_time, data, position)
                ORDER BY u.position
                RETURNING 1
            ), series AS (
                UPDATE metric_series s SET count = u.count, finite_count = u.finite_count, min = NULLIF(u.min, 'NaN'), max = NULLIF(u.max, 'NaN'),
                    sum = NULLIF(u.sum, 'NaN'), last_value = NULLIF(u.last_value, 'NaN'), last_step = u.last_step,
                    last_timestamp_ms = u.last_timestamp_ms, first_step = u.first_step
                FROM unnest(\(updated.map(\.pk))::int8[], \(updated.map(\.count))::int8[], \(updated.map(\.finiteCount))::int8[],
                    \(updated.map { $0.min ?? .nan })::float8[], \(updated.map { $0.max ?? .nan })::float8[], \(updated.map(\.sum))::float8[],
                    \(updated.map { $0.lastValue ?? .nan })::float8[], \(updated.map(\.lastStep))::int8[], \(updated.map(\.lastTimestampMs))::int8[],
                    \(updated.map(\.firstStep))::int8[])
                    AS u(pk, count, finite_count, min, max, sum, last_value, last_step, last_timestamp_ms, first_step)
                WHERE s.pk = u.pk
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM tails), (SELECT count(*) FROM inserted), (SELECT count(*) FROM series)
            """, logger: logger)
    }

    // MARK: - History

    package func metricHistory(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryRecord] {
        try await metricHistoryReadingPlans(runID: runID, keys: keys, minStep: minStep, maxStep: maxStep, maxPoints: maxPoints)
    }

    /// Plans the reading of a run's series in a step range, as ``Store``'s: chunk summaries, the
    /// points of the chunks partly in the range, and for downsampling the points of the chunks
    /// that span several buckets, read a few hundred chunks at a time.
    package func metricHistoryPlans(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryPlan] {
        try await read { connection in
            let runPK = try await Self.runPK(connection, id: runID, logger: self.logger)
            var series: [(pk: Int64, key: String)] = []
            if keys.isEmpty {
                for try await (pk, key) in try await connection.query(
                    "SELECT pk, key FROM metric_series WHERE run_pk = \(runPK) ORDER BY key", logger: self.logger
                ).decode((Int64, String).self) {
                    series.append((pk, key))
                }
            } else {
                var found: [String: Int64] = [:]
                for try await (pk, key) in try await connection.query(
                    "SELECT pk, key FROM metric_series WHERE run_pk = \(runPK) AND key = ANY(\(keys))", logger: self.logger
                ).decode((Int64, String).self) {
                    found[key] = pk
                }
                for key in keys {
                    guard let pk = found[key] else {
                        throw StoreError(code: .notFound, message: "run \(runID) has no metric \"\(key)\"", field: key)
                    }
                    series.append((pk, key))
                }
            }
            let range = minStep...(maxStep ?? Int64.max)
            var plans: [MetricHistoryPlan] = []
            for entry in series {
                plans.append(try await Self.plan(connection, runID: runID, key: entry.key, seriesPK: entry.pk, range: range, maxPoints: maxPoints, logger: self.logger))
            }
            return plans
        }
    }

    static func plan(
        _ connection: PostgresConnection, runID: String, key: String, seriesPK: Int64, range: ClosedRange<Int64>, maxPoints: Int, logger: Logger
    ) async throws -> MetricHistoryPlan {
        var list: [MetricSeriesChunks.Chunk] = []
        let rows = try await connection.query("""
            SELECT pk, count, step_low, step_high, min_value, min_step, min_time, max_value, max_step, max_time
            FROM metric_chunks WHERE series_pk = \(seriesPK) AND step_high >= \(range.lowerBound) AND step_low <= \(range.upperBound) ORDER BY pk
            """, logger: logger)
        for try await (pk, count, low, high, minValue, minStep, minTime, maxValue, maxStep, maxTime) in rows.decode(
            (Int64, Int64, Int64, Int64, Double?, Int64?, Int64?, Double?, Int64?, Int64?).self
        ) {
            let minPoint = minValue.map { MetricPointRecord(step: minStep ?? 0, value: $0, timestampMs: minTime ?? 0) }
            let maxPoint = maxValue.map { MetricPointRecord(step: maxStep ?? 0, value: $0, timestampMs: maxTime ?? 0) }
            let summary = ChunkSummary(count: Int(count), stepLow: low, stepHigh: high, minPoint: minPoint, maxPoint: maxPoint)
            list.append(MetricSeriesChunks.Chunk(pk: pk, summary: summary, range: range))
        }
        let chunks = MetricSeriesChunks(range: range, chunks: list)
        // Partial chunks are few (the ends of the range, unless steps were logged out of order).
        let partial = try await chunkPoints(connection, chunks.partialChunks, logger: logger)
        func points(_ chunk: MetricSeriesChunks.Chunk) throws -> PointColumns {
            guard let columns = partial[chunk.pk] else {
                throw StoreError(code: .notFound, message: "the history of run \(runID) changed while it was read (deleted?)", field: key)
            }
            return columns
        }
        let total = try chunks.total(points: points)
        if maxPoints <= 0 || total <= Int64(maxPoints) {
            return MetricHistoryPlan(
                runID: runID, key: key, range: range, totalPoints: total, downsampledPoints: nil,
                pages: chunks.pages(pointsPerPage: MetricHistoryPlan.pagePoints)
            )
        }
        var downsampled: [MetricPointRecord] = []
        if let bounds = try chunks.stepBounds(points: points) {
            var downsampler = MetricDownsampler(range: range, low: bounds.low, high: bounds.high, maxPoints: maxPoints)
            var toRead: [MetricSeriesChunks.Chunk] = []
            for chunk in chunks.chunks {
                if downsampler.takesSummary(of: chunk) {
                    downsampler.add(summaryOf: chunk)
                } else if let columns = partial[chunk.pk] {
                    downsampler.add(chunk, points: columns)
                } else {
                    toRead.append(chunk)
                }
            }
            // The order chunks are added in does not change the result.
            for start in stride(from: 0, to: toRead.count, by: 256) {
                let group = Array(toRead[start..<min(start + 256, toRead.count)])
                let read = try await chunkPoints(connection, group, logger: logger)
                for chunk in group {
                    guard let columns = read[chunk.pk] else {
                        throw StoreError(code: .notFound, message: "the history of run \(runID) changed while it was read (deleted?)", field: key)
                    }
                    downsampler.add(chunk, points: columns)
                }
            }
            downsampled = downsampler.points()
        }
        return MetricHistoryPlan(runID: runID, key: key, range: range, totalPoints: total, downsampledPoints: downsampled, pages: [])
    }

    /// The points of `chunks` by pk, each cut to the count of its summary (a chunk only grows:
    /// points appended since it was listed are left out); chunks gone are missing.
    static func chunkPoints(_ connection: PostgresConnection, _ chunks: [MetricSeriesChunks.Chunk], logger: Logger) async throws -> [Int64: PointColumns] {
        guard !chunks.isEmpty else { return [:] }
        let read = try await chunkData(connection, pks: chunks.map(\.pk), logger: logger)
        var points: [Int64: PointColumns] = [:]
        for chunk in chunks {
            guard let columns = read[chunk.pk] else { continue }
            points[chunk.pk] = columns.count > chunk.summary.count ? columns.slice(0..<chunk.summary.count) : columns
        }
        return points
    }

    /// The current points of chunks by pk.
    static func chunkData(_ connection: PostgresConnection, pks: [Int64], logger: Logger) async throws -> [Int64: PointColumns] {
        var points: [Int64: PointColumns] = [:]
        let rows = try await connection.query("SELECT pk, count, data FROM metric_chunks WHERE pk = ANY(\(pks))", logger: logger)
        for try await (pk, count, data) in rows.decode((Int64, Int64, ByteBuffer).self) {
            points[pk] = try data.withUnsafeReadableBytes { try PointColumns(packed: $0, count: Int(count)) }
        }
        return points
    }

    /// The points of one page of a planned history, as ``Store``'s.
    package func metricHistoryPage(_ plan: MetricHistoryPlan, page: Int) async throws -> [MetricPointRecord] {
        precondition(plan.pages.indices.contains(page), "page \(page) of \(plan.pages.count)")
        let chunks = plan.pages[page]
        return try await read { connection in
            let read = try await Self.chunkData(connection, pks: chunks.map(\.pk), logger: self.logger)
            var columns: [PointColumns] = []
            columns.reserveCapacity(chunks.count)
            for chunk in chunks {
                guard let points = read[chunk.pk] else { throw plan.changedError }
                columns.append(points)
            }
            return plan.pagePoints(page, columns: columns)
        }
    }
}
