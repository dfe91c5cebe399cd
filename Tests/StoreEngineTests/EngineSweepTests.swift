import Foundation
import TallyPostgres
import TallyStore
import Testing

private func trial(_ number: Int64, status: Int = 1, score: Double? = nil, runID: String = "", heartbeat: Int64 = 0) -> SweepTrialRecord {
    SweepTrialRecord(
        number: number, id: "trial-\(number)", status: status, score: score, methodUsed: number == 0 ? "random" : "tpe",
        runID: runID, heartbeatMs: heartbeat, trial: Array("trial \(number) \(status)".utf8)
    )
}

@Suite("Store engines: sweeps")
struct EngineSweepTests {
    @Test("trials save, update in place, and list in number order", arguments: Engine.available)
    func trials(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let job = try await f.store.createJob(kind: "sweep", config: [], progressTotal: 3)
            let other = try await f.store.createJob(kind: "sweep", config: [], progressTotal: 1)
            try await f.store.saveSweepTrial(jobPK: job.pk, trial(2))
            try await f.store.saveSweepTrial(jobPK: job.pk, trial(0, status: 2, score: 0.5, runID: "r0", heartbeat: 10))
            try await f.store.saveSweepTrial(jobPK: job.pk, trial(1, score: -1.25))
            var otherTrial = trial(0)
            otherTrial.id = "other-0"
            try await f.store.saveSweepTrial(jobPK: other.pk, otherTrial)

            let trials = try await f.store.sweepTrials(jobPK: job.pk)
            #expect(trials == [trial(0, status: 2, score: 0.5, runID: "r0", heartbeat: 10), trial(1, score: -1.25), trial(2)])
            #expect(trials[2].score == nil)

            // Saving the same number again updates it.
            try await f.store.saveSweepTrial(jobPK: job.pk, trial(2, status: 3, score: 0.75, runID: "r2", heartbeat: 99))
            #expect(try await f.store.sweepTrials(jobPK: job.pk).map(\.status) == [2, 1, 3])
            #expect(try await f.store.sweepTrials(jobPK: job.pk)[2] == trial(2, status: 3, score: 0.75, runID: "r2", heartbeat: 99))
            #expect(try await f.store.sweepTrials(jobPK: other.pk) == [otherTrial])

            #expect(try await f.store.sweepJobID(trialID: "trial-1") == job.id)
            #expect(try await f.store.sweepJobID(trialID: "other-0") == other.id)
            do {
                _ = try await f.store.sweepJobID(trialID: "nope")
                Issue.record("no error")
            } catch let error as StoreError {
                #expect(error.code == .notFound && error.field == "trial_id" && error.message == "trial nope not found")
            }

            try await f.store.setJobProgress(jobPK: job.pk, current: 2)
            let progressed = try await f.store.job(job.id)
            #expect(progressed.progressCurrent == 2 && progressed.updatedAtMs >= job.updatedAtMs)

            // Deleting the job deletes its trials.
            try await f.store.deleteJob(job.id)
            #expect(try await f.store.sweepTrials(jobPK: job.pk).isEmpty)
            #expect(try await f.store.sweepTrials(jobPK: other.pk).count == 1)
        }
    }

    @Test("a trial id moved to another number replaces the row that held it", arguments: Engine.available)
    func replaceByID(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let job = try await f.store.createJob(kind: "sweep", config: [], progressTotal: 2)
            try await f.store.saveSweepTrial(jobPK: job.pk, trial(0))
            var moved = trial(1)
            moved.id = "trial-0"
            try await f.store.saveSweepTrial(jobPK: job.pk, moved)
            #expect(try await f.store.sweepTrials(jobPK: job.pk) == [moved])
        }
    }
}
