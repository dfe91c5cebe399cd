package import GRDB

extension Store {

    /// Starts a run, status running.
    ///
    /// With a client-made ``NewRun/id`` that an existing run of the same experiment has, that
    /// run is returned unchanged (a journal's start delivered again).
    /// - Throws: ``StoreError`` `notFound` for a missing experiment or parent run;
    ///   `alreadyExists` when the id is another experiment's run.
    public func startRun(_ run: NewRun) async throws -> RunRecord {
        try await pool.write { db in try Self.startRun(db, run) }
    }

    static func startRun(_ db: Database, _ run: NewRun) throws -> RunRecord {
        let experimentPK: Int64
        if run.createExperiment, run.experimentID == nil, let name = run.experimentName {
            experimentPK = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM experiments WHERE name = ?"), arguments: [name])
                ?? Self.createExperiment(db, NewExperiment(name: name, createdBy: run.experimentCreatedBy), getIfExists: true).pk
        } else {
            experimentPK = try Self.experimentPK(db, id: run.experimentID, name: run.experimentName)
        }
        if let id = run.id, let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, experiment_pk FROM runs WHERE id = ?"), arguments: [id]) {
            guard (existing["experiment_pk"] as Int64) == experimentPK else {
                throw StoreError(code: .alreadyExists, message: "run \(id) exists in another experiment", field: "run_id")
            }
            return try Self.runRecords(db, pks: [existing["pk"]])[0]
        }
        var parentPK: Int64?
        if let parent = run.parentRunID {
            parentPK = try Self.runPK(db, id: parent, field: "parent_run_id")
        }
        let id = run.id ?? Identifiers.make()
        let startedAt = Identifiers.nowMs()
        let name = run.name.isEmpty ? RunNames.make(id: id) : run.name
        try db.cachedStatement(sql: "INSERT INTO runs (id, experiment_pk, parent_pk, name, status, started_at_ms, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)").execute(
            arguments: [id, experimentPK, parentPK, name, RunState.running.rawValue, startedAt, run.createdBy]
        )
        let pk = db.lastInsertedRowID
        for (key, value) in run.tags {
            try db.cachedStatement(sql: "INSERT INTO run_tags (run_pk, key, value) VALUES (?, ?, ?)").execute(arguments: [pk, key, value])
        }
        for key in run.params.keys.sorted() {  // a new run has none yet
            let value = run.params[key]!
            try db.cachedStatement(sql: "INSERT INTO params (run_pk, key, type, value) VALUES (?, ?, ?, ?)")
                .execute(arguments: [pk, key, value.typeCode, databaseValue(value)])
        }
        try Self.touchExperiment(db, pk: experimentPK)
        // The new run as stored, without reading it back: only its experiment's id is looked up.
        guard let experimentID = try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM experiments WHERE pk = ?"), arguments: [experimentPK]) else {
            throw StoreError.notFound("experiment", "#\(experimentPK)")
        }
        return RunRecord(
            pk: pk, id: id, experimentPK: experimentPK, experimentID: experimentID, parentID: parentPK == nil ? nil : run.parentRunID,
            name: name, state: .running, error: "", startedAtMs: startedAt, completedAtMs: 0,
            tags: run.tags, params: run.params, metrics: [], childCount: 0, lastContactMs: 0, createdBy: run.createdBy
        )
    }

    /// Sets a run's note (empty clears it) and returns the run.
    /// - Throws: ``StoreError`` `notFound`.
    public func setRunNote(id: String, note: String) async throws -> RunRecord {
        try await pool.write { db in
            let pk = try Self.runPK(db, id: id)
            try db.execute(sql: "UPDATE runs SET note = ? WHERE pk = ?", arguments: [note, pk])
            return try Self.runRecords(db, pks: [pk])[0]
        }
    }

    /// Ends a running (or crashed) run. Ending a run again as it ended (same status and error)
    /// returns it unchanged.
    /// - Throws: ``StoreError`` `notFound`, or `failedPrecondition` when it has ended otherwise.
    public func endRun(id: String, state: RunState, error: String) async throws -> RunRecord {
        try await pool.write { db in try Self.endRun(db, id: id, state: state, error: error) }
    }

    static func endRun(_ db: Database, id: String, state: RunState, error: String) throws -> RunRecord {
        let pk = try Self.runPK(db, id: id)
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, error FROM runs WHERE pk = ?"), arguments: [pk])
        let current: Int? = row?["status"]
        let storedError: String = row?["error"] ?? ""
        // The same end again (a journal delivered twice) is answered with the run as it is.
        if current == state.rawValue, storedError == (state == .failed ? error : "") {
            return try Self.runRecords(db, pks: [pk])[0]
        }
        guard current == RunState.running.rawValue || current == RunState.crashed.rawValue else {
            let name = current.flatMap(RunState.init(rawValue:))?.name ?? "ended"
            throw StoreError(code: .failedPrecondition, message: "run \(id) has already ended (\(name))", field: "run_id")
        }
        try db.cachedStatement(sql: "UPDATE runs SET status = ?, error = ?, completed_at_ms = ? WHERE pk = ?").execute(
            arguments: [state.rawValue, state == .failed ? error : "", Identifiers.nowMs(), pk]
        )
        return try Self.runRecords(db, pks: [pk])[0]
    }

    /// Reopens a run that has ended or crashed: status running again, no end time or error.
    /// A running run is returned unchanged.
    /// - Throws: ``StoreError`` `notFound`.
    public func resumeRun(id: String) async throws -> RunRecord {
        try await pool.write { db in try Self.resumeRun(db, id: id) }
    }

    static func resumeRun(_ db: Database, id: String) throws -> RunRecord {
        let pk = try Self.runPK(db, id: id)
        try db.cachedStatement(sql: "UPDATE runs SET status = ?, error = '', completed_at_ms = 0 WHERE pk = ? AND status != ?").execute(
            arguments: [RunState.running.rawValue, pk, RunState.running.rawValue]
        )
        return try Self.runRecords(db, pks: [pk])[0]
    }

    /// Marks running runs crashed, each with the last time its writer was heard from. Runs that
    /// are no longer running (ended meanwhile) or no longer exist are left alone.
    /// - Returns: The ids of the runs marked.
    public func markCrashed(_ runs: [(id: String, lastContactMs: Int64)]) async throws -> [String] {
        guard !runs.isEmpty else { return [] }
        return try await pool.write { db in
            var marked: [String] = []
            for run in runs {
                try db.cachedStatement(sql: "UPDATE runs SET status = ?, last_contact_ms = MAX(last_contact_ms, ?) WHERE id = ? AND status = ?").execute(
                    arguments: [RunState.crashed.rawValue, run.lastContactMs, run.id, RunState.running.rawValue]
                )
                if db.changesCount > 0 { marked.append(run.id) }
            }
            return marked
        }
    }

    /// A writer streams to the run: records the time, and makes a crashed run running again.
    public func recordWriter(id: String, contactMs: Int64) async throws -> WriterContact {
        try await pool.write { db in try Self.recordWriter(db, id: id, contactMs: contactMs) }
    }

    static func recordWriter(_ db: Database, id: String, contactMs: Int64) throws -> WriterContact {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT pk, status FROM runs WHERE id = ?"), arguments: [id]) else {
            return .missing
        }
        let pk: Int64 = row["pk"]
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM sweep_trials WHERE run_id = ? LIMIT 1"), arguments: [id]) ?? false {
            return .ownedBySweep
        }
        let crashed = (row["status"] as Int) == RunState.crashed.rawValue
        try db.cachedStatement(sql: "UPDATE runs SET last_contact_ms = MAX(last_contact_ms, ?, started_at_ms), status = ? WHERE pk = ?").execute(
            arguments: [contactMs, crashed ? RunState.running.rawValue : row["status"] as Int, pk]
        )
        return crashed ? .revived(try Self.runRecords(db, pks: [pk])[0]) : .recorded
    }

    /// Records when the writers of running runs were last heard from (never moving a time back).
    public func recordContacts(_ runs: [(id: String, lastContactMs: Int64)]) async throws {
        guard !runs.isEmpty else { return }
        try await pool.write { db in
            for run in runs {
                try db.cachedStatement(sql: "UPDATE runs SET last_contact_ms = ? WHERE id = ? AND last_contact_ms < ?").execute(
                    arguments: [run.lastContactMs, run.id, run.lastContactMs]
                )
            }
        }
    }

    /// Running runs that a writer has streamed to (a recorded contact), with that contact time:
    /// the runs whose writers the daemon waits for after a restart.
    public func runsWithWriters() async throws -> [(id: String, lastContactMs: Int64)] {
        try await pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, last_contact_ms FROM runs WHERE status = ? AND last_contact_ms > 0"),
                arguments: [RunState.running.rawValue]
            ).map { (id: $0["id"], lastContactMs: $0["last_contact_ms"]) }
        }
    }

    /// A run with its params, metric summaries and tags.
    /// - Throws: ``StoreError`` `notFound`.
    public func run(id: String) async throws -> RunRecord {
        try await pool.read { db in
            try Self.runRecords(db, pks: [Self.runPK(db, id: id)])[0]
        }
    }

    /// The state of a run, for checks on the write path.
    public func runState(id: String) async throws -> (pk: Int64, state: RunState) {
        try await pool.read { db in
            let pk = try Self.runPK(db, id: id)
            let status = try Int.fetchOne(db.cachedStatement(sql: "SELECT status FROM runs WHERE pk = ?"), arguments: [pk]) ?? 0
            return (pk, RunState(rawValue: status) ?? .running)
        }
    }

    static func runPK(_ db: Database, id: String, field: String = "run_id") throws -> Int64 {
        guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM runs WHERE id = ?"), arguments: [id]) else {
            throw StoreError(code: .notFound, message: "run \(id) not found", field: field)
        }
        return pk
    }

    static func touchExperiment(_ db: Database, pk: Int64) throws {
        try db.cachedStatement(sql: "UPDATE experiments SET updated_at_ms = ? WHERE pk = ?").execute(arguments: [Identifiers.nowMs(), pk])
    }

    /// Loads full run records, in the order of `pks`.
    package static func runRecords(_ db: Database, pks: [Int64]) throws -> [RunRecord] {
        guard !pks.isEmpty else { return [] }
        var records: [Int64: RunRecord] = [:]
        for chunk in pks.chunked(into: 500) {
            // One run (a write's answer): statements prepared once and cached; several: a list.
            let list = chunk.map(String.init).joined(separator: ",")
            func rows(_ select: String, _ tail: String = "") throws -> [Row] {
                if chunk.count == 1 {
                    return try Row.fetchAll(db.cachedStatement(sql: select + " = ?" + tail), arguments: [chunk[0]])
                }
                return try Row.fetchAll(db, sql: select + " IN (\(list))" + tail)
            }
            for row in try rows("""
                SELECT r.*, e.id AS experiment_id, p.id AS parent_id,
                       (SELECT COUNT(*) FROM runs c WHERE c.parent_pk = r.pk) AS child_count
                FROM runs r JOIN experiments e ON e.pk = r.experiment_pk LEFT JOIN runs p ON p.pk = r.parent_pk
                WHERE r.pk
                """) {
                let pk: Int64 = row["pk"]
                records[pk] = RunRecord(
                    pk: pk,
                    id: row["id"],
                    experimentPK: row["experiment_pk"],
                    experimentID: row["experiment_id"],
                    parentID: row["parent_id"],
                    name: row["name"],
                    state: RunState(rawValue: row["status"]) ?? .running,
                    error: row["error"],
                    startedAtMs: row["started_at_ms"],
                    completedAtMs: row["completed_at_ms"],
                    tags: [:],
                    params: [:],
                    metrics: [],
                    childCount: row["child_count"],
                    lastContactMs: row["last_contact_ms"],
                    note: row["note"],
                    createdBy: row["created_by"]
                )
            }
            for row in try rows("SELECT run_pk, key, value FROM run_tags WHERE run_pk") {
                records[row["run_pk"]]?.tags[row["key"]] = row["value"]
            }
            for row in try rows("SELECT run_pk, key, type, value FROM params WHERE run_pk") {
                records[row["run_pk"]]?.params[row["key"]] = paramValue(type: row["type"], value: row["value"])
            }
            for row in try rows("SELECT * FROM metric_series WHERE run_pk", " ORDER BY key") {
                records[row["run_pk"]]?.metrics.append(metricSummary(row))
            }
        }
        return pks.compactMap { records[$0] }
    }

    static func paramValue(type: Int, value: DatabaseValue) -> ParamValueRecord {
        switch (type, value.storage) {
        case (1, .string(let text)): .string(text)
        case (2, .int64(let number)): .int(number)
        case (3, .double(let number)): .double(number)
        case (3, .int64(let number)): .double(Double(number))
        case (3, .null): .double(.nan)
        case (4, .int64(let number)): .bool(number != 0)
        case (_, .string(let text)): .string(text)
        default: .string(value.description)
        }
    }

    static func metricSummary(_ row: Row) -> MetricSummaryRecord {
        MetricSummaryRecord(
            key: row["key"],
            count: row["count"],
            finiteCount: row["finite_count"],
            min: row["min"],
            max: row["max"],
            sum: (row["sum"] as Double?) ?? .nan,
            lastValue: (row["last_value"] as Double?) ?? .nan,
            lastStep: row["last_step"],
            lastTimestampMs: row["last_timestamp_ms"],
            firstStep: row["first_step"]
        )
    }

    /// Deletes a run and its descendants with their params, metrics and artifact rows.
    /// - Parameters:
    ///   - id: The run.
    ///   - force: Delete even while the run or a descendant is running.
    ///   - blobs: The blob store: the blobs nothing references any more are removed when the
    ///     transaction commits.
    /// - Throws: ``StoreError`` `notFound`, or `failedPrecondition` while running.
    public func deleteRun(
        id: String,
        force: Bool,
        blobs: (any BlobStore)? = nil
    ) async throws -> Deletion {
        try await pool.write { db in
            let pk = try Self.runPK(db, id: id)
            let tree = try Int64.fetchAll(db.cachedStatement(sql: """
                WITH RECURSIVE tree(pk) AS (SELECT ? UNION ALL SELECT r.pk FROM runs r JOIN tree t ON r.parent_pk = t.pk)
                SELECT pk FROM tree
                """), arguments: [pk])
            if !force {
                let list = tree.map(String.init).joined(separator: ",")
                let running = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs WHERE pk IN (\(list)) AND status = ?", arguments: [RunState.running.rawValue]) ?? 0
                if running > 0 {
                    throw StoreError(code: .failedPrecondition, message: "run \(id) or one of its children is running; end it first or delete with force", field: "run_id")
                }
            }
            let experimentPK = try Int64.fetchOne(db.cachedStatement(sql: "SELECT experiment_pk FROM runs WHERE pk = ?"), arguments: [pk]) ?? 0
            let deletion = try Self.deleteRunsData(db, runPKs: tree, experimentPK: nil)
            try db.cachedStatement(sql: "DELETE FROM runs WHERE pk = ?").execute(arguments: [pk])
            try Self.touchExperiment(db, pk: experimentPK)
            if let blobs {
                try Self.collectGarbage(db, candidates: deletion.blobCandidates, blobs: blobs)
            }
            return deletion
        }
    }

    /// Sets and removes tags of a run.
    /// - Throws: ``StoreError`` `notFound`.
    /// - Throws: ``StoreError`` `notFound`, or `invalidArgument` (nothing changed) when the run
    ///   would hold more than `maxTags` tags.
    public func setRunTags(id: String, set tags: [String: String], remove keys: [String], maxTags: Int) async throws -> RunRecord {
        try await pool.write { db in try Self.setRunTags(db, id: id, set: tags, remove: keys, maxTags: maxTags) }
    }

    static func setRunTags(_ db: Database, id: String, set tags: [String: String], remove keys: [String], maxTags: Int) throws -> RunRecord {
        let pk = try Self.runPK(db, id: id)
        for key in keys {
            try db.cachedStatement(sql: "DELETE FROM run_tags WHERE run_pk = ? AND key = ?").execute(arguments: [pk, key])
        }
        for (key, value) in tags {
            try db.cachedStatement(sql: "INSERT INTO run_tags (run_pk, key, value) VALUES (?, ?, ?) ON CONFLICT (run_pk, key) DO UPDATE SET value = excluded.value").execute(
                arguments: [pk, key, value]
            )
        }
        let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM run_tags WHERE run_pk = ?"), arguments: [pk]) ?? 0
        if count > maxTags {
            throw StoreError(code: .invalidArgument, message: "a run holds at most \(maxTags) tags; this would make \(count)", field: "tags")
        }
        return try Self.runRecords(db, pks: [pk])[0]
    }

    /// Lists runs of experiments (all when empty) or the children of a run, newest first.
    public func listRuns(experimentIDs: [String], parentRunID: String?, pageSize: Int, pageToken: String) async throws -> Page<RunRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        return try await pool.read { db in
            var conditions: [String] = []
            var arguments: [DatabaseValue] = []
            if !experimentIDs.isEmpty {
                let pks = try experimentIDs.map { try Self.experimentPK(db, id: $0, name: nil) }
                conditions.append("r.experiment_pk IN (\(pks.map(String.init).joined(separator: ",")))")
            }
            if let parent = parentRunID {
                conditions.append("r.parent_pk = ?")
                arguments.append(try Self.runPK(db, id: parent, field: "parent_run_id").databaseValue)
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let total = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM runs r \(whereClause)", arguments: StatementArguments(arguments)) ?? 0
            let pks = try Int64.fetchAll(
                db,
                sql: "SELECT r.pk FROM runs r \(whereClause) ORDER BY r.started_at_ms DESC, r.pk DESC LIMIT ? OFFSET ?",
                arguments: StatementArguments(arguments + [size.databaseValue, offset.databaseValue])
            )
            let records = try Self.runRecords(db, pks: pks)
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }

    /// Logs params of a run; identical values already logged are accepted.
    /// - Returns: How many were newly stored.
    /// - Throws: ``StoreError`` `failedPrecondition` naming the key whose logged value differs.
    ///
    /// With `requireRunning`, a run that has ended takes no new param; logging params it already
    /// has with the same values is accepted (0 stored), so that a journal delivered twice is.
    public func logParams(runID: String, params: [String: ParamValueRecord], requireRunning: Bool = false) async throws -> Int {
        try await pool.write { db in try Self.logParams(db, runID: runID, params: params, requireRunning: requireRunning) }
    }

    static func logParams(_ db: Database, runID: String, params: [String: ParamValueRecord], requireRunning: Bool) throws -> Int {
        let pk = try Self.runPK(db, id: runID)
        let status = try Int.fetchOne(db.cachedStatement(sql: "SELECT status FROM runs WHERE pk = ?"), arguments: [pk])
        let stored = try Self.logParams(db, runPK: pk, params: params)
        if requireRunning, stored > 0, status != RunState.running.rawValue, status != RunState.crashed.rawValue {
            // Rolls the transaction back.
            throw StoreError(code: .failedPrecondition, message: "run \(runID) has ended; params can only be logged to a running run", field: "run_id")
        }
        return stored
    }

    static func logParams(_ db: Database, runPK: Int64, params: [String: ParamValueRecord]) throws -> Int {
        var stored = 0
        for key in params.keys.sorted() {
            let value = params[key]!
            if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT type, value FROM params WHERE run_pk = ? AND key = ?"), arguments: [runPK, key]) {
                let existing = paramValue(type: row["type"], value: row["value"])
                if !sameParam(existing, value) {
                    throw StoreError(
                        code: .failedPrecondition,
                        message: "param \"\(key)\" is already logged with value \(describe(existing)); params are immutable (tried \(describe(value)))",
                        field: key
                    )
                }
                continue
            }
            try db.cachedStatement(sql: "INSERT INTO params (run_pk, key, type, value) VALUES (?, ?, ?, ?)").execute(
                arguments: [runPK, key, value.typeCode, databaseValue(value)]
            )
            stored += 1
        }
        return stored
    }

    static func databaseValue(_ value: ParamValueRecord) -> DatabaseValue {
        switch value {
        case .string(let text): text.databaseValue
        case .int(let number): number.databaseValue
        case .double(let number): number.databaseValue
        case .bool(let flag): (flag ? 1 : 0).databaseValue
        }
    }

    package static func sameParam(_ a: ParamValueRecord, _ b: ParamValueRecord) -> Bool {
        if case .double(let x) = a, case .double(let y) = b, x.isNaN, y.isNaN { return true }
        return a == b
    }

    package static func describe(_ value: ParamValueRecord) -> String {
        switch value {
        case .string(let text): "\"\(text)\""
        case .int(let number): "\(number)"
        case .double(let number): "\(number)"
        case .bool(let flag): "\(flag)"
        }
    }
}
