import Foundation
import GRDB
import Testing
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices
import TallyStore

@Suite("Experiments: datasets and providers")
struct DatasetProviderTests {
    @Test("inline datasets derive labels, count items per label, and reject stray labels and duplicates")
    func datasets() async throws {
        let h = try await JobHarness(executor: nil)
        defer { Task { await h.close() } }
        let dataset = try await h.dataset(items: 10)
        #expect(dataset.itemCount == 10)
        #expect(dataset.labels.map(\.id) == ["sports", "politics", "tech"])
        #expect(dataset.labelCounts == ["sports": 4, "politics": 3, "tech": 3])

        var request = CreateDatasetRequest()
        request.name = "bad"
        var item = DatasetItem()
        item.id = "1"
        item.text = "hello"
        item.label = "weather"
        var label = Label()
        label.id = "sports"
        request.labels = [label]
        request.items = [item]
        let stray = await #expect(throws: RPCError.self) { _ = try await h.client.createDataset(request) }
        #expect(stray?.code == .invalidArgument)
        #expect(stray?.message.contains("weather") == true)
        request.labels = []
        request.items = [item, item]
        #expect(await statusCode { _ = try await h.client.createDataset(request) } == .invalidArgument)
        request.items = []
        #expect(await statusCode { _ = try await h.client.createDataset(request) } == .invalidArgument)
        request.name = "topics"
        request.items = [item]
        #expect(await statusCode { _ = try await h.client.createDataset(request) } == .alreadyExists)

        var update = UpdateDatasetLabelsRequest()
        update.dataset = "topics"
        update.labels = dataset.labels.map { var l = $0; l.description = "about \(l.id)"; return l }
        #expect(try await h.client.updateDatasetLabels(update).labels.map(\.description) == ["about sports", "about politics", "about tech"])
        update.labels.removeLast()
        #expect(await statusCode { _ = try await h.client.updateDatasetLabels(update) } == .invalidArgument)
    }

    @Test("a dataset can be registered from a JSONL artifact")
    func jsonlArtifact() async throws {
        let h = try await JobHarness(executor: nil)
        defer { Task { await h.close() } }
        var start = StartRunRequest()
        var ref = ExperimentRef()
        ref.ref = .name("data")
        start.experiment = ref
        start.createExperiment = true
        let run = try await h.tracking.startRun(start)
        let lines = (0..<5).map { "{\"id\": \"\($0)\", \"text\": \"text \($0)\", \"label\": \"\($0 % 2 == 0 ? "even" : "odd")\"}" }
        let content = Array((lines.joined(separator: "\n") + "\n").utf8)
        let artifact = try await h.tracking.uploadArtifact { writer in
            var header = ArtifactHeader()
            header.runId = run.id
            header.name = "items.jsonl"
            header.type = .dataset
            var first = UploadArtifactRequest()
            first.part = .header(header)
            try await writer.write(first)
            var chunk = UploadArtifactRequest()
            chunk.part = .chunk(content)
            try await writer.write(chunk)
        }
        var request = CreateDatasetRequest()
        request.name = "parity"
        var artifactRef = ArtifactRef()
        artifactRef.artifactId = artifact.id
        request.artifact = artifactRef
        let dataset = try await h.client.createDataset(request)
        #expect(dataset.itemCount == 5)
        #expect(dataset.labelCounts == ["even": 3, "odd": 2])
    }

