import Foundation
import GRDB
import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices
import TallyStore

/// A store write that fails while a sweep runs is not dropped: the sweep ends FAILED with the
/// store's reason instead of completing with trials it could not record.
@Suite("Sweeps: store failures are not dropped")
struct SweepStoreFailureTests {
    @Test func aTrialEndTheStoreRefusesFailsTheSweepWithTheReason() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        // The heartbeat timeout leaves time to install the trigger first: a trial that missed its
        // heartbeats before would be recorded, and the sweep would wait for a worker instead.
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 2)], maxParallel: 1, heartbeatMs: 2_000))
        let trial = try #require(try await h.nextTrial(job.id))
        // From now on the store refuses to record any trial's change (a real SQLite failure,
        // raised by a trigger), and the trial is left to miss its heartbeats.
        try await h.store.pool.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_trial_updates BEFORE INSERT ON sweep_trials
                BEGIN SELECT RAISE(ABORT, 'trial updates refused for the test'); END;
                """)
        }
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled], timeout: .seconds(30))
        #expect(finished.status == .failed)
        #expect(finished.error.contains("trial updates refused"), "\(finished.error)")
        _ = trial
    }
}

/// A sweep's time limit is a client's number: the end it gives is a checked sum.
@Suite("Sweeps: a time limit near 2^64")
struct SweepTimeLimitTests {
    @Test func aTimeLimitOfUInt64MaxNeverEndsTheSweepAndNeverTraps() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        var config = sweepConfig([intParam("a", 1, 9)], method: .random, maxTrials: 2)
        config.timeLimitMs = UInt64.max
        let job = try await h.sweep(config)
        // Each NextTrial checks the time limit: startedAt + Int64.max used to overflow.
        let trials = try await h.work(job.id, worker: "w") { Double($0.double("a")) }
        #expect(trials.count == 2)
        let finished = try await h.waitForStatus(job.id, [.completed, .failed, .cancelled])
        #expect(finished.status == .completed)
    }
}
