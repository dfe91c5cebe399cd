import NIOCore
import PostgresNIO
package import TallyStore

// Background jobs and their per-item results, as Store+Jobs.swift does them on SQLite: the same
// records, orders, page tokens and errors. Writes that read before they write lock the job's row
// (`FOR UPDATE`), so that daemons sharing the database see the order SQLite's single writer
// gives.
extension PostgresStore {
    /// The columns of `jobs` that ``jobRecords(_:)`` decodes, in its order.
    static let jobColumns = """
        pk, id, kind, status, config, results, error, experiment_id, progress_current, progress_total,
        created_at_ms, started_at_ms, completed_at_ms, updated_at_ms
        """

    /// Decodes rows of ``jobColumns``.
    static func jobRecords(_ rows: PostgresRowSequence) async throws -> [JobRecord] {
        var records: [JobRecord] = []
        for try await (pk, id, kind, status, config, results, error, experimentID, current, total, created, started, completed, updated)
            in rows.decode((Int64, String, String, Int64, ByteBuffer, ByteBuffer?, String, String, Int64, Int64, Int64, Int64, Int64, Int64).self)
        {
            records.append(JobRecord(
                pk: pk, id: id, kind: kind, status: Int(status), config: Array(config.readableBytesView),
                results: results.map { Array($0.readableBytesView) }, error: error, experimentID: experimentID,
                progressCurrent: current, progressTotal: total,
                createdAtMs: created, startedAtMs: started, completedAtMs: completed, updatedAtMs: updated
            ))
        }
        return records
    }

