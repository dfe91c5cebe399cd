import NIOCore
import PostgresNIO
package import TallyStore

// The trials of sweep jobs, as Store+Sweeps.swift does them on SQLite.
extension PostgresStore {
    /// Inserts or replaces a sweep trial: like SQLite's `INSERT OR REPLACE`, a trial of the same
    /// job and number is replaced, and so is another row holding the same trial id.
    package func saveSweepTrial(jobPK: Int64, _ trial: SweepTrialRecord) async throws {
        try await transaction { connection in
            try await connection.query("""
                DELETE FROM sweep_trials WHERE id = \(trial.id) AND NOT (job_pk = \(jobPK) AND number = \(trial.number))
                """, logger: logger)
            try await connection.query("""
                INSERT INTO sweep_trials (job_pk, number, id, status, score, method_used, run_id, heartbeat_ms, trial)
                VALUES (\(jobPK), \(trial.number), \(trial.id), \(Int64(trial.status)), \(trial.score), \(trial.methodUsed),
                        \(trial.runID), \(trial.heartbeatMs), \(ByteBuffer(bytes: trial.trial)))
                ON CONFLICT (job_pk, number) DO UPDATE SET
                    id = EXCLUDED.id, status = EXCLUDED.status, score = EXCLUDED.score, method_used = EXCLUDED.method_used,
                    run_id = EXCLUDED.run_id, heartbeat_ms = EXCLUDED.heartbeat_ms, trial = EXCLUDED.trial
                """, logger: logger)
        }
    }

    package func setJobProgress(jobPK: Int64, current: Int64) async throws {
        try await read { connection in
            _ = try await connection.query(
                "UPDATE jobs SET progress_current = \(current), updated_at_ms = \(Identifiers.nowMs()) WHERE pk = \(jobPK)",
                logger: logger
            )
        }
    }

    package func sweepTrials(jobPK: Int64) async throws -> [SweepTrialRecord] {
        try await read { connection in
            let rows = try await connection.query("""
                SELECT number, id, status, score, method_used, run_id, heartbeat_ms, trial
                FROM sweep_trials WHERE job_pk = \(jobPK) ORDER BY number
                """, logger: logger)
            var trials: [SweepTrialRecord] = []
            for try await (number, id, status, score, methodUsed, runID, heartbeatMs, trial)
                in rows.decode((Int64, String, Int64, Double?, String, String, Int64, ByteBuffer).self)
            {
                trials.append(SweepTrialRecord(
                    number: number, id: id, status: Int(status), score: score, methodUsed: methodUsed, runID: runID,
                    heartbeatMs: heartbeatMs, trial: Array(trial.readableBytesView)
                ))
            }
            return trials
        }
    }

    package func sweepJobID(trialID: String) async throws -> String {
        try await read { connection in
            let rows = try await connection.query("""
                SELECT jobs.id FROM sweep_trials JOIN jobs ON jobs.pk = sweep_trials.job_pk WHERE sweep_trials.id = \(trialID)
                """, logger: logger)
            for try await id in rows.decode(String.self) { return id }
            throw StoreError(code: .notFound, message: "trial \(trialID) not found", field: "trial_id")
        }
    }
}
