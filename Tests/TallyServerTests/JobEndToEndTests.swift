import Foundation
import Testing
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// Writes an executable script that answers like a classifier, optionally slowly.
func classifierScript(in directory: String, sleep: Double = 0) throws -> String {
    let path = directory + "/classify.sh"
    let script = """
        #!/bin/sh
        cat > /dev/null
        \(sleep > 0 ? "sleep \(sleep)" : "")
        echo '{"label": "a", "confidence": 0.9, "reasoning": "always a", "alternatives": []}'
        """
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    return path
}

func setUpEvaluation(_ experiments: ExperimentsClient, script: String, items: Int) async throws -> CreateJobRequest {
    var dataset = CreateDatasetRequest()
    dataset.name = "letters"
    dataset.items = (0..<items).map { index in
        var item = DatasetItem()
        item.id = "i\(index)"
        item.text = "text \(index)"
        item.label = index % 2 == 0 ? "a" : "b"
        return item
    }
    _ = try await experiments.createDataset(dataset)
    var provider = CreateProviderRequest()
    provider.name = "script"
    provider.kind = .command
    provider.command = [script]
    _ = try await experiments.createProvider(provider)
    var config = ClassificationEvalConfig()
    config.dataset = "letters"
    config.provider = "script"
    config.models = ["constant"]
    config.concurrency = 2
    var request = CreateJobRequest()
    request.config = .classification(config)
    return request
}

@Suite("Jobs through the daemon", .serialized)
struct JobEndToEndTests {
    @Test("a watcher that never reads does not hold the job or the other watchers back")
    func stalledWatcher() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            let experiments = ExperimentsClient(transport: client.connection)
            let request = try await setUpEvaluation(experiments, script: try classifierScript(in: daemon.directory), items: 60)

            // A raw connection that asks for every event, item results included, and never reads.
            let stalled = try RawSocket(path: daemon.socketPath)
            try stalled.hello()
            var all = WatchJobsRequest()
            all.itemResults = true
            try stalled.start(callID: 1, method: "/tally.v1.Experiments/WatchJobs")
            try stalled.send(RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: all.serializedBytes()))

            let job = try await experiments.createJob(request)
            var watch = WatchJobRequest()
            watch.jobId = job.id
            watch.itemResults = true
            var last: JobEvent?
            var items = 0
            for try await event in try await experiments.watchJob(watch, options: CallOptions(timeout: .seconds(120))) {
                if case .itemResult? = event.event { items += 1 }
                last = event
            }
            guard case .completed(let completed)? = last?.event else { Issue.record("no completed event: \(String(describing: last))"); return }
            #expect(completed.results?.models.first?.accuracy == 0.5)
            #expect(items == 60)
            withExtendedLifetime(stalled) {}
        }
    }

    @Test("a job interrupted by kill -9 resumes after restart and finishes without duplicates")
    func resumeAfterKill() async throws {
        let directory = try TestDaemon.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/tally.sock"
        let home = directory + "/home"
        let script = try classifierScript(in: directory, sleep: 0.05)
        let daemon = try DaemonProcess(socketPath: socket, home: home)
        let client = try await daemon.waitUntilReady()
        var experiments = ExperimentsClient(transport: client.connection)
        let job = try await experiments.createJob(try await setUpEvaluation(experiments, script: script, items: 80))
        var get = GetJobRequest()
        get.jobId = job.id
        // Let it get part of the way.
        var progress: UInt64 = 0
        for _ in 0..<200 {
            progress = try await experiments.getJob(get).progressCurrent
            if progress >= 10 { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(progress >= 10)
        daemon.kill9()
        await client.close()

        let restarted = try DaemonProcess(socketPath: socket, home: home)
        defer { restarted.terminate() }
        let second = try await restarted.waitUntilReady()
        defer { Task { await second.close() } }
        experiments = ExperimentsClient(transport: second.connection)
        var finished = try await experiments.getJob(get)
        for _ in 0..<600 where finished.status != .completed && finished.status != .failed {
            try await Task.sleep(for: .milliseconds(50))
            finished = try await experiments.getJob(get)
        }
        #expect(finished.status == .completed, "job ended \(finished.status): \(finished.error)")
        #expect(finished.progressCurrent == 80)
        var items = ListJobItemsRequest()
        items.jobId = job.id
        items.pageSize = 1000
        let stored = try await experiments.listJobItems(items)
        #expect(stored.totalCount == 80)
        #expect(Set(stored.items.map(\.itemId)).count == 80)
        #expect(finished.results?.models.first?.total == 80)
    }
}
