import Foundation
import Synchronization
import Testing
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC
import TallyStore

@Suite("Durability: SIGKILL of the real daemon", .serialized)
struct DurabilityTests {
    func startRun(_ client: TallyClient, experiment: String) async throws -> Run {
        var request = StartRunRequest()
        var ref = ExperimentRef()
        ref.ref = .name(experiment)
        request.experiment = ref
        request.createExperiment = true
        return try await client.tracking.startRun(request)
    }

    func batch(run: String, from start: Int, count: Int) -> MetricBatch {
        var batch = MetricBatch()
        batch.runId = run
        batch.keys = ["loss", "acc"]
        batch.keyIndex = (0..<count).map { UInt32($0 % 2) }
        batch.values = (0..<count).map { Double(start + $0) }
        batch.steps = (0..<count).map { Int64((start + $0) / 2) }
        return batch
    }

    func pointCount(_ client: TallyClient, run: String) async throws -> UInt64 {
        var get = GetRunRequest()
        get.runId = run
        return try await client.tracking.getRun(get).metrics.reduce(0) { $0 + $1.count }
    }

    @Test("every acknowledged point, param and status survives kill -9 at random moments under load")
    func killUnderLoad() async throws {
        let directory = try TestDaemon.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/tally.sock"
        let home = directory + "/home"
        var acknowledged: [String: Int] = [:]
        var ended: [String] = []
        var rng = SystemRandomNumberGenerator()
        for round in 0..<3 {
            let daemon = try DaemonProcess(socketPath: socket, home: home)
            let client = try await daemon.waitUntilReady()
            // Everything acknowledged in earlier rounds is still there.
            for (run, count) in acknowledged {
                #expect(try await pointCount(client, run: run) >= UInt64(count), "round \(round): run \(run) lost points")
            }
            for run in ended {
                var get = GetRunRequest()
                get.runId = run
                #expect(try await client.tracking.getRun(get).status == .completed)
            }
            var runs: [Run] = []
            for _ in 0..<4 { runs.append(try await startRun(client, experiment: "durability")) }
            var params = LogParamsRequest()
            params.runId = runs[0].id
            var value = ParamValue()
            value.kind = .intValue(Int64(round))
            params.params = ["round": value]
            _ = try await client.tracking.logParams(params)
            _ = await { () async -> Void in
                var end = EndRunRequest()
                end.runId = runs[3].id
                end.status = .completed
                if (try? await client.tracking.endRun(end)) != nil { ended.append(runs[3].id) }
            }()
            // Three writers log until the daemon dies under them: once every writer has had a
            // batch acknowledged, at a random moment.
            let acknowledgedBatches = AckCounter()
            let counts = await withTaskGroup(of: (String, Int).self) { group in
                for run in runs.prefix(3) {
                    group.addTask {
                        guard let writer = try? await TallyClient.connect(socketPath: socket) else { return (run.id, 0) }
                        var acked = 0
                        while true {
                            do {
                                _ = try await writer.tracking.logMetrics(self.batch(run: run.id, from: acked, count: 500))
                                if acked == 0 { acknowledgedBatches.increment() }
                                acked += 500
                            } catch {
                                return (run.id, acked)
                            }
                        }
                    }
                }
                for _ in 0..<600 where acknowledgedBatches.value < 3 {
                    try? await Task.sleep(for: .milliseconds(10))
                }
                try? await Task.sleep(for: .milliseconds(Int.random(in: 20...300, using: &rng)))
                daemon.kill9()
                return await group.reduce(into: [(String, Int)]()) { $0.append($1) }
            }
            for (run, count) in counts { acknowledged[run] = count }
            #expect(counts.allSatisfy { $0.1 > 0 }, "a writer had nothing acknowledged before the kill")
            await client.close()
        }
        // Final restart: check everything and the file's integrity.
        let daemon = try DaemonProcess(socketPath: socket, home: home)
        let client = try await daemon.waitUntilReady()
        for (run, count) in acknowledged {
            let stored = try await pointCount(client, run: run)
            #expect(stored >= UInt64(count))
            // Stored points are whole batches: a commit never lands half.
            #expect(stored % 500 == 0)
        }
        await client.close()
        daemon.terminate()
        let store = try Store(path: home + "/tally.sqlite")
        #expect(try await store.integrityCheck())
        try store.close()
    }
}

/// Counts writers that had a first batch acknowledged.
final class AckCounter: Sendable {
    private let count = Synchronization.Atomic<Int>(0)
    func increment() { count.wrappingAdd(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
