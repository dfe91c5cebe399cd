import Foundation
import Synchronization
import Testing
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices
import TallyStore

/// Counts the executions in progress: each one ends by leaving, however it ends.
final class ExecutionCounter: Sendable {
    private let counts = Mutex((inside: 0, entered: 0))
    var inside: Int { counts.withLock { $0.inside } }
    var entered: Int { counts.withLock { $0.entered } }
    func enter() { counts.withLock { $0.inside += 1; $0.entered += 1 } }
    func leave() { counts.withLock { $0.inside -= 1 } }
}

/// A job that runs until it is cancelled, ignoring the first cancellation for a while (as a job
/// finishing an item does), or fails at once when its config says so.
struct LingeringExecutor: JobExecutor {
    let counter: ExecutionCounter

    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults {
        counter.enter()
        defer { counter.leave() }
        try await context.start(total: 1, alreadyDone: 0, experimentID: "")
        let request = try CreateJobRequest(serializedBytes: job.config)
        if case .classification(let config)? = request.config, config.models.first == "broken" {
            throw JobFailure(message: "the model file is broken")
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Finishing the current item after the stop was asked for.
        try? await Task { try await Task.sleep(for: .milliseconds(300)) }.value
        throw CancellationError()
    }
}

@Suite("Jobs: each runs as a child of the job loop")
struct JobLifecycleTests {
    @Test func shutdownReturnsOnlyOnceEveryJobHasStopped() async throws {
        let counter = ExecutionCounter()
        let h = try await JobHarness(executor: LingeringExecutor(counter: counter), workers: 2)
        _ = try await h.dataset()
        _ = try await h.commandProvider()
        let first = try await h.job()
        let second = try await h.job()
        _ = try await h.waitForStatus(first.id, [.running])
        _ = try await h.waitForStatus(second.id, [.running])
        #expect(counter.inside == 2)
        await h.provider.shutdown()
        // Both jobs were interrupted and their executions have ended: nothing runs on against a
        // store about to close.
        #expect(counter.inside == 0)
        #expect(counter.entered == 2)
        // Interrupted, not cancelled: they are left to resume at the next start.
        #expect(try await h.store.job(first.id).status == JobRecord.running)
        await h.close()
    }

    @Test func aJobWhoseExecutorFailsEndsFailedWithTheReason() async throws {
        let counter = ExecutionCounter()
        let h = try await JobHarness(executor: LingeringExecutor(counter: counter), workers: 1)
        defer { Task { await h.close() } }
        _ = try await h.dataset()
        _ = try await h.commandProvider()
        let job = try await h.job(models: ["broken"])
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .failed)
        #expect(finished.error == "the model file is broken")
    }

    @Test func cancellingARunningJobWaitsForItToStop() async throws {
        let counter = ExecutionCounter()
        let h = try await JobHarness(executor: LingeringExecutor(counter: counter), workers: 1)
        defer { Task { await h.close() } }
        _ = try await h.dataset()
        _ = try await h.commandProvider()
        let job = try await h.job()
        _ = try await h.waitForStatus(job.id, [.running])
        var cancel = CancelJobRequest()
        cancel.jobId = job.id
        let cancelled = try await h.client.cancelJob(cancel)
        #expect(cancelled.status == .cancelled)
        #expect(counter.inside == 0)
    }
}
