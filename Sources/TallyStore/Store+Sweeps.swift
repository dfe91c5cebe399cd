import Foundation
import GRDB

/// One trial of a sweep job as stored. `trial` is a serialized `tally.v1.Trial` owned by the
/// service layer; the other fields repeat what lookups need.
public struct SweepTrialRecord: Sendable, Hashable {
    public var number: Int64
    public var id: String
    /// `tally.v1.TrialStatus` number.
    public var status: Int
    public var score: Double?
    public var methodUsed: String
    public var runID: String
    public var heartbeatMs: Int64
    public var trial: [UInt8]

    public init(number: Int64, id: String, status: Int, score: Double?, methodUsed: String, runID: String, heartbeatMs: Int64, trial: [UInt8]) {
        self.number = number
        self.id = id
        self.status = status
        self.score = score
        self.methodUsed = methodUsed
        self.runID = runID
        self.heartbeatMs = heartbeatMs
        self.trial = trial
    }
}

extension Store {
    /// Inserts or replaces a sweep trial.
    public func saveSweepTrial(jobPK: Int64, _ trial: SweepTrialRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO sweep_trials (job_pk, number, id, status, score, method_used, run_id, heartbeat_ms, trial)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [jobPK, trial.number, trial.id, trial.status, trial.score, trial.methodUsed, trial.runID, trial.heartbeatMs, Data(trial.trial)]
            )
        }
    }

    /// Stores a job's progress count.
    public func setJobProgress(jobPK: Int64, current: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE jobs SET progress_current = ?, updated_at_ms = ? WHERE pk = ?", arguments: [current, Identifiers.nowMs(), jobPK])
        }
    }

    /// A sweep job's trials in number order.
    public func sweepTrials(jobPK: Int64) async throws -> [SweepTrialRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sweep_trials WHERE job_pk = ? ORDER BY number", arguments: [jobPK]).map { row in
                SweepTrialRecord(
                    number: row["number"], id: row["id"], status: row["status"], score: row["score"],
                    methodUsed: row["method_used"], runID: row["run_id"], heartbeatMs: row["heartbeat_ms"],
                    trial: [UInt8](row["trial"] as Data)
                )
            }
        }
    }

    /// The id of the job a trial belongs to.
    /// - Throws: ``StoreError`` `notFound` for an unknown trial.
    public func sweepJobID(trialID: String) async throws -> String {
        try await pool.read { db in
            guard let id = try String.fetchOne(
                db, sql: "SELECT jobs.id FROM sweep_trials JOIN jobs ON jobs.pk = sweep_trials.job_pk WHERE sweep_trials.id = ?", arguments: [trialID]
            ) else {
                throw StoreError(code: .notFound, message: "trial \(trialID) not found", field: "trial_id")
            }
            return id
        }
    }
}
