import PostgresNIO
package import TallyStore

// Locks: an operation that locks an experiment's row and a run's locks the experiment first
// (startRun, deleteRun), so that two of them never wait on each other.

extension PostgresStore {
    package func startRun(_ run: NewRun) async throws -> RunRecord {
        try await retryingTransaction { connection in try await Self.startRun(connection, run, logger: self.logger) }
    }

    /// As SQLite's `startRun`: a client-made id already used in the same experiment returns that
    /// run; the insert skips on an id taken meanwhile by another transaction, then answers the same.
    static func startRun(_ connection: PostgresConnection, _ run: NewRun, logger: Logger) async throws -> RunRecord {
        let experimentPK: Int64
        if run.createExperiment, run.experimentID == nil, let name = run.experimentName {
            experimentPK = try await createExperiment(
                connection, NewExperiment(name: name, createdBy: run.experimentCreatedBy), getIfExists: true, logger: logger
            )
        } else {
            experimentPK = try await Self.experimentPK(connection, id: run.experimentID, name: run.experimentName, logger: logger)
        }
        func existing(_ id: String) async throws -> RunRecord? {
            var found: (Int64, Int64)?
            for try await row in try await connection.query("SELECT pk, experiment_pk FROM runs WHERE id = \(id)", logger: logger).decode((Int64, Int64).self) {
                found = row
            }
            guard let (pk, runExperimentPK) = found else { return nil }
            guard runExperimentPK == experimentPK else {
                throw StoreError(code: .alreadyExists, message: "run \(id) exists in another experiment", field: "run_id")
            }
            return try await runRecords(connection, pks: [pk], logger: logger).first
        }
        if let id = run.id, let record = try await existing(id) {
            return record
        }
        // Locks the experiment's row before the run's (see above); an experiment deleted
        // meanwhile is not found, as it would be after SQLite's writer deleted it.
        let touched = try await first(String.self, connection.query(
            "UPDATE experiments SET updated_at_ms = \(Identifiers.nowMs()) WHERE pk = \(experimentPK) RETURNING id", logger: logger
        ))
        guard let experimentID = touched else {
            _ = try await Self.experimentPK(connection, id: run.experimentID, name: run.experimentName, logger: logger)
            throw StoreError.notFound("experiment", "#\(experimentPK)")
        }
        var parentPK: Int64?
        if let parent = run.parentRunID {
            // Shared with other starts, so that the parent is not deleted before the child commits.
            parentPK = try await first(Int64.self, connection.query("SELECT pk FROM runs WHERE id = \(parent) FOR KEY SHARE", logger: logger))
            if parentPK == nil {
                throw StoreError(code: .notFound, message: "run \(parent) not found", field: "parent_run_id")
            }
        }
        let id = run.id ?? Identifiers.make()
        let startedAt = Identifiers.nowMs()
        let name = run.name.isEmpty ? RunNames.make(id: id) : run.name
        let inserted = try await first(Int64.self, connection.query("""
            INSERT INTO runs (id, experiment_pk, parent_pk, name, status, started_at_ms, created_by)
            VALUES (\(id), \(experimentPK), \(parentPK), \(name), \(Int64(RunState.running.rawValue)), \(startedAt), \(run.createdBy))
            ON CONFLICT (id) DO NOTHING RETURNING pk
            """, logger: logger))
        guard let pk = inserted else {
            // Started meanwhile by another transaction (a journal delivered twice at once).
            if let record = try await existing(id) { return record }
            throw StoreError(code: .alreadyExists, message: "run \(id) exists in another experiment", field: "run_id")
        }
        for (key, value) in run.tags {
            try await connection.query("INSERT INTO run_tags (run_pk, key, value) VALUES (\(pk), \(key), \(value))", logger: logger)
        }
        for key in run.params.keys.sorted() {
            try await insertParam(connection, runPK: pk, key: key, value: run.params[key]!, logger: logger)
        }
        return RunRecord(
            pk: pk, id: id, experimentPK: experimentPK, experimentID: experimentID, parentID: parentPK == nil ? nil : run.parentRunID,
            name: name, state: .running, error: "", startedAtMs: startedAt, completedAtMs: 0,
            tags: run.tags, params: run.params, metrics: [], childCount: 0, lastContactMs: 0, createdBy: run.createdBy
        )
    }

    package func setRunNote(id: String, note: String) async throws -> RunRecord {
        try await transaction { connection in
            let pk = try await Self.runPK(connection, id: id, forUpdate: true, logger: self.logger)
            try await connection.query("UPDATE runs SET note = \(note) WHERE pk = \(pk)", logger: self.logger)
            return try await Self.runRecords(connection, pks: [pk], logger: self.logger)[0]
        }
    }

    package func endRun(id: String, state: RunState, error: String) async throws -> RunRecord {
        try await transaction { connection in try await Self.endRun(connection, id: id, state: state, error: error, logger: self.logger) }
    }

