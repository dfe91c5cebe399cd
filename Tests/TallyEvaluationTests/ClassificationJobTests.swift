import Foundation
import Logging
import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices
import TallyStore

/// The Experiments service running real classification jobs against the loopback model server.
final class EvaluationServiceHarness: @unchecked Sendable {
    let directory: String
    let store: Store
    let experiments: ExperimentsProvider
    let client: ExperimentsClient
    let tracking: TrackingClient
    let trackingProvider: TrackingProvider
    private let ingest: Task<Void, Never>
    private let jobLoop: Task<Void, Never>

    init() async throws {
        directory = NSTemporaryDirectory() + "tally-eval-jobs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try Store(path: directory + "/tally.sqlite")
        let blobs = try FolderBlobStore(directory: directory + "/artifacts")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        experiments = try ExperimentsProvider(store: store, blobs: blobs, keyFile: directory + "/secret.key", logger: logger)
        try await experiments.start()
        let experiments = self.experiments
        jobLoop = Task { await experiments.run() }
        var router = RPCRouter()
        experiments.registerMethods(with: &router)
        let trackingProvider = TrackingProvider(store: store, blobs: blobs, logger: logger)
        self.trackingProvider = trackingProvider
        trackingProvider.registerMethods(with: &router)
        ingest = Task { await trackingProvider.run() }
        let transport = InProcessTransport(router: router)
        client = ExperimentsClient(transport: transport)
        tracking = TrackingClient(transport: transport)
    }

    func close() async {
        await experiments.shutdown()
        await jobLoop.value
        trackingProvider.finishIngest()
        await ingest.value
        try? store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func finished(_ job: Job) async throws -> (Job, [JobEvent]) {
        var watch = WatchJobRequest()
        watch.jobId = job.id
        var events: [JobEvent] = []
        for try await event in try await client.watchJob(watch, options: CallOptions(timeout: .seconds(60))) { events.append(event) }
        var get = GetJobRequest()
        get.jobId = job.id
        return (try await client.getJob(get), events)
    }
}

@Suite("Classification evaluation jobs against a real HTTP model server", .serialized)
struct ClassificationJobTests {
    /// 12 items: 9 answered right, 1 answered wrong, 1 garbage reply, 1 off-label reply.
    static func datasetRequest() -> CreateDatasetRequest {
        var request = CreateDatasetRequest()
        request.name = "topics"
        let rows: [(String, String)] = [
            ("sports", "LABEL=sports CONF=0.9"), ("sports", "LABEL=sports CONF=0.8"), ("sports", "LABEL=sports CONF=0.95"),
            ("politics", "LABEL=politics CONF=0.9"), ("politics", "LABEL=politics CONF=0.7"), ("politics", "LABEL=politics CONF=0.9"),
            ("tech", "LABEL=tech CONF=0.9"), ("tech", "LABEL=tech CONF=0.6 ALTC=sports:0.3,politics:0.1"), ("tech", "LABEL=tech CONF=0.9"),
            ("tech", "LABEL=sports CONF=0.99"), ("sports", "GARBAGE"), ("politics", "OFFLABEL"),
        ]
        request.items = rows.enumerated().map { index, row in
            var item = DatasetItem()
            item.id = "m\(index)"
            item.text = "message \(index) \(row.1)"
            item.label = row.0
            return item
        }
        request.labels = ["sports", "politics", "tech"].map { id in
            var label = Label()
            label.id = id
            label.name = id.capitalized
            label.description = "messages about \(id)"
            return label
        }
        return request
    }

    func job(_ h: EvaluationServiceHarness, provider: String, models: [String]) async throws -> Job {
        var config = ClassificationEvalConfig()
        config.dataset = "topics"
        config.provider = provider
        config.models = models
        config.concurrency = 3
        config.requestTimeoutMs = 3000
        config.retries = 1
        var request = CreateJobRequest()
        request.config = .classification(config)
        return try await h.client.createJob(request)
    }

