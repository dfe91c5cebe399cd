import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// As ``Store/claimJobs(owner:nowMs:untilMs:reclaimingOwn:)``: the jobs are locked with `FOR UPDATE SKIP
    /// LOCKED`, so daemons claiming at once each take different ones, and none waits on another.
    package func claimJobs(owner: String, nowMs: Int64, untilMs: Int64, reclaimingOwn: Bool) async throws -> [JobRecord] {
        try await transaction { connection in
            try await Self.jobRecords(try await connection.query("""
                UPDATE jobs SET status = \(Int64(JobRecord.pending)), lease_owner = \(owner), lease_expires_ms = \(untilMs), updated_at_ms = \(nowMs)
                WHERE pk IN (
                    SELECT pk FROM jobs
                    WHERE status IN (\(Int64(JobRecord.pending)), \(Int64(JobRecord.running)))
                      AND (lease_expires_ms < \(nowMs) OR (\(reclaimingOwn) AND lease_owner = \(owner)))
                    ORDER BY created_at_ms, pk
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING \(unescaped: Self.jobColumns)
                """, logger: logger))
            .sorted { ($0.createdAtMs, $0.pk) < ($1.createdAtMs, $1.pk) }
        }
    }

    package func leaseJob(_ id: String, owner: String, nowMs: Int64, untilMs: Int64) async throws -> Bool {
        try await transaction { connection in
            let rows = try await connection.query("""
                UPDATE jobs SET lease_owner = \(owner), lease_expires_ms = \(untilMs)
                WHERE id = \(id) AND (lease_owner = \(owner) OR lease_expires_ms < \(nowMs))
                RETURNING pk
                """, logger: logger)
            return try await Self.first(Int64.self, rows) != nil
        }
    }

    package func renewJobLeases(_ ids: [String], owner: String, untilMs: Int64) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await transaction { connection in
            var held: Set<String> = []
            for try await id in try await connection.query("""
                UPDATE jobs SET lease_expires_ms = \(untilMs) WHERE id = ANY(\(ids)) AND lease_owner = \(owner) RETURNING id
                """, logger: logger).decode(String.self) {
                held.insert(id)
            }
            return held
        }
    }

    package func releaseJobLeases(owner: String) async throws {
        try await transaction { connection in
            try await connection.query("UPDATE jobs SET lease_expires_ms = 0 WHERE lease_owner = \(owner)", logger: logger)
        }
    }
}