    static func endRun(_ connection: PostgresConnection, id: String, state: RunState, error: String, logger: Logger) async throws -> RunRecord {
        let pk = try await runPK(connection, id: id, forUpdate: true, logger: logger)
        var current: Int?
        var storedError = ""
        for try await (status, text) in try await connection.query("SELECT status, error FROM runs WHERE pk = \(pk)", logger: logger).decode((Int64, String).self) {
            current = Int(status)
            storedError = text
        }
        if current == state.rawValue, storedError == (state == .failed ? error : "") {
            return try await runRecords(connection, pks: [pk], logger: logger)[0]
        }
        guard current == RunState.running.rawValue || current == RunState.crashed.rawValue else {
            let name = current.flatMap(RunState.init(rawValue:))?.name ?? "ended"
            throw StoreError(code: .failedPrecondition, message: "run \(id) has already ended (\(name))", field: "run_id")
        }
        try await connection.query("""
            UPDATE runs SET status = \(Int64(state.rawValue)), error = \(state == .failed ? error : ""), completed_at_ms = \(Identifiers.nowMs()) WHERE pk = \(pk)
            """, logger: logger)
        return try await runRecords(connection, pks: [pk], logger: logger)[0]
    }

    package func resumeRun(id: String) async throws -> RunRecord {
        try await transaction { connection in try await Self.resumeRun(connection, id: id, logger: self.logger) }
    }

