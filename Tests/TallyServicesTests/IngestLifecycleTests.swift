import Foundation
import Logging
import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices
import TallyStore

/// The metric ingest loop is a long-lived task its owner runs and ends: batches queued before the
/// end are committed before `run()` returns, and later ones are refused.
@Suite("Tracking: the metric ingest loop's lifecycle")
struct IngestLifecycleTests {
    @Test func queuedBatchesCommitBeforeRunReturnsAndLaterOnesAreRefused() async throws {
        let directory = NSTemporaryDirectory() + "tally-ingest-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(path: directory + "/tally.sqlite")
        defer { try? store.close() }
        let provider = TrackingProvider(
            store: store, blobs: try FolderBlobStore(directory: directory + "/artifacts"),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var router = RPCRouter()
        provider.registerMethods(with: &router)
        let client = TrackingClient(transport: InProcessTransport(router: router))
        var start = StartRunRequest()
        start.experiment = .name("ingest")
        start.createExperiment = true
        let run = try await client.startRun(start)

        func batch(_ value: Double) -> MetricBatch {
            var batch = MetricBatch()
            batch.runId = run.id
            batch.keys = ["m"]
            batch.keyIndex = [0]
            batch.values = [value]
            return batch
        }
        // Logged before the loop runs: the calls wait for it.
        let early = Task { try await client.logMetrics(batch(1)) }
        let loop = Task { await provider.run() }
        #expect(try await early.value.accepted == 1)
        _ = try await client.logMetrics(batch(2))

        provider.finishIngest()
        await loop.value
        await #expect(throws: RPCError.self) { _ = try await client.logMetrics(batch(3)) }
        do {
            _ = try await client.logMetrics(batch(3))
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
        }
        let history = try await store.metricHistory(runID: run.id, keys: ["m"], minStep: 0, maxStep: nil, maxPoints: 0)
        #expect(history[0].points.map(\.value) == [1, 2])
    }
}