    /// The job of `id`'s key, its row locked when `lock` (inside a transaction).
    /// - Throws: ``StoreError`` `notFound`.
    func jobPK(_ connection: PostgresConnection, _ id: String, lock: Bool = false) async throws -> Int64 {
        let rows = try await connection.query(
            "SELECT pk FROM jobs WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")", logger: logger
        )
        for try await pk in rows.decode(Int64.self) { return pk }
        throw StoreError(code: .notFound, message: "job \(id) not found", field: "job_id")
    }

    func jobRecord(_ connection: PostgresConnection, pk: Int64) async throws -> JobRecord {
        let rows = try await connection.query("SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE pk = \(pk)", logger: logger)
        guard let record = try await Self.jobRecords(rows).first else {
            throw StoreError(code: .notFound, message: "job #\(pk) not found", field: "job_id")
        }
        return record
    }

    package func createJob(kind: String, config: [UInt8], progressTotal: Int64) async throws -> JobRecord {
        let now = Identifiers.nowMs()
        return try await transaction { connection in
            let rows = try await connection.query("""
                INSERT INTO jobs (id, kind, status, config, progress_total, created_at_ms, updated_at_ms)
                VALUES (\(Identifiers.make()), \(kind), \(Int64(JobRecord.pending)), \(ByteBuffer(bytes: config)), \(progressTotal), \(now), \(now))
                RETURNING \(unescaped: Self.jobColumns)
                """, logger: logger)
            guard let record = try await Self.jobRecords(rows).first else {
                throw StoreError(code: .notFound, message: "the new job was not returned", field: "job_id")
            }
            return record
        }
    }

    package func job(_ id: String) async throws -> JobRecord {
        try await read { connection in
            let rows = try await connection.query("SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE id = \(id)", logger: logger)
            guard let record = try await Self.jobRecords(rows).first else {
                throw StoreError(code: .notFound, message: "job \(id) not found", field: "job_id")
            }
            return record
        }
    }

    package func listJobs(statuses: [Int], kind: String, pageSize: Int, pageToken: String) async throws -> Page<JobRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        var conditions: [String] = []
        var binds = PostgresBindings()
        if !statuses.isEmpty {
            binds.append(statuses.map(Int64.init))
            conditions.append("status = ANY($\(binds.count))")
        }
        if !kind.isEmpty {
            binds.append(kind)
            conditions.append("kind = $\(binds.count)")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var pageBinds = binds
        pageBinds.append(Int64(size))
        pageBinds.append(Int64(offset))
        let count = PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM jobs \(whereClause)", binds: binds)
        let page = PostgresQuery(
            unsafeSQL: """
                SELECT \(Self.jobColumns) FROM jobs \(whereClause)
                ORDER BY created_at_ms DESC, pk DESC LIMIT $\(binds.count + 1) OFFSET $\(binds.count + 2)
                """,
            binds: pageBinds
        )
        return try await transaction { connection in
            // One snapshot for the count and the page, as SQLite's read transaction gives.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            var total: Int64 = 0
            for try await value in try await connection.query(count, logger: logger).decode(Int64.self) { total = value }
            let records = try await Self.jobRecords(try await connection.query(page, logger: logger))
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }

    package func markJobRunning(_ id: String, progressTotal: Int64, experimentID: String) async throws -> JobRecord {
        try await transaction { connection in
            let pk = try await jobPK(connection, id, lock: true)
            let now = Identifiers.nowMs()
            try await connection.query("""
                UPDATE jobs SET status = \(Int64(JobRecord.running)), progress_total = \(progressTotal), experiment_id = \(experimentID),
                    started_at_ms = CASE WHEN started_at_ms = 0 THEN \(now) ELSE started_at_ms END, updated_at_ms = \(now)
                WHERE pk = \(pk)
                """, logger: logger)
            return try await jobRecord(connection, pk: pk)
        }
    }

    package func finishJob(_ id: String, status: Int, error: String, results: [UInt8]?) async throws -> JobRecord {
        try await transaction { connection in
            let pk = try await jobPK(connection, id, lock: true)
            let now = Identifiers.nowMs()
            try await connection.query("""
                UPDATE jobs SET status = \(Int64(status)), error = \(error), results = \(results.map { ByteBuffer(bytes: $0) }),
                    completed_at_ms = \(now), updated_at_ms = \(now)
                WHERE pk = \(pk) AND status < \(Int64(JobRecord.completed))
                """, logger: logger)
            return try await jobRecord(connection, pk: pk)
        }
    }

    package func recordJobItem(jobPK: Int64, _ item: JobItemRecord, progressCurrent: Int64) async throws {
        try await transaction { connection in
            try await connection.query("""
                INSERT INTO job_items (job_pk, model, item_id, position, result, is_error)
                VALUES (\(jobPK), \(item.model), \(item.itemID), \(item.position), \(ByteBuffer(bytes: item.result)), \(item.isError))
                ON CONFLICT (job_pk, model, item_id) DO UPDATE
                    SET position = EXCLUDED.position, result = EXCLUDED.result, is_error = EXCLUDED.is_error
                """, logger: logger)
            try await connection.query(
                "UPDATE jobs SET progress_current = \(progressCurrent), updated_at_ms = \(Identifiers.nowMs()) WHERE pk = \(jobPK)",
                logger: logger
            )
        }
    }

    static func jobItemRecords(_ rows: PostgresRowSequence) async throws -> [JobItemRecord] {
        var items: [JobItemRecord] = []
        for try await (model, itemID, position, result, isError) in rows.decode((String, String, Int64, ByteBuffer, Bool).self) {
            items.append(JobItemRecord(model: model, itemID: itemID, position: position, result: Array(result.readableBytesView), isError: isError))
        }
        return items
    }

    package func jobItems(jobPK: Int64) async throws -> [JobItemRecord] {
        try await read { connection in
            try await Self.jobItemRecords(try await connection.query("""
                SELECT model, item_id, position, result, is_error FROM job_items WHERE job_pk = \(jobPK) ORDER BY model, position
                """, logger: logger))
        }
    }

    package func listJobItems(jobID: String, model: String, errorsOnly: Bool, pageSize: Int, pageToken: String) async throws -> Page<JobItemRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        return try await transaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            let pk = try await jobPK(connection, jobID)
            var conditions = ["job_pk = $1"]
            var binds = PostgresBindings()
            binds.append(pk)
            if !model.isEmpty {
                binds.append(model)
                conditions.append("model = $\(binds.count)")
            }
            if errorsOnly { conditions.append("is_error") }
            let whereClause = "WHERE " + conditions.joined(separator: " AND ")
            var total: Int64 = 0
            for try await value in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM job_items \(whereClause)", binds: binds), logger: logger
            ).decode(Int64.self) {
                total = value
            }
            var pageBinds = binds
            pageBinds.append(Int64(size))
            pageBinds.append(Int64(offset))
            let items = try await Self.jobItemRecords(try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT model, item_id, position, result, is_error FROM job_items \(whereClause)
                        ORDER BY model, position LIMIT $\(binds.count + 1) OFFSET $\(binds.count + 2)
                        """,
                    binds: pageBinds
                ),
                logger: logger
            ))
            return Page(items: items, nextPageToken: PageToken.next(offset: offset, count: items.count, total: total), totalCount: total)
        }
    }

    package func deleteJob(_ id: String) async throws {
        try await transaction { connection in
            var status: Int64 = 0
            var found = false
            for try await value in try await connection.query("SELECT status FROM jobs WHERE id = \(id) FOR UPDATE", logger: logger).decode(Int64.self) {
                status = value
                found = true
            }
            guard found else {
                throw StoreError(code: .notFound, message: "job \(id) not found", field: "job_id")
            }
            guard status != Int64(JobRecord.running) else {
                throw StoreError(code: .failedPrecondition, message: "job \(id) is running; cancel it first", field: "job_id")
            }
            try await connection.query("DELETE FROM jobs WHERE id = \(id)", logger: logger)
        }
    }

    package func jobsToResume() async throws -> [JobRecord] {
        try await transaction { connection in
            try await connection.query("""
                UPDATE jobs SET status = \(Int64(JobRecord.pending)), updated_at_ms = \(Identifiers.nowMs())
                WHERE status = \(Int64(JobRecord.running))
                """, logger: logger)
            return try await Self.jobRecords(try await connection.query("""
                SELECT \(unescaped: Self.jobColumns) FROM jobs WHERE status = \(Int64(JobRecord.pending)) ORDER BY created_at_ms, pk
                """, logger: logger))
        }
    }
}
