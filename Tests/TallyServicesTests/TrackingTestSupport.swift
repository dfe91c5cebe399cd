import Foundation
import Logging
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices
import TallyStore

/// A tracking service on a fresh temporary database, reached through the in-process transport.
final class TrackingHarness: @unchecked Sendable {
    let directory: String
    let store: Store
    let client: TrackingClient
    let provider: TrackingProvider
    /// The provider's ingest loop, as the daemon runs it in its service group.
    private let ingest: Task<Void, Never>

    let router: RPCRouter

    init(limits: TrackingLimits = TrackingLimits(), heartbeatTimeout: Duration = .seconds(60)) throws {
        directory = NSTemporaryDirectory() + "tally-tracking-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try Store(path: directory + "/tally.sqlite")
        let blobs = try FolderBlobStore(directory: directory + "/artifacts")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var router = RPCRouter()
        let provider = TrackingProvider(store: store, blobs: blobs, limits: limits, heartbeatTimeout: heartbeatTimeout, logger: logger)
        self.provider = provider
        provider.register(with: &router)
        self.router = router
        ingest = Task { await provider.run() }
        client = TrackingClient(transport: InProcessTransport(router: router))
    }

    deinit {
        provider.finishIngest()
        // Closing the store waits for the connections in use, and the provider's loops (ingest,
        // writer watch) may still hold one: wait for them, and close, on a thread of its own, so
        // that a test's teardown never blocks the threads those loops need to finish.
        let ingest = self.ingest, store = self.store, directory = self.directory
        Thread.detachNewThread {
            let ended = DispatchSemaphore(value: 0)
            Task {
                await ingest.value
                ended.signal()
            }
            ended.wait()
            try? store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    func experiment(_ name: String = "exp-\(UUID().uuidString.prefix(6))", tags: [String: String] = [:]) async throws -> Experiment {
        var request = CreateExperimentRequest()
        request.name = name
        request.tags = tags
        return try await client.createExperiment(request)
    }

    func run(in experiment: Experiment, name: String = "", parent: String = "", params: [String: ParamValue] = [:]) async throws -> Run {
        var request = StartRunRequest()
        request.experiment = .id(experiment.id)
        request.name = name
        request.parentRunId = parent
        request.params = params
        return try await client.startRun(request)
    }

    func log(_ run: Run, _ points: [(String, Double, Int64?)]) async throws -> LogMetricsResponse {
        var batch = MetricBatch()
        batch.runId = run.id
        var keys: [String] = []
        for (key, value, step) in points {
            let index = keys.firstIndex(of: key) ?? { keys.append(key); return keys.count - 1 }()
            batch.keyIndex.append(UInt32(index))
            batch.values.append(value)
            if let step { batch.steps.append(step) }
        }
        batch.keys = keys
        return try await client.logMetrics(batch)
    }

    func end(_ run: Run, _ status: RunStatus = .completed, error: String = "") async throws -> Run {
        var request = EndRunRequest()
        request.runId = run.id
        request.status = status
        request.error = error
        return try await client.endRun(request)
    }
}

extension ExperimentRef {
    static func id(_ id: String) -> ExperimentRef {
        var ref = ExperimentRef()
        ref.ref = .id(id)
        return ref
    }

    static func name(_ name: String) -> ExperimentRef {
        var ref = ExperimentRef()
        ref.ref = .name(name)
        return ref
    }
}

extension ParamValue {
    static func string(_ value: String) -> ParamValue { var p = ParamValue(); p.kind = .stringValue(value); return p }
    static func int(_ value: Int64) -> ParamValue { var p = ParamValue(); p.kind = .intValue(value); return p }
    static func double(_ value: Double) -> ParamValue { var p = ParamValue(); p.kind = .doubleValue(value); return p }
    static func bool(_ value: Bool) -> ParamValue { var p = ParamValue(); p.kind = .boolValue(value); return p }
}

/// The status code of an error thrown by `body`, or nil.
func statusCode(_ body: () async throws -> Void) async -> RPCError.Code? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}