    static func resumeRun(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> RunRecord {
        let pk = try await runPK(connection, id: id, forUpdate: true, logger: logger)
        let running = Int64(RunState.running.rawValue)
        try await connection.query(
            "UPDATE runs SET status = \(running), error = '', completed_at_ms = 0 WHERE pk = \(pk) AND status <> \(running)", logger: logger
        )
        return try await runRecords(connection, pks: [pk], logger: logger)[0]
    }

    /// As SQLite's: only runs still running are marked (the update's condition is checked again
    /// on the row's latest version when another transaction changed it meanwhile).
    package func markCrashed(_ runs: [(id: String, lastContactMs: Int64)]) async throws -> [String] {
        guard !runs.isEmpty else { return [] }
        return try await retryingTransaction { connection in
            var marked: [String] = []
            let running = Int64(RunState.running.rawValue)
            for run in runs {
                let rows = try await connection.query("""
                    UPDATE runs SET status = \(Int64(RunState.crashed.rawValue)), last_contact_ms = GREATEST(last_contact_ms, \(run.lastContactMs))
                    WHERE id = \(run.id) AND status = \(running) RETURNING pk
                    """, logger: self.logger)
                if try await Self.first(Int64.self, rows) != nil { marked.append(run.id) }
            }
            return marked
        }
    }

    package func recordWriter(id: String, contactMs: Int64) async throws -> WriterContact {
        try await transaction { connection in try await Self.recordWriter(connection, id: id, contactMs: contactMs, logger: self.logger) }
    }

    static func recordWriter(_ connection: PostgresConnection, id: String, contactMs: Int64, logger: Logger) async throws -> WriterContact {
        var found: (Int64, Int64)?
        for try await row in try await connection.query("SELECT pk, status FROM runs WHERE id = \(id) FOR UPDATE", logger: logger).decode((Int64, Int64).self) {
            found = row
        }
        guard let (pk, status) = found else { return .missing }
        if try await first(Int32.self, connection.query("SELECT 1 FROM sweep_trials WHERE run_id = \(id) LIMIT 1", logger: logger)) != nil {
            return .ownedBySweep
        }
        let crashed = status == Int64(RunState.crashed.rawValue)
        try await connection.query("""
            UPDATE runs SET last_contact_ms = GREATEST(last_contact_ms, \(contactMs), started_at_ms),
                status = \(crashed ? Int64(RunState.running.rawValue) : status) WHERE pk = \(pk)
            """, logger: logger)
        return crashed ? .revived(try await runRecords(connection, pks: [pk], logger: logger)[0]) : .recorded
    }

    package func recordContacts(_ runs: [(id: String, lastContactMs: Int64)]) async throws {
        guard !runs.isEmpty else { return }
        try await retryingTransaction { connection in
            for run in runs {
                try await connection.query(
                    "UPDATE runs SET last_contact_ms = \(run.lastContactMs) WHERE id = \(run.id) AND last_contact_ms < \(run.lastContactMs)",
                    logger: self.logger
                )
            }
        }
    }

    package func runsWithWriters() async throws -> [(id: String, lastContactMs: Int64)] {
        try await read { connection in
            var runs: [(id: String, lastContactMs: Int64)] = []
            for try await (id, contact) in try await connection.query("""
                SELECT id, last_contact_ms FROM runs WHERE status = \(Int64(RunState.running.rawValue)) AND last_contact_ms > 0 ORDER BY pk
                """, logger: self.logger).decode((String, Int64).self) {
                runs.append((id: id, lastContactMs: contact))
            }
            return runs
        }
    }

    package func run(id: String) async throws -> RunRecord {
        try await snapshot { connection in
            let pk = try await Self.runPK(connection, id: id, logger: self.logger)
            guard let record = try await Self.runRecords(connection, pks: [pk], logger: self.logger).first else {
                throw StoreError(code: .notFound, message: "run \(id) not found", field: "run_id")
            }
            return record
        }
    }

    package func runState(id: String) async throws -> (pk: Int64, state: RunState) {
        try await read { connection in
            var found: (Int64, Int64)?
            for try await row in try await connection.query("SELECT pk, status FROM runs WHERE id = \(id)", logger: self.logger).decode((Int64, Int64).self) {
                found = row
            }
            guard let (pk, status) = found else {
                throw StoreError(code: .notFound, message: "run \(id) not found", field: "run_id")
            }
            return (pk, RunState(rawValue: Int(status)) ?? .running)
        }
    }

    /// As ``Store/deleteRun(id:force:blobs:)``: the run and its descendants go with their params,
    /// metrics and artifact rows in one transaction (by cascade), holding the experiment's row
    /// and the run's, so that no child starts under it meanwhile; the blobs nothing references
    /// any more are removed after it commits.
    package func deleteRun(id: String, force: Bool, blobs: (any BlobStore)?) async throws -> Deletion {
        let deletion = try await retryingTransaction { connection in
            let found = try await Self.first(Int64.self, connection.query("SELECT experiment_pk FROM runs WHERE id = \(id)", logger: self.logger))
            guard let experimentPK = found else {
                throw StoreError(code: .notFound, message: "run \(id) not found", field: "run_id")
            }
            try await Self.touchExperiment(connection, pk: experimentPK, logger: self.logger)
            let pk = try await Self.runPK(connection, id: id, forUpdate: true, logger: self.logger)
            var tree: [Int64] = []
            for try await runPK in try await connection.query("""
                WITH RECURSIVE tree(pk) AS (SELECT \(pk)::bigint UNION ALL SELECT r.pk FROM runs r JOIN tree t ON r.parent_pk = t.pk)
                SELECT pk FROM tree
                """, logger: self.logger).decode(Int64.self) {
                tree.append(runPK)
            }
            if !force {
                let running = try await Self.first(Int64.self, connection.query(
                    "SELECT COUNT(*) FROM runs WHERE pk = ANY(\(tree)) AND status = \(Int64(RunState.running.rawValue))", logger: self.logger
                )) ?? 0
                if running > 0 {
                    throw StoreError(code: .failedPrecondition, message: "run \(id) or one of its children is running; end it first or delete with force", field: "run_id")
                }
            }
            let artifacts = try await Self.first(Int64.self, connection.query(
                "SELECT COUNT(*) FROM artifacts WHERE run_pk = ANY(\(tree))", logger: self.logger
            )) ?? 0
            var candidates = Set<String>()
            for try await sha256 in try await connection.query("""
                SELECT sha256 FROM artifacts WHERE run_pk = ANY(\(tree))
                UNION SELECT f.sha256 FROM artifact_files f JOIN artifacts a ON a.pk = f.artifact_pk WHERE a.run_pk = ANY(\(tree))
                """, logger: self.logger).decode(String.self) {
                candidates.insert(sha256)
            }
            try await connection.query("DELETE FROM runs WHERE pk = \(pk)", logger: self.logger)
            return Deletion(runs: Int64(tree.count), artifacts: artifacts, blobCandidates: candidates)
        }
        await collectAfterDeletion(deletion, blobs: blobs, of: "run \(id)")
        return deletion
    }

    package func setRunTags(id: String, set tags: [String: String], remove keys: [String], maxTags: Int) async throws -> RunRecord {
        try await transaction { connection in
            try await Self.setRunTags(connection, id: id, set: tags, remove: keys, maxTags: maxTags, logger: self.logger)
        }
    }

    /// As SQLite's: the run's row is locked, so the count checked is the one committed.
    static func setRunTags(
        _ connection: PostgresConnection, id: String, set tags: [String: String], remove keys: [String], maxTags: Int, logger: Logger
    ) async throws -> RunRecord {
        let pk = try await runPK(connection, id: id, forUpdate: true, logger: logger)
        for key in keys {
            try await connection.query("DELETE FROM run_tags WHERE run_pk = \(pk) AND key = \(key)", logger: logger)
        }
        for (key, value) in tags {
            try await connection.query("""
                INSERT INTO run_tags (run_pk, key, value) VALUES (\(pk), \(key), \(value))
                ON CONFLICT (run_pk, key) DO UPDATE SET value = excluded.value
                """, logger: logger)
        }
        let count = try await first(Int64.self, connection.query("SELECT COUNT(*) FROM run_tags WHERE run_pk = \(pk)", logger: logger)) ?? 0
        if count > maxTags {
            throw StoreError(code: .invalidArgument, message: "a run holds at most \(maxTags) tags; this would make \(count)", field: "tags")
        }
        return try await runRecords(connection, pks: [pk], logger: logger)[0]
    }

    package func listRuns(experimentIDs: [String], parentRunID: String?, pageSize: Int, pageToken: String) async throws -> Page<RunRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        return try await snapshot { connection in
            var conditions: [String] = []
            var sql = SQLBindings()
            if !experimentIDs.isEmpty {
                var pks: [Int64] = []
                for id in experimentIDs {
                    pks.append(try await Self.experimentPK(connection, id: id, name: nil, logger: self.logger))
                }
                conditions.append("r.experiment_pk = ANY(\(sql.bind(pks)))")
            }
            if let parent = parentRunID {
                let parentPK = try await Self.runPK(connection, id: parent, field: "parent_run_id", logger: self.logger)
                conditions.append("r.parent_pk = \(sql.bind(parentPK))")
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let total = try await Self.first(Int64.self, connection.query(
                PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM runs r \(whereClause)", binds: sql.bindings), logger: self.logger
            )) ?? 0
            let limit = sql.bind(Int64(size))
            let skip = sql.bind(Int64(offset))
            var pks: [Int64] = []
            for try await pk in try await connection.query(PostgresQuery(
                unsafeSQL: "SELECT r.pk FROM runs r \(whereClause) ORDER BY r.started_at_ms DESC, r.pk DESC LIMIT \(limit) OFFSET \(skip)",
                binds: sql.bindings
            ), logger: self.logger).decode(Int64.self) {
                pks.append(pk)
            }
            let records = try await Self.runRecords(connection, pks: pks, logger: self.logger)
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }

    package func logParams(runID: String, params: [String: ParamValueRecord], requireRunning: Bool) async throws -> Int {
        try await transaction { connection in
            try await Self.logParams(connection, runID: runID, params: params, requireRunning: requireRunning, logger: self.logger)
        }
    }

    /// As SQLite's: the run's row is locked, so two writers of one key are checked one after the other.
    static func logParams(
        _ connection: PostgresConnection, runID: String, params: [String: ParamValueRecord], requireRunning: Bool, logger: Logger
    ) async throws -> Int {
        var found: (Int64, Int64)?
        for try await row in try await connection.query("SELECT pk, status FROM runs WHERE id = \(runID) FOR UPDATE", logger: logger).decode((Int64, Int64).self) {
            found = row
        }
        guard let (pk, status) = found else {
            throw StoreError(code: .notFound, message: "run \(runID) not found", field: "run_id")
        }
        var stored = 0
        for key in params.keys.sorted() {
            let value = params[key]!
            var existing: ParamValueRecord?
            for try await (type, text, int, num) in try await connection.query(
                "SELECT type, text_value, int_value, num_value FROM params WHERE run_pk = \(pk) AND key = \(key)", logger: logger
            ).decode((Int64, String?, Int64?, Double?).self) {
                existing = paramValue(type: type, text: text, int: int, num: num)
            }
            if let existing {
                if !Store.sameParam(existing, value) {
                    throw StoreError(
                        code: .failedPrecondition,
                        message: "param \"\(key)\" is already logged with value \(Store.describe(existing)); params are immutable (tried \(Store.describe(value)))",
                        field: key
                    )
                }
                continue
            }
            try await insertParam(connection, runPK: pk, key: key, value: value, logger: logger)
            stored += 1
        }
        if requireRunning, stored > 0, status != Int64(RunState.running.rawValue), status != Int64(RunState.crashed.rawValue) {
            // Rolls the transaction (or the write's savepoint) back.
            throw StoreError(code: .failedPrecondition, message: "run \(runID) has ended; params can only be logged to a running run", field: "run_id")
        }
        return stored
    }

    /// Stores one param, split into the typed columns (``PostgresSchema``).
    static func insertParam(_ connection: PostgresConnection, runPK: Int64, key: String, value: ParamValueRecord, logger: Logger) async throws {
        var text: String?
        var int: Int64?
        var num: Double?
        switch value {
        case .string(let value): text = value
        case .int(let value): (int, num) = (value, Double(value))
        case .double(let value): num = value.isNaN ? nil : value
        case .bool(let value): (int, num) = (value ? 1 : 0, value ? 1 : 0)
        }
        try await connection.query("""
            INSERT INTO params (run_pk, key, type, text_value, int_value, num_value)
            VALUES (\(runPK), \(key), \(Int64(value.typeCode)), \(text), \(int), \(num))
            """, logger: logger)
    }
}
