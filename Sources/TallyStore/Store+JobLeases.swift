import GRDB

extension Store {
    package func claimJobs(owner: String, nowMs: Int64, untilMs: Int64, reclaimingOwn: Bool) async throws -> [JobRecord] {
        try await pool.write { db in
            let rows = try Row.fetchAll(db, sql: """
                UPDATE jobs SET status = ?, lease_owner = ?, lease_expires_ms = ?, updated_at_ms = ?
                WHERE status IN (?, ?) AND (lease_expires_ms < ? OR (? AND lease_owner = ?))
                RETURNING *
                """, arguments: [JobRecord.pending, owner, untilMs, nowMs, JobRecord.pending, JobRecord.running, nowMs, reclaimingOwn, owner])
            return rows.map(Self.jobRecord).sorted { ($0.createdAtMs, $0.pk) < ($1.createdAtMs, $1.pk) }
        }
    }

    package func leaseJob(_ id: String, owner: String, nowMs: Int64, untilMs: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE jobs SET lease_owner = ?, lease_expires_ms = ?
                WHERE id = ? AND (lease_owner = ? OR lease_expires_ms < ?)
                """, arguments: [owner, untilMs, id, owner, nowMs])
            return db.changesCount == 1
        }
    }

    package func renewJobLeases(_ ids: [String], owner: String, untilMs: Int64) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await pool.write { db in
            var held: Set<String> = []
            for id in ids {
                try db.execute(sql: "UPDATE jobs SET lease_expires_ms = ? WHERE id = ? AND lease_owner = ?", arguments: [untilMs, id, owner])
                if db.changesCount == 1 { held.insert(id) }
            }
            return held
        }
    }

    package func releaseJobLeases(owner: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE jobs SET lease_expires_ms = 0 WHERE lease_owner = ?", arguments: [owner])
        }
    }
}
