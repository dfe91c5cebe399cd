import Foundation
import Logging
import TallyProto
import TallyRPC
@testable import TallyServices
import TallyStore
import Testing

/// Runs until cancelled, telling which daemon started which job.
private struct HoldingExecutor: JobExecutor {
    let daemon: String
    let started: AsyncStream<(daemon: String, job: String)>.Continuation

    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults {
        try await context.start(total: 1, alreadyDone: 0, experimentID: "")
        started.yield((daemon, job.id))
        try await Task.sleep(for: .seconds(3600))
        return JobResults()
    }
}

/// Two daemons' job managers on one store (docs/teams.md, "Several daemons"): leases decide who
/// runs a job, and a job outlives the daemon that started it.
@Suite("Job leases across daemons")
struct JobLeaseTests {
    @Test("a job runs on the daemon that leased it; another takes it over when the first gives it up or dies, and not before")
    func takeover() async throws {
        let directory = NSTemporaryDirectory() + "tally-leases-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(path: directory + "/tally.sqlite")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (started, startedContinuation) = AsyncStream.makeStream(of: (daemon: String, job: String).self)
        var events = started.makeAsyncIterator()
        // Long enough that a loaded machine renews in time (every third of it).
        let lease = Duration.seconds(2)
        func manager(_ name: String) -> JobManager {
            JobManager(
                store: store, hub: JobEventHub(),
                executors: ["hold": HoldingExecutor(daemon: name, started: startedContinuation)],
                workers: 2, leases: JobLeaseSettings(owner: name, duration: lease), logger: logger
            )
        }
        let a = manager("a")
        let b = manager("b")
        let loopA = Task { await a.run() }

        let job = try await store.createJob(kind: "hold", config: [], progressTotal: 0)
        await a.submitNew(job)
        let first = await events.next()
        #expect(first?.daemon == "a" && first?.job == job.id)
        // B runs beside A from now on; A renews its lease while the job runs, so after more
        // than a lease's time nobody can lease it, and B does not take it.
        let loopB = Task { await b.run() }
        try await Task.sleep(for: lease * 1.5)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(try await store.leaseJob(job.id, owner: "c", nowMs: now, untilMs: now + 1000) == false)
        #expect(a.isRunning(job.id) && !b.isRunning(job.id))
        // Renewals and takeover scans leave the running job's status alone.
        #expect(try await store.job(job.id).status == JobRecord.running)

        // A shuts down gracefully: it gives the lease up and B resumes the job.
        await a.shutdown()
        await loopA.value
        let second = await events.next()
        #expect(second?.daemon == "b" && second?.job == job.id)
        #expect(b.isRunning(job.id))

        // A job whose daemon died (its lease ran out without a release) is taken over too.
        // (B may claim it even before the dead daemon's lease is written: either way B runs it.)
        let orphan = try await store.createJob(kind: "hold", config: [], progressTotal: 0)
        _ = try await store.leaseJob(orphan.id, owner: "dead", nowMs: now, untilMs: now + 200)
        let third = await events.next()
        #expect(third?.daemon == "b" && third?.job == orphan.id)

        await b.shutdown()
        await loopB.value
        startedContinuation.finish()
        // Both jobs are unfinished and free for the next daemon.
        let later = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(Set(try await store.claimJobs(owner: "d", nowMs: later, untilMs: later + 1000, reclaimingOwn: false).map(\.id)) == [job.id, orphan.id])
    }
}
