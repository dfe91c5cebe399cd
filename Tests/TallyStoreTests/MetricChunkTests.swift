import Foundation
import GRDB
import Testing
@testable import TallyStore

/// The point layout of Store+Metrics.swift: per-series chunks, read back exactly.
@Suite("Metric chunks")
struct MetricChunkTests {
    /// A store with one experiment and one running run `r1`.
    static func withRun(_ body: (Store) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let store = try Store(path: dir + "/tally.sqlite")
            try await store.pool.write { db in
                try db.execute(sql: "INSERT INTO experiments (id, name, created_at_ms, updated_at_ms) VALUES ('e1', 'exp', 0, 0)")
                try db.execute(sql: "INSERT INTO runs (id, experiment_pk, status, started_at_ms) VALUES ('r1', 1, 1, 0)")
            }
            try await body(store)
            try store.close()
        }
    }

    static func batch(_ key: String, steps: [Int64]?, values: [Double], times: [Int64] = []) -> MetricPointBatch {
        MetricPointBatch(
            runID: "r1", keys: [key], keyIndex: [UInt32](repeating: 0, count: values.count), values: values,
            steps: steps ?? [], timestampsMs: times, receivedAtMs: 1_000)
    }

    static func chunkCounts(_ store: Store) async throws -> [Int] {
        try await store.pool.read { db in try Int.fetchAll(db, sql: "SELECT count FROM metric_chunks ORDER BY pk") }
    }

    /// Reference: what the history should be, computed from every point as logged.
    struct Reference {
        var points: [MetricPointRecord] = []  // in logged order

        func inRange(_ range: ClosedRange<Int64>) -> [MetricPointRecord] {
            points.enumerated().filter { range.contains($0.element.step) }
                .sorted { ($0.element.step, $0.offset) < ($1.element.step, $1.offset) }.map(\.element)
        }

        /// Min/max buckets as the SQL of the row-per-point layout defined them, with ties going
        /// to the lowest step, then to the first logged.
        func downsampled(_ range: ClosedRange<Int64>, maxPoints: Int) -> [MetricPointRecord] {
            let inRange = self.inRange(range)
            guard let low = inRange.map(\.step).min(), let high = inRange.map(\.step).max() else { return [] }
            let buckets = max(1, maxPoints / 2)
            let width = Double(high - low + 1) / Double(buckets)
            var lows: [Int: MetricPointRecord] = [:]
            var highs: [Int: MetricPointRecord] = [:]
            for point in inRange where !point.value.isNaN {  // step order, then logged order
                let b = Int(Double(point.step - low) / width)
                if let current = lows[b] {
                    if point.value < current.value { lows[b] = point }
                } else { lows[b] = point }
                if let current = highs[b] {
                    if point.value > current.value { highs[b] = point }
                } else { highs[b] = point }
            }
            var result: [MetricPointRecord] = []
            for b in lows.keys.sorted() {
                let pair = [lows[b]!, highs[b]!].sorted { $0.step < $1.step }
                result.append(pair[0])
                if pair[1] != pair[0] { result.append(pair[1]) }
            }
            return result
        }
    }

    static func same(_ a: [MetricPointRecord], _ b: [MetricPointRecord]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.step == y.step && x.timestampMs == y.timestampMs && (x.value == y.value || (x.value.isNaN && y.value.isNaN))
        }
    }

    @Test("small batches fill the series' last chunk before a new one starts")
    func smallBatchesShareChunks() async throws {
        try await Self.withRun { store in
            var reference = Reference()
            for start in stride(from: 0, to: 1_000, by: 7) {
                let steps = (start..<min(start + 7, 1_000)).map(Int64.init)
                let values = steps.map { Double($0) * 0.5 }
                _ = try await store.commitMetrics([Self.batch("loss", steps: steps, values: values)])
                reference.points += zip(steps, values).map { MetricPointRecord(step: $0, value: $1, timestampMs: 1_000) }
            }
            #expect(try await Self.chunkCounts(store) == [256, 256, 256, 232])
            let history = try await store.metricHistory(runID: "r1", keys: ["loss"], minStep: 0, maxStep: nil, maxPoints: 0)
            #expect(Self.same(history[0].points, reference.points))
            #expect(history[0].totalPoints == 1_000)
        }
    }

    @Test("a history longer than a page is read in several pages, in step order, with equal steps in the order logged")
    func historyInPages() async throws {
        try await Self.withRun { store in
            // 120 blocks of 1,023 steps, logged last block first; each block also logs its first
            // step a second time, at its end. A block is 1,024 points, four whole chunks, so
            // blocks do not share chunks; the block's last chunk spans the whole block, so its
            // four chunks overlap and are sorted together, with the repeated step's two points
            // (in different chunks) in the order logged.
            var expected: [MetricPointRecord] = []
            for block in (0..<120).reversed() {
                let steps = (block * 1_023..<(block + 1) * 1_023).map(Int64.init) + [Int64(block * 1_023)]
                let values = steps.indices.map { Double(block * 10_000 + $0) }
                _ = try await store.commitMetrics([Self.batch("m", steps: steps, values: values)])
                var points = zip(steps, values).map { MetricPointRecord(step: $0, value: $1, timestampMs: 1_000) }
                let repeated = points.removeLast()
                points.insert(repeated, at: 1)
                expected = points + expected
            }
            let plans = try await store.metricHistoryPlans(runID: "r1", keys: ["m"], minStep: 0, maxStep: nil, maxPoints: 0)
            #expect(plans[0].pageCount > 1)
            #expect(plans[0].totalPoints == 122_880)
            var read: [MetricPointRecord] = []
            for page in 0..<plans[0].pageCount {
                read += try await store.metricHistoryPage(plans[0], page: page)
            }
            #expect(Self.same(read, expected))
        }
    }

    @Test("a large batch is split into full chunks; automatic steps continue across batches")
    func largeBatchAndAutomaticSteps() async throws {
        try await Self.withRun { store in
            _ = try await store.commitMetrics([Self.batch("x", steps: nil, values: (0..<600).map(Double.init))])
            _ = try await store.commitMetrics([Self.batch("x", steps: nil, values: [1, 2, 3])])
            #expect(try await Self.chunkCounts(store) == [256, 256, 91])
            let history = try await store.metricHistory(runID: "r1", keys: ["x"], minStep: 0, maxStep: nil, maxPoints: 0)
            #expect(history[0].points.map(\.step) == (0..<603).map(Int64.init))
            #expect(history[0].points.suffix(3).map(\.value) == [1, 2, 3])
        }
    }

    @Test("steps out of order, repeated steps, NaN and ranges read back exactly; downsampling matches a full scan",
          arguments: [1, 2, 3, 4])
    func exactAgainstReference(seed: UInt64) async throws {
        try await Self.withRun { store in
            var generator = Generator(state: seed)
            var reference = Reference()
            var nextStep: Int64 = 0
            for _ in 0..<40 {
                let count = Int(generator.next() % 400) + 1
                var steps: [Int64] = []
                var values: [Double] = []
                var times: [Int64] = []
                for _ in 0..<count {
                    // Mostly increasing, sometimes back in time or repeated; a few NaN and ties.
                    switch generator.next() % 20 {
                    case 0: steps.append(max(0, nextStep - Int64(generator.next() % 500)))
                    case 1: steps.append(nextStep)
                    default:
                        nextStep += Int64(generator.next() % 3) + 1
                        steps.append(nextStep)
                    }
                    switch generator.next() % 15 {
                    case 0: values.append(.nan)
                    case 1: values.append(5)
                    default: values.append(Double(generator.next() % 10_000) / 100)
                    }
                    times.append(Int64(generator.next() % 1_000_000) + 1)
                }
                _ = try await store.commitMetrics([Self.batch("m", steps: steps, values: values, times: times)])
                for i in 0..<count {
                    reference.points.append(MetricPointRecord(step: steps[i], value: values[i], timestampMs: times[i]))
                }
            }
            let top = nextStep
            for range in [0...Int64.max, 0...top, 100...2_000, (top / 3)...(top / 2), 17...17, (top + 1)...(top + 10)] {
                let all = try await store.metricHistory(runID: "r1", keys: ["m"], minStep: range.lowerBound,
                                                        maxStep: range.upperBound == Int64.max ? nil : range.upperBound, maxPoints: 0)
                let expected = reference.inRange(range)
                #expect(Self.same(all[0].points, expected), "range \(range)")
                #expect(all[0].totalPoints == Int64(expected.count))
                for maxPoints in [2, 10, 101, 1_000] where expected.count > maxPoints {
                    let sampled = try await store.metricHistory(runID: "r1", keys: ["m"], minStep: range.lowerBound,
                                                                maxStep: range.upperBound == Int64.max ? nil : range.upperBound, maxPoints: maxPoints)
                    #expect(sampled[0].downsampled)
                    #expect(sampled[0].totalPoints == Int64(expected.count))
                    #expect(Self.same(sampled[0].points, reference.downsampled(range, maxPoints: maxPoints)), "range \(range), \(maxPoints) points")
                }
            }
        }
    }

    @Test("a store written with one row per point moves its points into chunks when opened")
    func migratesRowsToChunks() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/tally.sqlite"
            do {
                let queue = try DatabaseQueue(path: path)
                try Store.migrator.migrate(queue, upTo: "v5_sweeps")
                try await queue.write { db in
                    try db.execute(sql: "INSERT INTO experiments (id, name, created_at_ms, updated_at_ms) VALUES ('e1', 'exp', 0, 0)")
                    try db.execute(sql: "INSERT INTO runs (id, experiment_pk, status, started_at_ms) VALUES ('r1', 1, 1, 0)")
                    try db.execute(sql: "INSERT INTO metric_series (run_pk, key, count, last_step) VALUES (1, 'a', 600, 599), (1, 'b', 3, 2)")
                    for step in 0..<600 {
                        try db.execute(sql: "INSERT INTO metric_points (series_pk, step, value, timestamp_ms) VALUES (1, ?, ?, ?)",
                                       arguments: [step, step == 10 ? nil : Double(step), step * 10])
                    }
                    // Logged out of step order: the order logged is kept for equal steps.
                    try db.execute(sql: "INSERT INTO metric_points (series_pk, step, value, timestamp_ms) VALUES (2, 2, 1, 1), (2, 0, 2, 2), (2, 2, 3, 3)")
                }
                try queue.close()
            }
            let store = try Store(path: path)
            #expect(try await store.appliedMigrations() == Store.migrator.migrations)
            let tables = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'metric_%' ORDER BY name") }
            #expect(tables == ["metric_chunk_data", "metric_chunks", "metric_series"])
            #expect(try await Self.chunkCounts(store) == [256, 256, 88, 3])
            let a = try await store.metricHistory(runID: "r1", keys: ["a"], minStep: 0, maxStep: nil, maxPoints: 0)[0].points
            #expect(a.count == 600 && a.map(\.step) == (0..<600).map(Int64.init))
            #expect(a[10].value.isNaN && a[11].value == 11 && a[599].timestampMs == 5_990)
            let b = try await store.metricHistory(runID: "r1", keys: ["b"], minStep: 0, maxStep: nil, maxPoints: 0)[0].points
            #expect(b.map(\.value) == [2, 1, 3])
            // Logging continues into the migrated series' last chunk.
            _ = try await store.commitMetrics([Self.batch("a", steps: nil, values: [7])])
            #expect(try await Self.chunkCounts(store) == [256, 256, 89, 3])
            try store.close()
        }
    }

    @Test("deleting a run removes its chunks")
    func deleteRemovesChunks() async throws {
        try await Self.withRun { store in
            _ = try await store.commitMetrics([Self.batch("x", steps: nil, values: (0..<300).map(Double.init))])
            try await store.pool.write { db in _ = try Store.deleteRunsData(db, runPKs: [1], experimentPK: nil) }
            let left = try await store.pool.read { db in
                try ["metric_chunks", "metric_chunk_data"].map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") ?? -1 }
            }
            #expect(left == [0, 0])
        }
    }

    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