    @Test("two models evaluated through the OpenAI API: metrics, confusion, errors, tracking runs and the results artifact")
    func openAIJob() async throws {
        let server = try await StubModelServer.start(apiKey: "sk-test")
        let h = try await EvaluationServiceHarness()
        defer { Task { await h.close(); try? await server.stop() } }
        _ = try await h.client.createDataset(Self.datasetRequest())
        var provider = CreateProviderRequest()
        provider.name = "stub"
        provider.kind = .openai
        provider.baseUrl = "http://127.0.0.1:\(server.port)/v1"
        provider.apiKey = "sk-test"
        _ = try await h.client.createProvider(provider)

        let (job, events) = try await h.finished(try await job(h, provider: "stub", models: ["small", "large"]))
        #expect(job.status == .completed, "job failed: \(job.error)")
        #expect(job.progressCurrent == 24)
        guard case .completed(let completed)? = events.last?.event else { Issue.record("no completed event"); return }
        let results = try #require(completed.results)
        #expect(results.models.map(\.model) == ["small", "large"])
        let small = results.models[0]
        #expect(small.total == 12)
        #expect(small.errors == 2)
        #expect(abs(small.accuracy - 9.0 / 12.0) < 1e-9)
        #expect(small.confusion["tech"]?.predicted["sports"] == 1)
        #expect(small.confusion["sports"]?.predicted["ERROR"] == 1)
        #expect(small.confusion["politics"]?.predicted["ERROR"] == 1)
        // tech: 4 actual, 3 predicted right (the fourth went to sports) → recall 3/4.
        #expect(abs((small.perLabel["tech"]?.recall ?? 0) - 3.0 / 4.0) < 1e-9)
        // sports: 4 predicted as sports, 3 of them right → precision 3/4.
        #expect(abs((small.perLabel["sports"]?.precision ?? 0) - 3.0 / 4.0) < 1e-9)
        #expect(small.reliability.count == 10)
        #expect(small.expectedCalibrationError > 0)

        // Per-item results are listed, with the failures' reasons.
        var items = ListJobItemsRequest()
        items.jobId = job.id
        items.model = "small"
        items.errorsOnly = true
        let failures = try await h.client.listJobItems(items)
        #expect(failures.totalCount == 2)
        #expect(failures.items.allSatisfy { !$0.error.isEmpty && $0.confidence == 0 })
        // Each result names its labels, and keeps every alternative with its confidence.
        items.errorsOnly = false
        let all = try await h.client.listJobItems(items).items
        let unsure = try #require(all.first { $0.itemId == "m7" })
        #expect(unsure.actualName == "Tech" && unsure.predictedName == "Tech" && unsure.alternatives == ["sports", "politics"])
        #expect(unsure.alternativeLabels.map(\.name) == ["Sports", "Politics"])
        #expect(unsure.alternativeLabels.map(\.confidence) == [0.3, 0.1])
        let wrong = try #require(all.first { $0.itemId == "m9" })
        #expect(wrong.actualName == "Tech" && wrong.predictedName == "Sports" && wrong.alternativeLabels.isEmpty)

        // Each model is a completed tracking run with params, metrics and the results artifact.
        var get = GetRunRequest()
        get.runId = small.runId
        let run = try await h.tracking.getRun(get)
        #expect(run.status == .completed)
        #expect(run.name == "small")
        #expect(run.params["model"]?.kind == .stringValue("small"))
        #expect(run.params["provider"]?.kind == .stringValue("stub"))
        #expect(run.metrics.first { $0.key == "accuracy" }?.lastValue == small.accuracy)
        let artifact = try #require(run.artifacts.first { $0.name == "eval-items.jsonl" })
        var download = DownloadArtifactRequest()
        var ref = ArtifactRef()
        ref.artifactId = artifact.id
        download.artifact = ref
        var bytes: [UInt8] = []
        for try await part in try await h.tracking.downloadArtifact(download) {
            if case .chunk(let chunk)? = part.part { bytes += chunk }
        }
        #expect(String(decoding: bytes, as: UTF8.self).split(separator: "\n").count == 12)

        // Comparison works on evaluation runs like on any other.
        var compare = CompareRunsRequest()
        compare.experimentIds = [job.experimentId]
        let comparison = try await h.tracking.compareRuns(compare)
        #expect(comparison.runs.count == 2)
        #expect(comparison.metrics.first { $0.key == "accuracy" }?.goal == .maximize)
        #expect(comparison.metrics.first { $0.key == "p95_latency_ms" }?.goal == .minimize)  // declared by the job
        #expect(comparison.metrics.first { $0.key == "expected_calibration_error" }?.goal == .minimize)
    }

