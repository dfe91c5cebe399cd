import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// A classification job whose provider is a shell script answering at once: its speed is the
/// daemon's job machinery plus one process per item.
private func prepareJob(_ experiments: ExperimentsClient, directory: String, items: Int) async throws -> CreateJobRequest {
    let script = directory + "/classify.sh"
    try """
        #!/bin/sh
        cat > /dev/null
        echo '{"label": "a", "confidence": 0.9, "reasoning": "always a", "alternatives": []}'
        """.write(toFile: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
    var dataset = CreateDatasetRequest()
    dataset.name = "bench-letters"
    dataset.items = (0..<items).map { index in
        var item = DatasetItem()
        item.id = "i\(index)"
        item.text = "text \(index)"
        item.label = index % 2 == 0 ? "a" : "b"
        return item
    }
    _ = try await experiments.createDataset(dataset)
    var provider = CreateProviderRequest()
    provider.name = "bench-script"
    provider.kind = .command
    provider.command = [script]
    _ = try await experiments.createProvider(provider)
    var config = ClassificationEvalConfig()
    config.dataset = "bench-letters"
    config.provider = "bench-script"
    config.models = ["constant"]
    config.concurrency = 2
    var request = CreateJobRequest()
    request.config = .classification(config)
    return request
}

/// Waits for a job to end and returns its items per second, from its own start and end times.
private func jobSpeed(_ experiments: ExperimentsClient, jobID: String, items: Int) async throws -> Double {
    var get = GetJobRequest()
    get.jobId = jobID
    while true {
        let job = try await experiments.getJob(get)
        if job.status == .completed {
            return Double(items) / (Double(job.completedAtMs - job.startedAtMs) / 1000)
        }
        if job.status == .failed || job.status == .cancelled {
            throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "job ended \(job.status): \(job.error)"])
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// What one watcher saw.
private struct Seen: Sendable {
    var progressSeqs: [UInt64] = []
    var latenciesMs: [Double] = []
    var completed = false
}

/// One job, 1,000 watchers: delivery latency of progress events and the job's speed against the
/// same job with no watchers.
func benchWatch(report: Report, daemon: DaemonProcess, directory: String, quick: Bool, watchers: Int) async throws {
    let items = quick ? 400 : 1_000
    let client = try await daemon.waitUntilReady()
    defer { Task { await client.close() } }
    let experiments = client.experiments
    let request = try await prepareJob(experiments, directory: directory, items: items)

    log("watch: job of \(items) items with no watchers")
    let alone1 = try await jobSpeed(experiments, jobID: try await experiments.createJob(request).id, items: items)

    // 1,000 watchers over 10 connections (100 calls each, the daemon's per-connection limit).
    var connections: [TallyClient] = []
    for index in 0..<((watchers + 99) / 100) {
        connections.append(try await TallyClient.connect(socketPath: daemon.socketPath, clientName: "tally-bench-watch-\(index)"))
    }
    defer { for c in connections { Task { await c.close() } } }
    // Watch every job (the next one is created after all watchers are subscribed).
    log("watch: same job with \(watchers) watchers")
    let (results, job): ([Seen], String) = try await withThrowingTaskGroup(of: Seen.self) { group in
        for index in 0..<watchers {
            let connection = connections[index % connections.count]
            group.addTask {
                var watch = WatchJobsRequest()
                watch.kind = "classification_eval"
                let stream = try await connection.experiments.watchJobs(watch)
                var seen = Seen()
                var iterator = stream.makeAsyncIterator()
                while let event = try await iterator.next() {
                    let arrived = wallMs()
                    switch event.event {
                    case .progress?:
                        seen.progressSeqs.append(event.seq)
                        seen.latenciesMs.append(arrived - Double(event.timeMs))
                    case .completed?:
                        seen.completed = true
                        stream.cancel()
                        return seen
                    default:
                        break
                    }
                }
                return seen
            }
        }
        // Wait until the daemon counts every watch call in flight, then a little longer for the
        // handlers to subscribe.
        while try await client.system.info().callsInFlight < UInt32(watchers) {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        let id = try await experiments.createJob(request).id
        var all: [Seen] = []
        for try await seen in group { all.append(seen) }
        return (all, id)
    }
    let watched = try await jobSpeed(experiments, jobID: job, items: items)
    log("watch: job of \(items) items with no watchers, again")
    let alone2 = try await jobSpeed(experiments, jobID: try await experiments.createJob(request).id, items: items)
    let alone = (alone1 + alone2) / 2
    log("watch: items/s alone \(fmt(alone1)), watched \(fmt(watched)), alone again \(fmt(alone2))")

    let published = Set(results.flatMap(\.progressSeqs))
    let reachedAll = results.allSatisfy { $0.completed && Set($0.progressSeqs) == published }
    let latencies = results.flatMap(\.latenciesMs).sorted()
    let p99 = quantile(latencies, 0.99)
    let p50 = quantile(latencies, 0.5)
    report.add(Figure(
        name: "Watch fan-out, 1 job, \(watchers) watchers: progress delivery p99 (p50 \(fmt(p50)) ms, \(published.count) events, reached all: \(reachedAll ? "yes" : "no"))",
        value: fmt(p99) + " ms", baseline: "—", ratio: "—", target: "< 10 ms, every event to all",
        met: p99 < 10 && reachedAll))
    report.add(Figure(
        name: "Watch fan-out: job speed with \(watchers) watchers",
        value: fmt(watched) + " items/s", baseline: fmt(alone) + " items/s with no watchers",
        ratio: ratio(watched / alone), target: ">= 0.95x", met: watched / alone >= 0.95))
}