    @Test("API keys are encrypted at rest, never returned, and the key file is private")
    func providerKeys() async throws {
        let h = try await JobHarness(executor: nil)
        defer { Task { await h.close() } }
        var request = CreateProviderRequest()
        request.name = "openai"
        request.kind = .openai
        request.baseUrl = "http://127.0.0.1:9/v1"
        request.apiKey = "sk-secret-value"
        let provider = try await h.client.createProvider(request)
        #expect(provider.hasApiKey)
        #expect(!String(describing: provider).contains("sk-secret"))
        let raw = try await h.store.pool.read { db in try Data.fetchOne(db, sql: "SELECT api_key FROM providers") }
        let sealed = try #require(raw)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("sk-secret"))
        #expect(try SecretBox(keyFile: h.directory + "/secret.key").open([UInt8](sealed)) == "sk-secret-value")
        let mode = try FileManager.default.attributesOfItem(atPath: h.directory + "/secret.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try await h.client.listProviders(ListProvidersRequest()).providers.allSatisfy { !String(describing: $0).contains("sk-secret") })

        var update = UpdateProviderRequest()
        update.provider = "openai"
        update.apiKey = ""
        #expect(try await h.client.updateProvider(update).hasApiKey == false)

        request.name = "bad"
        request.baseUrl = "ftp://x"
        #expect(await statusCode { _ = try await h.client.createProvider(request) } == .invalidArgument)
        request.kind = .command
        request.command = []
        #expect(await statusCode { _ = try await h.client.createProvider(request) } == .invalidArgument)
    }

    @Test("job validation: unknown provider NOT_FOUND, inactive FAILED_PRECONDITION, too many items INVALID_ARGUMENT with both numbers")
    func validation() async throws {
        let h = try await JobHarness(executor: nil)
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 12)
        _ = try await h.commandProvider("local")
        _ = try await h.commandProvider("off", active: false)
        #expect(await statusCode { _ = try await h.job(provider: "nope") } == .notFound)
        #expect(await statusCode { _ = try await h.job(dataset: "nope") } == .notFound)
        #expect(await statusCode { _ = try await h.job(provider: "off") } == .failedPrecondition)
        let tooMany = await #expect(throws: RPCError.self) { _ = try await h.job(sampleSize: 13) }
        #expect(tooMany?.code == .invalidArgument)
        #expect(tooMany?.message.contains("13") == true && tooMany?.message.contains("12") == true)
        #expect(await statusCode { _ = try await h.job(models: []) } == .invalidArgument)
        #expect(await statusCode { _ = try await h.job(models: ["a", "a"]) } == .invalidArgument)
    }
}

@Suite("Experiments: jobs and progress")
struct JobTests {
    func events(_ stream: ResponseStream<JobEvent>) async throws -> [JobEvent] {
        var events: [JobEvent] = []
        for try await event in stream { events.append(event) }
        return events
    }

