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

/// GetJob answers a sweep that is running in the store with its results until the store says it
/// ended: between the last trial's report and the job's end being recorded, a reader (`tally
/// sweeps validate` right after the agent exits) used to see it running with no results at all.
@Suite("Sweeps: results while the end is being recorded")
struct SweepEndingResultsTests {
    @Test func aSweepWhoseEndIsNotRecordedYetStillAnswersWithItsBestTrial() async throws {
        let h = try await JobHarness()
        defer { Task { await h.close() } }
        let job = try await h.sweep(sweepConfig([intParam("a", 1, 1)], maxParallel: 1, heartbeatMs: 2_000))
        let trial = try #require(try await h.nextTrial(job.id))
        // The job's end cannot be recorded for a while (a real SQLite refusal; the manager retries
        // for about 2 s): the sweep stays RUNNING in the store after its last trial.
        try await h.store.pool.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_job_end BEFORE UPDATE OF status ON jobs WHEN NEW.status >= \(JobRecord.completed)
                BEGIN SELECT RAISE(ABORT, 'job ends refused for the test'); END;
                """)
        }
        try await h.report(trial.id, score: 0.5)
        #expect(try await h.nextTrial(job.id) == nil)
        var request = GetJobRequest()
        request.jobId = job.id
        // For a second (the driver notices the end within 250 ms; the manager keeps retrying the
        // end's record for about 2 s), every answer says running, with the best trial.
        let deadline = ContinuousClock.now + .seconds(1)
        var answers = 0
        while answers == 0 || ContinuousClock.now < deadline {
            let seen = try await h.client.getJob(request)
            #expect(seen.status == .running)
            #expect(seen.results?.sweep?.bestTrialId == trial.id, "answer \(answers): \(seen.results?.sweep?.bestTrialId ?? "no results")")
            answers += 1
            if seen.results?.sweep?.bestTrialId != trial.id { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await h.store.pool.write { db in try db.execute(sql: "DROP TRIGGER refuse_job_end") }
    }
}
