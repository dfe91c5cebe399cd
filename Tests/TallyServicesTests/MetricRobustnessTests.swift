import Foundation
import GRDB
import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices
import TallyStore

/// Values and steps at the edges of what a client may send, and failures that must stay with the
/// batch that caused them.
@Suite("Tracking: metric edge values and failure isolation")
struct MetricRobustnessTests {
    func summary(_ h: TrackingHarness, _ run: Run, _ key: String) async throws -> MetricSummary {
        var get = GetRunRequest()
        get.runId = run.id
        return try #require(try await h.client.getRun(get).metrics.first { $0.key == key })
    }

    @Test("an automatic step after step Int64.max is INVALID_ARGUMENT naming steps; the series and the daemon carry on")
    func automaticStepOverflow() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        _ = try await h.log(run, [("big", 1, Int64.max)])
        do {
            _ = try await h.log(run, [("big", 2, nil)])
            Issue.record("an automatic step past Int64.max was accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("steps") || error.message.contains("step"))
        }
        // Nothing of the refused batch is stored, and the series takes explicit steps still.
        _ = try await h.log(run, [("big", 3, 5)])
        _ = try await h.log(run, [("other", 4, nil)])
        let big = try await summary(h, run, "big")
        #expect(big.count == 2)
        #expect(big.lastStep == Int64.max)
        // The history of a series reaching Int64.max can be downsampled.
        var request = GetMetricHistoryRequest()
        request.runId = run.id
        request.keys = ["big"]
        request.maxPoints = 1
        var steps: [Int64] = []
        for try await chunk in try await h.client.getMetricHistory(request) { steps += chunk.steps }
        #expect(Set(steps).isSubset(of: [5, Int64.max]))
        #expect(!steps.isEmpty)
    }

    @Test("+inf then -inf in one series: stored, min/max kept, no mean; the next batches commit")
    func infinitiesOfBothSigns() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        _ = try await h.log(run, [("x", .infinity, nil)])
        _ = try await h.log(run, [("x", -.infinity, nil)])
        _ = try await h.log(run, [("x", 1, nil)])
        let x = try await summary(h, run, "x")
        #expect(x.count == 3)
        #expect(x.min == -.infinity)
        #expect(x.max == .infinity)
        #expect(x.mean.isNaN)
        #expect(x.lastValue == 1)
    }

    @Test("a batch that fails the grouped commit fails alone among 50 concurrent writers")
    func poisonedBatchFailsAlone() async throws {
        let h = try TrackingHarness()
        let experiment = try await h.experiment()
        var runs: [Run] = []
        for _ in 0..<50 { runs.append(try await h.run(in: experiment)) }
        // Every run has a series with a tail chunk; the poisoned run's tail chunk is damaged, so
        // appending to it throws inside the transaction (DATA_LOSS), not as a per-batch result.
        for run in runs { _ = try await h.log(run, [("m", 0, nil)]) }
        let poisoned = runs[17]
        try await h.store.pool.write { db in
            try db.execute(sql: """
                UPDATE metric_chunk_data SET data = x'00' WHERE chunk_pk IN (
                    SELECT c.pk FROM metric_chunks c JOIN metric_series s ON c.series_pk = s.pk
                    JOIN runs r ON s.run_pk = r.pk WHERE r.id = ?)
                """, arguments: [poisoned.id])
        }
        let outcomes = try await withThrowingTaskGroup(of: (String, Int, RPCError.Code?).self) { group in
            for run in runs {
                group.addTask {
                    var failures = 0
                    var code: RPCError.Code?
                    for i in 1...20 {
                        do {
                            _ = try await h.log(run, (0..<10).map { ("m", Double(i * 10 + $0), nil) })
                        } catch let error as RPCError {
                            failures += 1
                            code = error.code
                        }
                    }
                    return (run.id, failures, code)
                }
            }
            var all: [(String, Int, RPCError.Code?)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        for (id, failures, code) in outcomes {
            if id == poisoned.id {
                #expect(failures == 20)
                #expect(code == .dataLoss)
            } else {
                #expect(failures == 0, "run \(id) lost batches to another run's bad batch")
            }
        }
        for run in runs where run.id != poisoned.id {
            #expect(try await summary(h, run, "m").count == 201)
        }
    }
}
