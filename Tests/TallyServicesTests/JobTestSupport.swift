import Foundation
import Logging
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices
import TallyStore

/// Evaluates nothing: marks each sampled item correct after `delay`, honouring items already
/// recorded, so the job framework can be tested without a model.
struct CountingExecutor: JobExecutor {
    var delay: Duration = .milliseconds(2)

    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults {
        let request = try CreateJobRequest(serializedBytes: job.config)
        guard case .classification(let config)? = request.config else { throw JobFailure(message: "no config") }
        let done = Set(try await context.storeItems().map { "\($0.model)/\($0.itemID)" })
        let total = Int64(config.sampleSize) * Int64(config.models.count)
        try await context.start(total: total, alreadyDone: Int64(done.count), experimentID: "")
        for model in config.models {
            context.setModel(model)
            for index in 0..<Int(config.sampleSize) where !done.contains("\(model)/item-\(index)") {
                try await Task.sleep(for: delay)
                var result = ItemResult()
                result.model = model
                result.itemId = "item-\(index)"
                result.actual = "a"
                result.predicted = "a"
                result.confidence = 1
                try await context.itemFinished(result, position: index, isError: false)
            }
        }
        var results = JobResults()
        for model in config.models {
            var evaluation = ModelEvaluation()
            evaluation.model = model
            evaluation.total = UInt64(config.sampleSize)
            results.models.append(evaluation)
        }
        return results
    }
}

/// An Experiments service on a fresh temporary store, over the in-process transport.
final class JobHarness: @unchecked Sendable {
    let directory: String
    let store: Store
    let blobs: FolderBlobStore
    let provider: ExperimentsProvider
    let client: ExperimentsClient
    let tracking: TrackingClient
    let trackingProvider: TrackingProvider
    private let ingest: Task<Void, Never>
    /// The provider's job loop, as the daemon runs it in its service group.
    private let jobLoop: Task<Void, Never>

    init(executor: (any JobExecutor)? = CountingExecutor(), workers: Int = 2, directory: String? = nil) async throws {
        self.directory = directory ?? NSTemporaryDirectory() + "tally-jobs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        store = try Store(path: self.directory + "/tally.sqlite")
        blobs = try FolderBlobStore(directory: self.directory + "/artifacts")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var executors: [String: any JobExecutor] = [:]
        if let executor { executors[ClassificationEvalExecutor.kind] = executor }
        provider = try ExperimentsProvider(
            store: store, blobs: blobs, keyFile: self.directory + "/secret.key",
            hub: JobEventHub(), executors: executors, workers: workers, logger: logger
        )
        try await provider.start()
        let provider = self.provider
        jobLoop = Task { await provider.run() }
        var router = RPCRouter()
        provider.registerMethods(with: &router)
        let trackingProvider = TrackingProvider(store: store, blobs: blobs, logger: logger)
        self.trackingProvider = trackingProvider
        trackingProvider.registerMethods(with: &router)
        ingest = Task { await trackingProvider.run() }
        let transport = InProcessTransport(router: router)
        client = ExperimentsClient(transport: transport)
        tracking = TrackingClient(transport: transport)
    }

    func close(removing: Bool = true) async {
        await provider.shutdown()
        await jobLoop.value
        trackingProvider.finishIngest()
        await ingest.value
        try? store.close()
        if removing { try? FileManager.default.removeItem(atPath: directory) }
    }

    func dataset(_ name: String = "topics", items: Int = 20) async throws -> Dataset {
        var request = CreateDatasetRequest()
        request.name = name
        request.items = (0..<items).map { index in
            var item = DatasetItem()
            item.id = "item-\(index)"
            item.text = "message \(index)"
            item.label = ["sports", "politics", "tech"][index % 3]
            return item
        }
        return try await client.createDataset(request)
    }

    func commandProvider(_ name: String = "local", active: Bool = true) async throws -> Provider {
        var request = CreateProviderRequest()
        request.name = name
        request.kind = .command
        request.command = ["/bin/true"]
        request.inactive = !active
        return try await client.createProvider(request)
    }

    func job(dataset: String = "topics", provider: String = "local", models: [String] = ["m1"], sampleSize: UInt32 = 0) async throws -> Job {
        var config = ClassificationEvalConfig()
        config.dataset = dataset
        config.provider = provider
        config.models = models
        config.sampleSize = sampleSize
        var request = CreateJobRequest()
        request.config = .classification(config)
        return try await client.createJob(request)
    }

    func waitForStatus(_ id: String, _ statuses: Set<JobStatus>, timeout: Duration = .seconds(20)) async throws -> Job {
        let deadline = ContinuousClock.now + timeout
        while true {
            var get = GetJobRequest()
            get.jobId = id
            let job = try await client.getJob(get)
            if statuses.contains(job.status) || ContinuousClock.now > deadline { return job }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

extension JobContext {
    func storeItems() async throws -> [JobItemRecord] { try await recordedItems() }
}