    @Test("a job is pending at once, runs in the background, and a watcher sees snapshot, started, progress and completed")
    func lifecycle() async throws {
        let h = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(3)))
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 45)
        _ = try await h.commandProvider()
        let job = try await h.job(models: ["m1", "m2"])
        #expect(job.status == .pending)
        #expect(job.progressTotal == 90)
        #expect(job.updatedAtMs == job.createdAtMs)
        guard case .classification(let config)? = job.config else { Issue.record("no config"); return }
        #expect(config.labels.map(\.id) == ["sports", "politics", "tech"])  // snapshot
        var watch = WatchJobRequest()
        watch.jobId = job.id
        let all = try await events(try await h.client.watchJob(watch))
        guard case .snapshot? = all.first?.event else { Issue.record("no snapshot first"); return }
        #expect(all.map(\.seq) == all.map(\.seq).sorted())
        guard case .completed(let completed)? = all.last?.event else { Issue.record("no completed last: \(all.last as Any)"); return }
        #expect(completed.results?.models.map(\.model) == ["m1", "m2"])
        let progress = all.compactMap { event -> JobProgress? in if case .progress(let p)? = event.event { p } else { nil } }
        #expect(progress.last?.current == 90)
        #expect(progress.last?.percentage == 100)
        #expect(progress.allSatisfy { $0.current % 10 == 0 || $0.current == 90 })
        let finished = try await h.waitForStatus(job.id, [.completed])
        #expect(finished.progressCurrent == 90)
        #expect(finished.startedAtMs > 0 && finished.completedAtMs >= finished.startedAtMs)
        #expect(finished.updatedAtMs == finished.completedAtMs)  // the last change is the end
        var items = ListJobItemsRequest()
        items.jobId = job.id
        items.model = "m2"
        #expect(try await h.client.listJobItems(items).totalCount == 45)

        // Watching a finished job: the snapshot and the terminal event.
        let again = try await events(try await h.client.watchJob(watch))
        #expect(again.count == 2)
        guard case .completed? = again.last?.event else { Issue.record("no terminal event"); return }
    }

    @Test("item results are sent only when asked for")
    func itemResults() async throws {
        let h = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(1)))
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 15)
        _ = try await h.commandProvider()
        var watch = WatchJobRequest()
        watch.itemResults = true
        let job = try await h.job()
        watch.jobId = job.id
        let all = try await events(try await h.client.watchJob(watch))
        let items = all.filter { if case .itemResult? = $0.event { true } else { false } }
        #expect(items.count == 15 || all.contains { if case .snapshot(let j)? = $0.event { j.progressCurrent > 0 } else { false } })
    }

    @Test("cancel stops a running job promptly; it ends cancelled and watchers get the event")
    func cancel() async throws {
        let h = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(50)))
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 200)
        _ = try await h.commandProvider()
        let job = try await h.job()
        var watch = WatchJobRequest()
        watch.jobId = job.id
        let stream = try await h.client.watchJob(watch)
        _ = try await h.waitForStatus(job.id, [.running])
        try await Task.sleep(for: .milliseconds(120))
        var cancel = CancelJobRequest()
        cancel.jobId = job.id
        let started = ContinuousClock.now
        let cancelled = try await h.client.cancelJob(cancel)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.progressCurrent < 200)
        let all = try await events(stream)
        guard case .cancelled? = all.last?.event else { Issue.record("no cancelled event"); return }
        #expect(await statusCode { _ = try await h.client.cancelJob(cancel) } == .failedPrecondition)
        var delete = DeleteJobRequest()
        delete.jobId = job.id
        _ = try await h.client.deleteJob(delete)
        var get = GetJobRequest()
        get.jobId = job.id
        #expect(await statusCode { _ = try await h.client.getJob(get) } == .notFound)
    }

    @Test("a running job cannot be deleted; workers bound how many run at once")
    func deleteAndWorkers() async throws {
        let h = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(40)), workers: 1)
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 30)
        _ = try await h.commandProvider()
        let first = try await h.job()
        let second = try await h.job()
        _ = try await h.waitForStatus(first.id, [.running])
        var get = GetJobRequest()
        get.jobId = second.id
        #expect(try await h.client.getJob(get).status == .pending)  // one worker
        var delete = DeleteJobRequest()
        delete.jobId = first.id
        #expect(await statusCode { _ = try await h.client.deleteJob(delete) } == .failedPrecondition)
        var list = ListJobsRequest()
        list.statuses = [.pending]
        #expect(try await h.client.listJobs(list).jobs.map(\.id) == [second.id])
        var cancel = CancelJobRequest()
        cancel.jobId = second.id
        #expect(try await h.client.cancelJob(cancel).status == .cancelled)  // a queued job ends at once
        cancel.jobId = first.id
        _ = try await h.client.cancelJob(cancel)
    }

    @Test("a watcher that resumes with from_seq gets what it missed, without a snapshot")
    func resumeFromSeq() async throws {
        let h = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(2)))
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 60)
        _ = try await h.commandProvider()
        let job = try await h.job()
        var watch = WatchJobRequest()
        watch.jobId = job.id
        let stream = try await h.client.watchJob(watch)
        var iterator = stream.makeAsyncIterator()
        var seen: [JobEvent] = []
        while seen.count < 3, let event = try await iterator.next() { seen.append(event) }
        stream.cancel()
        _ = try await h.waitForStatus(job.id, [.completed])
        watch.fromSeq = seen.last!.seq
        let rest = try await events(try await h.client.watchJob(watch))
        #expect(rest.allSatisfy { $0.seq > seen.last!.seq })
        #expect(!rest.contains { if case .snapshot? = $0.event { true } else { false } })
        guard case .completed? = rest.last?.event else { Issue.record("no completed after resume"); return }
    }

    @Test("WatchJobs follows every job of a kind")
    func watchAll() async throws {
        let h = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(1)))
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 20)
        _ = try await h.commandProvider()
        let stream = try await h.client.watchJobs(WatchJobsRequest())
        let a = try await h.job()
        let b = try await h.job()
        var completed = Set<String>()
        for try await event in stream {
            if case .completed? = event.event { completed.insert(event.jobId) }
            if completed == [a.id, b.id] { break }
        }
        #expect(completed == [a.id, b.id])
    }

    @Test("after a restart an interrupted job resumes from its recorded items and finishes without duplicates")
    func restartResumes() async throws {
        let directory = NSTemporaryDirectory() + "tally-jobs-" + UUID().uuidString
        let first = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(20)), directory: directory)
        _ = try await first.dataset(items: 100)
        _ = try await first.commandProvider()
        let job = try await first.job()
        _ = try await first.waitForStatus(job.id, [.running])
        try await Task.sleep(for: .milliseconds(300))
        await first.close(removing: false)  // like a shutdown: the job is interrupted, not cancelled
        let interrupted = try await {
            let store = try Store(path: directory + "/tally.sqlite")
            defer { try? store.close() }
            return try await store.job(job.id)
        }()
        #expect(interrupted.status == JobRecord.running)
        #expect(interrupted.progressCurrent > 0 && interrupted.progressCurrent < 100)

        let second = try await JobHarness(executor: CountingExecutor(delay: .milliseconds(1)), directory: directory)
        defer { Task { await second.close() } }
        let finished = try await second.waitForStatus(job.id, [.completed, .failed])
        #expect(finished.status == .completed)
        var items = ListJobItemsRequest()
        items.jobId = job.id
        items.pageSize = 1000
        let stored = try await second.client.listJobItems(items)
        #expect(stored.totalCount == 100)
        #expect(Set(stored.items.map(\.itemId)).count == 100)
        #expect(finished.progressCurrent == 100)
    }
}

