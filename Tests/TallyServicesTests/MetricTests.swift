import Foundation
import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices

@Suite("Tracking: metrics")
struct MetricTests {
    func history(_ h: TrackingHarness, _ run: Run, keys: [String] = [], min: Int64 = 0, max: Int64 = 0, maxPoints: UInt32 = 0) async throws -> [MetricHistoryChunk] {
        var request = GetMetricHistoryRequest()
        request.runId = run.id
        request.keys = keys
        request.minStep = min
        request.maxStep = max
        request.maxPoints = maxPoints
        var chunks: [MetricHistoryChunk] = []
        for try await chunk in try await h.client.getMetricHistory(request) { chunks.append(chunk) }
        return chunks
    }

    @Test("columnar batches keep every point; aggregates follow; NaN and ±Inf survive")
    func ingestAndAggregates() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        let ack = try await h.log(run, [("loss", 2, 0), ("acc", 0.1, 0), ("loss", .nan, 1), ("loss", 1, 2), ("acc", .infinity, 1), ("loss", -.infinity, 3)])
        #expect(ack.accepted == 6)
        var get = GetRunRequest()
        get.runId = run.id
        let metrics = try await h.client.getRun(get).metrics
        #expect(metrics.map(\.key) == ["acc", "loss"])
        let loss = metrics[1]
        #expect(loss.count == 4)
        #expect(loss.min == -.infinity)
        #expect(loss.max == 2)
        #expect(loss.lastValue == -.infinity)
        #expect(loss.lastStep == 3)
        #expect(loss.firstStep == 0)
        #expect(metrics[0].mean == .infinity)
        let chunks = try await history(h, run, keys: ["loss"])
        #expect(chunks.count == 1)
        #expect(chunks[0].steps == [0, 1, 2, 3])
        #expect(chunks[0].values[0] == 2 && chunks[0].values[1].isNaN && chunks[0].values[3] == -.infinity)
    }

    @Test("missing steps take the series' next step; missing times the receive time")
    func defaults() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        _ = try await h.log(run, [("a", 1, nil), ("a", 2, nil), ("b", 3, nil)])
        _ = try await h.log(run, [("a", 4, nil)])
        _ = try await h.log(run, [("a", 5, 10)])
        _ = try await h.log(run, [("a", 6, nil)])
        let chunks = try await history(h, run)
        let a = try #require(chunks.first { $0.key == "a" })
        #expect(a.steps == [0, 1, 2, 10, 11])
        let b = try #require(chunks.first { $0.key == "b" })
        #expect(b.steps == [0])
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(a.timestampsMs.allSatisfy { abs($0 - now) < 60_000 })
    }

    @Test("malformed batches are INVALID_ARGUMENT and store nothing", arguments: ["index", "steps", "times", "negative", "dupkey", "badkey", "norun"])
    func malformed(kind: String) async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        var batch = MetricBatch()
        batch.runId = run.id
        batch.keys = ["loss"]
        batch.keyIndex = [0, 0]
        batch.values = [1, 2]
        switch kind {
        case "index": batch.keyIndex = [0, 1]
        case "steps": batch.steps = [1]
        case "times": batch.timestampsMs = [1, 2, 3]
        case "negative": batch.steps = [0, -1]
        case "dupkey": batch.keys = ["loss", "loss"]
        case "badkey": batch.keys = ["lo\u{1}ss"]
        default: batch.runId = ""
        }
        #expect(await statusCode { _ = try await h.client.logMetrics(batch) } == .invalidArgument)
        #expect(try await history(h, run).isEmpty)
    }

    @Test("a batch for a missing run is NOT_FOUND")
    func missingRun() async throws {
        let h = try TrackingHarness()
        var batch = MetricBatch()
        batch.runId = "ffffffffffffffff"
        batch.keys = ["x"]
        batch.keyIndex = [0]
        batch.values = [1]
        #expect(await statusCode { _ = try await h.client.logMetrics(batch) } == .notFound)
    }

    @Test("history: step range, several chunks, and min/max downsampling that keeps spikes")
    func historyQueries() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        var batch = MetricBatch()
        batch.runId = run.id
        batch.keys = ["loss"]
        let count = 120_000
        batch.keyIndex = [UInt32](repeating: 0, count: count)
        var values = (0..<count).map { (i: Int) -> Double in Double(i % 10) }
        values[77_777] = 1000
        values[33_333] = -1000
        batch.values = values
        batch.steps = (0..<count).map(Int64.init)
        #expect(try await h.client.logMetrics(batch).accepted == UInt64(count))

        let all = try await history(h, run)
        #expect(all.count == 3)  // 50,000 points per chunk
        #expect(all.flatMap(\.steps) == (0..<count).map(Int64.init))
        #expect(all.allSatisfy { $0.totalPoints == UInt64(count) && !$0.downsampled })

        let range = try await history(h, run, min: 100, max: 199)
        #expect(range.flatMap(\.steps) == Array(100...199))

        let sampled = try await history(h, run, maxPoints: 1000)
        let points = sampled.flatMap(\.values)
        #expect(sampled.allSatisfy { $0.downsampled })
        #expect(points.count <= 1000 && points.count >= 500)
        #expect(points.contains(1000) && points.contains(-1000))
        let steps = sampled.flatMap(\.steps)
        #expect(steps == steps.sorted())

        #expect(await statusCode { _ = try await history(h, run, keys: ["nope"]) } == .notFound)
        #expect(await statusCode { _ = try await history(h, run, min: 10, max: 5) } == .invalidArgument)
    }

    @Test("StreamMetrics acknowledges every batch in order after commit")
    func streaming() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        let call = try await h.client.streamMetrics()
        for sequence in 1...50 {
            var batch = MetricBatch()
            batch.runId = run.id
            batch.keys = ["loss"]
            batch.keyIndex = [0, 0]
            batch.values = [Double(sequence), Double(sequence)]
            batch.sequence = UInt64(sequence)
            try await call.requests.write(batch)
        }
        try await call.finish()
        var acks: [UInt64] = []
        for try await ack in call.responses {
            #expect(ack.accepted == 2)
            acks.append(ack.sequence)
        }
        #expect(acks == Array(1...50))
        var get = GetRunRequest()
        get.runId = run.id
        #expect(try await h.client.getRun(get).metrics.first?.count == 100)
    }

    @Test("StreamMetrics reports a refused batch at once, without waiting for the client to half-close")
    func streamingRefusal() async throws {
        let h = try TrackingHarness()
        let experiment = try await h.experiment()
        let live = try await h.run(in: experiment)
        let ended = try await h.end(try await h.run(in: experiment))
        let call = try await h.client.streamMetrics()
        for (sequence, run) in [(1, live), (2, ended)] {
            var batch = MetricBatch()
            batch.runId = run.id
            batch.keys = ["loss"]
            batch.keyIndex = [0]
            batch.values = [1]
            batch.sequence = UInt64(sequence)
            try await call.requests.write(batch)
        }
        var iterator = call.responses.makeAsyncIterator()
        #expect(try await iterator.next()?.sequence == 1)
        let error = await #expect(throws: RPCError.self) { _ = try await iterator.next() }
        #expect(error?.code == .failedPrecondition)
    }

    @Test("many concurrent writers share commits and lose nothing")
    func groupCommit() async throws {
        let h = try TrackingHarness()
        let experiment = try await h.experiment()
        var runs: [Run] = []
        for _ in 0..<8 { runs.append(try await h.run(in: experiment)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for run in runs {
                group.addTask {
                    for i in 0..<25 {
                        _ = try await h.log(run, (0..<40).map { ("m", Double(i * 40 + $0), nil) })
                    }
                }
            }
            try await group.waitForAll()
        }
        for run in runs {
            var get = GetRunRequest()
            get.runId = run.id
            let metric = try #require(try await h.client.getRun(get).metrics.first)
            #expect(metric.count == 1000)
            #expect(metric.lastStep == 999)
            #expect(metric.max == 999)
        }
    }

    @Test("WatchRun sends a snapshot, then points, params and the final status")
    func watch() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        _ = try await h.log(run, [("loss", 5, 0)])
        var request = WatchRunRequest()
        request.runId = run.id
        request.includeHistory = true
        let stream = try await h.client.watchRun(request)
        var iterator = stream.makeAsyncIterator()
        guard case .snapshot(let snapshot)? = try await iterator.next()?.event else { Issue.record("no snapshot"); return }
        #expect(snapshot.id == run.id)
        guard case .points(let history)? = try await iterator.next()?.event else { Issue.record("no history"); return }
        #expect(history.values == [5])
        _ = try await h.log(run, [("loss", 4, 1), ("acc", 0.5, 1)])
        guard case .points(let live)? = try await iterator.next()?.event else { Issue.record("no live points"); return }
        #expect(live.keys == ["loss", "acc"])
        #expect(live.values == [4, 0.5])
        #expect(live.steps == [1, 1])
        var params = LogParamsRequest()
        params.runId = run.id
        params.params = ["seed": .int(7)]
        _ = try await h.client.logParams(params)
        guard case .params(let logged)? = try await iterator.next()?.event else { Issue.record("no params"); return }
        #expect(logged.params["seed"] == .int(7))
        _ = try await h.end(run)
        guard case .status(let final)? = try await iterator.next()?.event else { Issue.record("no status"); return }
        #expect(final.status == .completed)
        #expect(try await iterator.next() == nil)
    }
}
