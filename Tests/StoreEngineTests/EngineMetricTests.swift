import Foundation
import TallyStore
import Testing

/// Metric points through ``StoreEngine``: commits, summaries, histories, downsampling and
/// paging, the same on every engine (checked against a reference computed here from the points
/// as logged, so both engines agree with it and with each other).
@Suite("Store engines: metrics")
struct EngineMetricTests {
    /// A store with one running run; returns its id.
    static func run(_ f: EngineFixture, name: String = "r") async throws -> String {
        let experiment = try await f.store.createExperiment(NewExperiment(name: "exp-\(name)"))
        return try await f.store.startRun(NewRun(experimentID: experiment.id, name: name)).id
    }

    static func batch(_ run: String, _ key: String, steps: [Int64]?, values: [Double], times: [Int64] = [], writer: String = "", sequence: UInt64 = 0) -> MetricPointBatch {
        MetricPointBatch(
            runID: run, keys: [key], keyIndex: [UInt32](repeating: 0, count: values.count), values: values,
            steps: steps ?? [], timestampsMs: times, receivedAtMs: 1_000, writerID: writer, sequence: sequence
        )
    }

    static func same(_ a: [MetricPointRecord], _ b: [MetricPointRecord]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.step == y.step && x.timestampMs == y.timestampMs && (x.value == y.value || (x.value.isNaN && y.value.isNaN))
        }
    }

    /// Points in a step range ordered by step, then as logged.
    static func inRange(_ points: [MetricPointRecord], _ range: ClosedRange<Int64>) -> [MetricPointRecord] {
        points.enumerated().filter { range.contains($0.element.step) }
            .sorted { ($0.element.step, $0.offset) < ($1.element.step, $1.offset) }.map(\.element)
    }

    /// Min/max buckets: each bucket's lowest and highest non-NaN point, ties to the lowest step,
    /// then the first logged.
    static func downsampled(_ points: [MetricPointRecord], _ range: ClosedRange<Int64>, maxPoints: Int) -> [MetricPointRecord] {
        let inRange = inRange(points, range)
        guard let low = inRange.map(\.step).min(), let high = inRange.map(\.step).max() else { return [] }
        let buckets = max(1, maxPoints / 2)
        let width = (Double(high) - Double(low) + 1) / Double(buckets)
        var lows: [Int: MetricPointRecord] = [:]
        var highs: [Int: MetricPointRecord] = [:]
        for point in inRange where !point.value.isNaN {
            let b = min(buckets - 1, Int(Double(point.step - low) / width))
            if let current = lows[b] { if point.value < current.value { lows[b] = point } } else { lows[b] = point }
            if let current = highs[b] { if point.value > current.value { highs[b] = point } } else { highs[b] = point }
        }
        var result: [MetricPointRecord] = []
        for b in lows.keys.sorted() {
            let pair = [lows[b]!, highs[b]!].sorted { $0.step < $1.step }
            result.append(pair[0])
            if pair[1] != pair[0] { result.append(pair[1]) }
        }
        return result
    }

    @Test("commits resolve steps and times, keep NaN and infinities, and summarize each series", arguments: Engine.available)
    func summaries(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await Self.run(f)
            let mixed = MetricPointBatch(
                runID: run, keys: ["loss", "acc"], keyIndex: [0, 1, 0, 1, 0], values: [0.5, 0.1, .nan, 0.2, 0.25],
                steps: [], timestampsMs: [0, 7, 0, 0, 9], receivedAtMs: 1_000
            )
            let results = try await f.store.commitMetrics([mixed, Self.batch(run, "loss", steps: [10, 3], values: [.infinity, -1])])
            let first = try results[0].get()
            #expect(first.steps == [0, 0, 1, 1, 2])
            #expect(first.timestampsMs == [1_000, 7, 1_000, 1_000, 9])
            #expect(try results[1].get().steps == [10, 3])
            let record = try await f.store.run(id: run)
            #expect(record.metrics.map(\.key) == ["acc", "loss"])
            let acc = record.metrics[0]
            #expect(acc.count == 2 && acc.finiteCount == 2 && acc.min == 0.1 && acc.max == 0.2 && acc.lastValue == 0.2 && acc.lastStep == 1 && acc.firstStep == 0)
            let loss = record.metrics[1]
            #expect(loss.count == 5 && loss.finiteCount == 4)
            #expect(loss.min == -1 && loss.max == .infinity && loss.sum == .infinity)
            #expect(loss.lastValue == .infinity && loss.lastStep == 10 && loss.firstStep == 0)
            // +inf and -inf: no sum; a NaN last value is stored as missing (NaN).
            _ = try await f.store.commitMetrics([Self.batch(run, "loss", steps: [11], values: [-.infinity]), Self.batch(run, "acc", steps: [5], values: [.nan])])
            let after = try await f.store.run(id: run)
            #expect(after.metrics[1].sum.isNaN)
            #expect(after.metrics[0].lastValue.isNaN && after.metrics[0].lastStep == 5 && after.metrics[0].finiteCount == 2)
            let history = try await f.store.metricHistory(runID: run, keys: ["loss"], minStep: 0, maxStep: nil, maxPoints: 0)
            #expect(history[0].points.map(\.step) == [0, 1, 2, 3, 10, 11])
            #expect(history[0].points.map(\.value).description == "[0.5, nan, 0.25, -1.0, inf, -inf]")
        }
    }

    @Test("each batch has its own outcome: missing and ended runs fail alone, crashed runs come back, repeated (writer, sequence) are duplicates, overflowing automatic steps are refused", arguments: Engine.available)
    func outcomes(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let live = try await Self.run(f, name: "live")
            let ended = try await Self.run(f, name: "ended")
            let crashed = try await Self.run(f, name: "crashed")
            _ = try await f.store.endRun(id: ended, state: .completed, error: "")
            #expect(try await f.store.markCrashed([(crashed, 5)]) == [crashed])
            _ = try await f.store.commitMetrics([Self.batch(live, "top", steps: [Int64.max], values: [1])])
            let results = try await f.store.commitMetrics([
                Self.batch(live, "x", steps: nil, values: [1, 2], writer: "w", sequence: 1),
                Self.batch("nope", "x", steps: nil, values: [1]),
                Self.batch(ended, "x", steps: nil, values: [1]),
                Self.batch(crashed, "x", steps: nil, values: [3]),
                Self.batch(live, "x", steps: nil, values: [9], writer: "w", sequence: 1),
                Self.batch(live, "top", steps: nil, values: [2]),
                Self.batch(live, "x", steps: nil, values: [4], writer: "w", sequence: 2),
            ])
            #expect(try results[0].get().steps == [0, 1])
            #expect(results[1].failureCode == .notFound)
            #expect(results[2].failureCode == .failedPrecondition)
            #expect(try results[3].get().steps == [0])
            #expect(try results[4].get().duplicate)
            #expect(results[5].failureCode == .invalidArgument)
            #expect(try results[6].get().steps == [2])
            #expect(try await f.store.run(id: crashed).state == .running)
            // Delivered again later: still a duplicate, even to a run that has ended.
            _ = try await f.store.endRun(id: live, state: .completed, error: "")
            let again = try await f.store.commitMetrics([Self.batch(live, "x", steps: nil, values: [9], writer: "w", sequence: 2)])
            #expect(try again[0].get().duplicate)
            let x = try #require(try await f.store.run(id: live).metrics.first { $0.key == "x" })
            #expect(x.count == 3 && x.lastStep == 2 && x.lastValue == 4)
            let history = try await f.store.metricHistory(runID: live, keys: ["x"], minStep: 0, maxStep: nil, maxPoints: 0)
            #expect(history[0].points.map(\.value) == [1, 2, 4])
        }
    }

    @Test("steps out of order, repeated steps and NaN read back exactly in ranges, pages and downsampled", arguments: Engine.available)
    func histories(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await Self.run(f)
            var generator = SplitMix(seed: 42)
            var logged: [MetricPointRecord] = []
            var batches: [MetricPointBatch] = []
            for b in 0..<30 {
                var steps: [Int64] = []
                var values: [Double] = []
                var times: [Int64] = []
                for i in 0..<Int(generator.next() % 300 + 1) {
                    let step: Int64 = b % 7 == 3 ? Int64(generator.next() % 2_000) : Int64(b * 100 + i / 2)
                    let value: Double = generator.next() % 23 == 0 ? .nan : Double(generator.next() % 1_000) / 7
                    steps.append(step)
                    values.append(value)
                    times.append(Int64(b * 1_000 + i + 1))
                    logged.append(MetricPointRecord(step: step, value: value, timestampMs: Int64(b * 1_000 + i + 1)))
                }
                batches.append(Self.batch(run, "m", steps: steps, values: values, times: times))
            }
            // Several commits, several batches each.
            for group in stride(from: 0, to: batches.count, by: 4) {
                for result in try await f.store.commitMetrics(Array(batches[group..<min(group + 4, batches.count)])) { _ = try result.get() }
            }
            for range in [Int64(0)...Int64.max, 150...1_499, 2_001...2_050, 990...990] {
                let all = try await f.store.metricHistory(runID: run, keys: ["m"], minStep: range.lowerBound, maxStep: range.upperBound, maxPoints: 0)[0]
                let expected = Self.inRange(logged, range)
                let same = Self.same(all.points, expected)
                #expect(same, "range \(range)")
                #expect(all.totalPoints == Int64(expected.count) && !all.downsampled)
                for maxPoints in [10, 101, 1_000] where expected.count > maxPoints {
                    let small = try await f.store.metricHistory(runID: run, keys: ["m"], minStep: range.lowerBound, maxStep: range.upperBound, maxPoints: maxPoints)[0]
                    #expect(small.downsampled && small.totalPoints == Int64(expected.count))
                    let same = Self.same(small.points, Self.downsampled(logged, range, maxPoints: maxPoints))
                    #expect(same, "range \(range), \(maxPoints) points")
                }
            }
            let summary = try #require(try await f.store.run(id: run).metrics.first)
            #expect(summary.count == Int64(logged.count))
            #expect(summary.firstStep == logged.map(\.step).min())
            #expect(summary.min == logged.map(\.value).filter { !$0.isNaN }.min())
            await #expect(throws: StoreError.self) { _ = try await f.store.metricHistory(runID: run, keys: ["nope"], minStep: 0, maxStep: nil, maxPoints: 0) }
            await #expect(throws: StoreError.self) { _ = try await f.store.metricHistory(runID: "nope", keys: [], minStep: 0, maxStep: nil, maxPoints: 0) }
        }
    }

    @Test("a history longer than a page is read in several pages, in step order", arguments: Engine.available)
    func pages(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await Self.run(f)
            let count = 120_000
            for start in stride(from: 0, to: count, by: 40_000) {
                let values = (start..<start + 40_000).map { Double($0 % 977) }
                _ = try await f.store.commitMetrics([Self.batch(run, "long", steps: nil, values: values)])[0].get()
            }
            let plans = try await f.store.metricHistoryPlans(runID: run, keys: [], minStep: 0, maxStep: nil, maxPoints: 0)
            #expect(plans.count == 1 && plans[0].totalPoints == Int64(count) && plans[0].pageCount == 3)
            var steps: [Int64] = []
            for page in 0..<plans[0].pageCount {
                steps += try await f.store.metricHistoryPage(plans[0], page: page).map(\.step)
            }
            let inOrder = steps == (0..<Int64(count)).map { $0 }
            #expect(inOrder)
        }
    }

    @Test("several writers appending to one series at once get every step once", arguments: Engine.available)
    func concurrentAppends(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await Self.run(f)
            let store = f.store
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<6 {
                    group.addTask {
                        for i in 0..<20 {
                            let batch = Self.batch(run, "shared", steps: nil, values: [Double](repeating: Double(writer), count: 37), writer: "w\(writer)", sequence: UInt64(i))
                            _ = try await store.commitMetrics([batch])[0].get()
                        }
                    }
                }
                try await group.waitForAll()
            }
            let history = try await store.metricHistory(runID: run, keys: ["shared"], minStep: 0, maxStep: nil, maxPoints: 0)[0]
            let steps = history.points.map(\.step)
            let contiguous = steps == (0..<Int64(6 * 20 * 37)).map { $0 }
            #expect(contiguous, "\(steps.count) steps, first \(steps.prefix(3)), last \(steps.suffix(3))")
            let summary = try #require(try await store.run(id: run).metrics.first)
            #expect(summary.count == Int64(6 * 20 * 37) && summary.lastStep == Int64(6 * 20 * 37 - 1))
        }
    }
}

extension Result where Failure == StoreError {
    var failureCode: StoreError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}

/// A small seeded generator, so that both engines get the same points.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