@Suite("Job event hub")
struct JobEventHubTests {
    func event(_ job: String, _ kind: JobEvent.Event) -> JobEvent {
        var event = JobEvent()
        event.jobId = job
        event.jobKind = "k"
        event.event = kind
        return event
    }

    @Test("a watcher that does not read gets the latest progress and every terminal event")
    func coalescing() async throws {
        let hub = JobEventHub(retained: 100, queueLimit: 10)
        let (id, _) = hub.subscribe(.init(jobID: nil, kind: nil, itemResults: true), fromSeq: 0)
        for i in 1...1000 {
            var progress = JobProgress()
            progress.current = UInt64(i)
            hub.publish(event("a", .progress(progress)))
            hub.publish(event("a", .itemResult(ItemResult())))
        }
        hub.publish(event("a", .completed(JobCompleted())))
        var received: [JobEvent] = []
        while received.last.map({ !$0.isTerminal }) ?? true, let next = await hub.next(id) { received.append(next) }
        #expect(received.count <= 11)
        let progress = received.compactMap { if case .progress(let p)? = $0.event { p.current } else { nil } }
        #expect(progress == [1000])
        guard case .completed? = received.last?.event else { Issue.record("terminal event dropped"); return }
        #expect(received.map(\.seq) == received.map(\.seq).sorted())
    }

    @Test("from_seq beyond what is retained falls back to a snapshot")
    func retention() {
        let hub = JobEventHub(retained: 10, queueLimit: 10)
        for _ in 0..<50 { hub.publish(event("a", .started(JobStarted()))) }
        let old = hub.subscribe(.init(jobID: "a", kind: nil, itemResults: false), fromSeq: hub.nextSeq - 40)
        #expect(old.replay == nil)
        let recent = hub.subscribe(.init(jobID: "a", kind: nil, itemResults: false), fromSeq: hub.nextSeq - 3)
        #expect(recent.replay?.count == 2)
    }
}

@Suite("Job event hub across restarts")
struct JobEventHubRestartTests {
    @Test("a watcher of an earlier daemon gets every event this daemon has numbered")
    func earlierDaemon() {
        let hub = JobEventHub(retained: 100, queueLimit: 10)
        let earlier = hub.nextSeq - 5_000_000  // a number from a daemon started five seconds before
        var event = JobEvent()
        event.jobId = "a"
        event.event = .completed(JobCompleted())
        hub.publish(event)
        let resumed = hub.subscribe(.init(jobID: nil, kind: nil, itemResults: false), fromSeq: earlier)
        #expect(resumed.replay?.count == 1)
        // Once this daemon has dropped events, an old number means a gap: start from a snapshot.
        let small = JobEventHub(retained: 10, queueLimit: 10)
        for _ in 0..<30 { small.publish(event) }
        #expect(small.subscribe(.init(jobID: nil, kind: nil, itemResults: false), fromSeq: small.nextSeq - 5_000_000).replay == nil)
    }
}