    @Test("the Ollama API works the same way")
    func ollamaJob() async throws {
        let server = try await StubModelServer.start()
        let h = try await EvaluationServiceHarness()
        defer { Task { await h.close(); try? await server.stop() } }
        _ = try await h.client.createDataset(Self.datasetRequest())
        var provider = CreateProviderRequest()
        provider.name = "local"
        provider.kind = .ollama
        provider.baseUrl = "http://127.0.0.1:\(server.port)"
        _ = try await h.client.createProvider(provider)
        let (job, _) = try await h.finished(try await job(h, provider: "local", models: ["llama"]))
        #expect(job.status == .completed, "job failed: \(job.error)")
        #expect(abs((job.results?.models.first?.accuracy ?? 0) - 0.75) < 1e-9)
    }

    @Test("a provider that cannot be reached fails the job with the reason")
    func unreachable() async throws {
        let h = try await EvaluationServiceHarness()
        defer { Task { await h.close() } }
        _ = try await h.client.createDataset(Self.datasetRequest())
        var provider = CreateProviderRequest()
        provider.name = "down"
        provider.kind = .openai
        let port = try await StubModelServer.closedPort()
        provider.baseUrl = "http://127.0.0.1:\(port)/v1"
        provider.apiKey = "x"
        _ = try await h.client.createProvider(provider)
        var config = ClassificationEvalConfig()
        config.dataset = "topics"
        config.provider = "down"
        config.models = ["m"]
        config.requestTimeoutMs = 500
        config.retries = 0
        var request = CreateJobRequest()
        request.config = .classification(config)
        let (job, events) = try await h.finished(try await h.client.createJob(request))
        #expect(job.status == .failed)
        #expect(!job.error.isEmpty)
        guard case .failed(let failed)? = events.last?.event else { Issue.record("no failed event"); return }
        #expect(failed.error == job.error)
    }

    @Test("a wrong API key fails the job at once with the provider's message, instead of completing with accuracy 0")
    func wrongKey() async throws {
        let server = try await StubModelServer.start()
        let h = try await EvaluationServiceHarness()
        defer { Task { await h.close(); try? await server.stop() } }
        _ = try await h.client.createDataset(Self.datasetRequest())
        var provider = CreateProviderRequest()
        provider.name = "wrong-key"
        provider.kind = .openai
        provider.baseUrl = server.openAIBaseURL
        provider.apiKey = "not-the-key"
        _ = try await h.client.createProvider(provider)
        var config = ClassificationEvalConfig()
        config.dataset = "topics"
        config.provider = "wrong-key"
        config.models = ["m"]
        var request = CreateJobRequest()
        request.config = .classification(config)
        let (job, _) = try await h.finished(try await h.client.createJob(request))
        #expect(job.status == .failed)
        #expect(job.error.contains("model m") && job.error.contains("HTTP 401") && job.error.contains("bad api key"), "\(job.error)")
        #expect(server.snapshot.requests <= 4)  // the first answer stops it: at most the requests in flight
    }

    @Test("a time limit that passes fails the job, naming the limit")
    func timeLimit() async throws {
        let server = try await StubModelServer.start()
        let h = try await EvaluationServiceHarness()
        defer { Task { await h.close(); try? await server.stop() } }
        var dataset = Self.datasetRequest()
        for index in dataset.items.indices { dataset.items[index].text += " DELAY400" }
        _ = try await h.client.createDataset(dataset)
        var provider = CreateProviderRequest()
        provider.name = "slow"
        provider.kind = .openai
        provider.baseUrl = server.openAIBaseURL
        provider.apiKey = server.apiKey
        _ = try await h.client.createProvider(provider)
        var config = ClassificationEvalConfig()
        config.dataset = "topics"
        config.provider = "slow"
        config.models = ["m"]
        config.concurrency = 1
        config.timeLimitMs = 600
        var request = CreateJobRequest()
        request.config = .classification(config)
        let (job, _) = try await h.finished(try await h.client.createJob(request))
        #expect(job.status == .failed)
        #expect(job.error == "the job's time limit of 600ms passed while model m was evaluated", "\(job.error)")

        config.timeLimitMs = 31 * 86_400_000
        request.config = .classification(config)
        await #expect(throws: RPCError.self) { try await h.client.createJob(request) }
    }
}
