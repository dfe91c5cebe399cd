import Foundation
import GRDB

extension Store {
    /// Records a new job, pending.
    public func createJob(kind: String, config: [UInt8], progressTotal: Int64) async throws -> JobRecord {
        try await pool.write { db in
            let now = Identifiers.nowMs()
            try db.execute(
                sql: "INSERT INTO jobs (id, kind, status, config, progress_total, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [Identifiers.make(), kind, JobRecord.pending, Data(config), progressTotal, now, now]
            )
            return try Self.jobRecord(db, pk: db.lastInsertedRowID)
        }
    }

    static func jobPK(_ db: Database, _ id: String) throws -> Int64 {
        guard let pk = try Int64.fetchOne(db, sql: "SELECT pk FROM jobs WHERE id = ?", arguments: [id]) else {
            throw StoreError(code: .notFound, message: "job \(id) not found", field: "job_id")
        }
        return pk
    }

    static func jobRecord(_ db: Database, pk: Int64) throws -> JobRecord {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE pk = ?", arguments: [pk]) else {
            throw StoreError(code: .notFound, message: "job #\(pk) not found", field: "job_id")
        }
        return jobRecord(row)
    }

    static func jobRecord(_ row: Row) -> JobRecord {
        let config: Data = row["config"]
        let results: Data? = row["results"]
        return JobRecord(
            pk: row["pk"], id: row["id"], kind: row["kind"], status: row["status"], config: [UInt8](config),
            results: results.map { [UInt8]($0) }, error: row["error"], experimentID: row["experiment_id"],
            progressCurrent: row["progress_current"], progressTotal: row["progress_total"],
            createdAtMs: row["created_at_ms"], startedAtMs: row["started_at_ms"], completedAtMs: row["completed_at_ms"],
            updatedAtMs: row["updated_at_ms"]
        )
    }

    /// A job by id.
    public func job(_ id: String) async throws -> JobRecord {
        try await pool.read { db in try Self.jobRecord(db, pk: Self.jobPK(db, id)) }
    }

    /// Jobs, newest first, by status (any when empty) and kind (any when empty).
    public func listJobs(statuses: [Int], kind: String, pageSize: Int, pageToken: String) async throws -> Page<JobRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if !statuses.isEmpty {
            conditions.append("status IN (\(statuses.map(String.init).joined(separator: ",")))")
        }
        if !kind.isEmpty {
            conditions.append("kind = ?")
            arguments.append(kind.databaseValue)
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let finalArguments = arguments
        return try await pool.read { db in
            let total = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs \(whereClause)", arguments: StatementArguments(finalArguments)) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM jobs \(whereClause) ORDER BY created_at_ms DESC, pk DESC LIMIT ? OFFSET ?",
                arguments: StatementArguments(finalArguments + [size.databaseValue, offset.databaseValue])
            )
            let records = rows.map(Self.jobRecord)
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }

    /// Moves a job to running (keeping its first start time when it resumes).
    public func markJobRunning(_ id: String, progressTotal: Int64, experimentID: String) async throws -> JobRecord {
        try await pool.write { db in
            let pk = try Self.jobPK(db, id)
            let now = Identifiers.nowMs()
            try db.execute(
                sql: """
                    UPDATE jobs SET status = ?, progress_total = ?, experiment_id = ?,
                        started_at_ms = CASE WHEN started_at_ms = 0 THEN ? ELSE started_at_ms END, updated_at_ms = ?
                    WHERE pk = ?
                    """,
                arguments: [JobRecord.running, progressTotal, experimentID, now, now, pk]
            )
            return try Self.jobRecord(db, pk: pk)
        }
    }

    /// Ends a job with a terminal status; a job that has already finished keeps its status.
    /// - Returns: The job as it now is.
    public func finishJob(_ id: String, status: Int, error: String, results: [UInt8]?) async throws -> JobRecord {
        try await pool.write { db in
            let pk = try Self.jobPK(db, id)
            let now = Identifiers.nowMs()
            try db.execute(
                sql: "UPDATE jobs SET status = ?, error = ?, results = ?, completed_at_ms = ?, updated_at_ms = ? WHERE pk = ? AND status < ?",
                arguments: [status, error, results.map { Data($0) }, now, now, pk, JobRecord.completed]
            )
            return try Self.jobRecord(db, pk: pk)
        }
    }

    /// Stores one item's result (replacing an earlier one for the same model and item) and the
    /// job's progress.
    public func recordJobItem(jobPK: Int64, _ item: JobItemRecord, progressCurrent: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO job_items (job_pk, model, item_id, position, result, is_error) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [jobPK, item.model, item.itemID, item.position, Data(item.result), item.isError]
            )
            try db.execute(sql: "UPDATE jobs SET progress_current = ?, updated_at_ms = ? WHERE pk = ?", arguments: [progressCurrent, Identifiers.nowMs(), jobPK])
        }
    }

    /// Every stored item result of a job, in item order.
    public func jobItems(jobPK: Int64) async throws -> [JobItemRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT model, item_id, position, result, is_error FROM job_items WHERE job_pk = ? ORDER BY model, position", arguments: [jobPK])
                .map { JobItemRecord(model: $0["model"], itemID: $0["item_id"], position: $0["position"], result: [UInt8]($0["result"] as Data), isError: $0["is_error"]) }
        }
    }

    /// A page of a job's item results.
    public func listJobItems(jobID: String, model: String, errorsOnly: Bool, pageSize: Int, pageToken: String) async throws -> Page<JobItemRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        return try await pool.read { db in
            let pk = try Self.jobPK(db, jobID)
            var conditions = ["job_pk = ?"]
            var arguments: [DatabaseValue] = [pk.databaseValue]
            if !model.isEmpty {
                conditions.append("model = ?")
                arguments.append(model.databaseValue)
            }
            if errorsOnly { conditions.append("is_error = 1") }
            let whereClause = "WHERE " + conditions.joined(separator: " AND ")
            let total = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM job_items \(whereClause)", arguments: StatementArguments(arguments)) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT model, item_id, position, result, is_error FROM job_items \(whereClause) ORDER BY model, position LIMIT ? OFFSET ?",
                arguments: StatementArguments(arguments + [size.databaseValue, offset.databaseValue])
            )
            let items = rows.map { JobItemRecord(model: $0["model"], itemID: $0["item_id"], position: $0["position"], result: [UInt8]($0["result"] as Data), isError: $0["is_error"]) }
            return Page(items: items, nextPageToken: PageToken.next(offset: offset, count: items.count, total: total), totalCount: total)
        }
    }

    /// Deletes a job and its item results.
    /// - Throws: ``StoreError`` `failedPrecondition` while it is running.
    public func deleteJob(_ id: String) async throws {
        try await pool.write { db in
            let pk = try Self.jobPK(db, id)
            let status = try Int.fetchOne(db, sql: "SELECT status FROM jobs WHERE pk = ?", arguments: [pk]) ?? 0
            guard status != JobRecord.running else {
                throw StoreError(code: .failedPrecondition, message: "job \(id) is running; cancel it first", field: "job_id")
            }
            try db.execute(sql: "DELETE FROM jobs WHERE pk = ?", arguments: [pk])
        }
    }

    /// After a restart: jobs left running go back to pending (they resume from their stored item
    /// results). Returns every pending job, oldest first.
    public func jobsToResume() async throws -> [JobRecord] {
        try await pool.write { db in
            try db.execute(sql: "UPDATE jobs SET status = ?, updated_at_ms = ? WHERE status = ?", arguments: [JobRecord.pending, Identifiers.nowMs(), JobRecord.running])
            return try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE status = ? ORDER BY created_at_ms, pk", arguments: [JobRecord.pending])
                .map(Self.jobRecord)
        }
    }
}
