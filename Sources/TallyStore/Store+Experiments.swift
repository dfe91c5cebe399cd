import GRDB

extension Store {

    /// Creates an experiment.
    /// - Parameters:
    ///   - experiment: Its fields.
    ///   - getIfExists: Return the existing experiment of that name instead of failing.
    /// - Throws: ``StoreError`` `alreadyExists` when the name is taken.
    public func createExperiment(_ experiment: NewExperiment, getIfExists: Bool = false) async throws -> ExperimentRecord {
        try await pool.write { db in
            try Self.createExperiment(db, experiment, getIfExists: getIfExists)
        }
    }

    static func createExperiment(_ db: Database, _ experiment: NewExperiment, getIfExists: Bool) throws -> ExperimentRecord {
        if let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM experiments WHERE name = ?"), arguments: [experiment.name]) {
            if getIfExists { return try experimentRecord(db, pk: existing) }
            throw StoreError(code: .alreadyExists, message: "an experiment named \"\(experiment.name)\" already exists", field: "name")
        }
        let now = Identifiers.nowMs()
        try db.cachedStatement(sql: "INSERT INTO experiments (id, name, description, created_by, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)").execute(
            arguments: [Identifiers.make(), experiment.name, experiment.description, experiment.createdBy, now, now]
        )
        let pk = db.lastInsertedRowID
        for (key, value) in experiment.tags {
            try db.cachedStatement(sql: "INSERT INTO experiment_tags (experiment_pk, key, value) VALUES (?, ?, ?)").execute(arguments: [pk, key, value])
        }
        for (key, goal) in experiment.metricGoals where goal != 0 {
            try db.cachedStatement(sql: "INSERT INTO experiment_metric_goals (experiment_pk, key, goal) VALUES (?, ?, ?)").execute(arguments: [pk, key, goal])
        }
        return try experimentRecord(db, pk: pk)
    }

    /// An experiment by id or by name.
    /// - Throws: ``StoreError`` `notFound`.
    public func experiment(id: String? = nil, name: String? = nil) async throws -> ExperimentRecord {
        try await pool.read { db in
            let pk = try Self.experimentPK(db, id: id, name: name)
            return try Self.experimentRecord(db, pk: pk)
        }
    }

    static func experimentPK(_ db: Database, id: String?, name: String?) throws -> Int64 {
        if let id {
            guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM experiments WHERE id = ?"), arguments: [id]) else {
                throw StoreError.notFound("experiment", id)
            }
            return pk
        }
        if let name {
            guard let pk = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM experiments WHERE name = ?"), arguments: [name]) else {
                throw StoreError(code: .notFound, message: "experiment named \"\(name)\" not found", field: "experiment")
            }
            return pk
        }
        throw StoreError(code: .invalidArgument, message: "an experiment id or name is required", field: "experiment")
    }

    static func experimentRecord(_ db: Database, pk: Int64) throws -> ExperimentRecord {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT e.*, (SELECT COUNT(*) FROM runs r WHERE r.experiment_pk = e.pk) AS run_count
            FROM experiments e WHERE e.pk = ?
            """), arguments: [pk]) else {
            throw StoreError.notFound("experiment", "#\(pk)")
        }
        return try experimentRecord(db, row: row)
    }

    static func experimentRecord(_ db: Database, row: Row) throws -> ExperimentRecord {
        let pk: Int64 = row["pk"]
        var tags: [String: String] = [:]
        for tag in try Row.fetchAll(db.cachedStatement(sql: "SELECT key, value FROM experiment_tags WHERE experiment_pk = ?"), arguments: [pk]) {
            tags[tag["key"]] = tag["value"]
        }
        var goals: [String: Int] = [:]
        for goal in try Row.fetchAll(db.cachedStatement(sql: "SELECT key, goal FROM experiment_metric_goals WHERE experiment_pk = ?"), arguments: [pk]) {
            goals[goal["key"]] = goal["goal"]
        }
        return ExperimentRecord(
            pk: pk,
            id: row["id"],
            name: row["name"],
            description: row["description"],
            tags: tags,
            createdBy: row["created_by"],
            createdAtMs: row["created_at_ms"],
            updatedAtMs: row["updated_at_ms"],
            metricGoals: goals,
            runCount: row["run_count"]
        )
    }

    /// Updates an experiment.
    /// - Throws: ``StoreError`` `notFound`, or `alreadyExists` when renaming onto a taken name.
    public func updateExperiment(id: String, _ update: ExperimentUpdate) async throws -> ExperimentRecord {
        try await pool.write { db in
            let pk = try Self.experimentPK(db, id: id, name: nil)
            if let name = update.name {
                if let other = try Int64.fetchOne(db.cachedStatement(sql: "SELECT pk FROM experiments WHERE name = ?"), arguments: [name]), other != pk {
                    throw StoreError(code: .alreadyExists, message: "an experiment named \"\(name)\" already exists", field: "name")
                }
                try db.cachedStatement(sql: "UPDATE experiments SET name = ? WHERE pk = ?").execute(arguments: [name, pk])
            }
            if let description = update.description {
                try db.cachedStatement(sql: "UPDATE experiments SET description = ? WHERE pk = ?").execute(arguments: [description, pk])
            }
            if let tags = update.tags {
                try db.cachedStatement(sql: "DELETE FROM experiment_tags WHERE experiment_pk = ?").execute(arguments: [pk])
                for (key, value) in tags {
                    try db.cachedStatement(sql: "INSERT INTO experiment_tags (experiment_pk, key, value) VALUES (?, ?, ?)").execute(arguments: [pk, key, value])
                }
            }
            for (key, goal) in update.metricGoals {
                if goal == 0 {
                    try db.cachedStatement(sql: "DELETE FROM experiment_metric_goals WHERE experiment_pk = ? AND key = ?").execute(arguments: [pk, key])
                } else {
                    try db.cachedStatement(sql: "INSERT INTO experiment_metric_goals (experiment_pk, key, goal) VALUES (?, ?, ?) ON CONFLICT (experiment_pk, key) DO UPDATE SET goal = excluded.goal").execute(
                        arguments: [pk, key, goal]
                    )
                }
            }
            try db.cachedStatement(sql: "UPDATE experiments SET updated_at_ms = ? WHERE pk = ?").execute(arguments: [Identifiers.nowMs(), pk])
            return try Self.experimentRecord(db, pk: pk)
        }
    }

    /// Deletes an experiment with its runs, params, metrics and artifact rows.
    /// - Parameters:
    ///   - id: The experiment.
    ///   - force: Delete even while a run is running.
    ///   - blobs: The blob store: the blobs nothing references any more are removed when the
    ///     transaction commits.
    /// - Throws: ``StoreError`` `notFound`, or `failedPrecondition` while a run is running.
    public func deleteExperiment(
        id: String,
        force: Bool,
        blobs: (any BlobStore)? = nil
    ) async throws -> Deletion {
        try await pool.write { db in
            let pk = try Self.experimentPK(db, id: id, name: nil)
            if !force {
                let running = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM runs WHERE experiment_pk = ? AND status = ?"), arguments: [pk, RunState.running.rawValue]) ?? 0
                if running > 0 {
                    throw StoreError(
                        code: .failedPrecondition,
                        message: "experiment \(id) has \(running) running run(s); end them first or delete with force",
                        field: "id"
                    )
                }
            }
            let runPKs = try Int64.fetchAll(db.cachedStatement(sql: "SELECT pk FROM runs WHERE experiment_pk = ?"), arguments: [pk])
            let deletion = try Self.deleteRunsData(db, runPKs: runPKs, experimentPK: pk)
            try db.cachedStatement(sql: "DELETE FROM experiments WHERE pk = ?").execute(arguments: [pk])
            if let blobs {
                try Self.collectGarbage(db, candidates: deletion.blobCandidates, blobs: blobs)
            }
            return deletion
        }
    }

    /// Removes the metric points and artifact rows of runs (and of an experiment), which the
    /// cascades do not reach cheaply, and reports what goes.
    static func deleteRunsData(_ db: Database, runPKs: [Int64], experimentPK: Int64?) throws -> Deletion {
        var artifacts: Int64 = 0
        var candidates: Set<String> = []
        for chunk in runPKs.chunked(into: 500) {
            let list = chunk.map(String.init).joined(separator: ",")
            let series = "SELECT pk FROM metric_series WHERE run_pk IN (\(list))"
            try db.execute(sql: "DELETE FROM metric_chunk_data WHERE chunk_pk IN (SELECT pk FROM metric_chunks WHERE series_pk IN (\(series)))")
            try db.execute(sql: "DELETE FROM metric_chunks WHERE series_pk IN (\(series))")
            for sha in try String.fetchAll(db, sql: "SELECT sha256 FROM artifacts WHERE run_pk IN (\(list))") {
                candidates.insert(sha)
                artifacts += 1
            }
            candidates.formUnion(try String.fetchAll(db, sql: """
                SELECT DISTINCT f.sha256 FROM artifact_files f JOIN artifacts a ON a.pk = f.artifact_pk
                WHERE a.run_pk IN (\(list))
                """))
        }
        if let experimentPK {
            candidates.formUnion(try String.fetchAll(db, sql: """
                SELECT DISTINCT f.sha256 FROM artifact_files f JOIN artifacts a ON a.pk = f.artifact_pk
                WHERE a.experiment_pk = ? AND a.run_pk IS NULL
                """, arguments: [experimentPK]))
            for sha in try String.fetchAll(db.cachedStatement(sql: "SELECT sha256 FROM artifacts WHERE experiment_pk = ? AND run_pk IS NULL"), arguments: [experimentPK]) {
                candidates.insert(sha)
                artifacts += 1
            }
        }
        return Deletion(runs: Int64(runPKs.count), artifacts: artifacts, blobCandidates: candidates)
    }

    /// Lists experiments, newest first unless ordered otherwise.
    /// - Throws: ``StoreError`` `invalidArgument` for a bad order, page size or token.
    public func listExperiments(_ query: ExperimentQuery) async throws -> Page<ExperimentRecord> {
        let size = try PageToken.size(query.pageSize)
        let offset = try PageToken.offset(query.pageToken)
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if !query.nameContains.isEmpty {
            conditions.append("instr(lower(e.name), lower(?)) > 0")
            arguments.append(query.nameContains.databaseValue)
        }
        func tagCondition(_ tag: String) -> String {
            let term = ExperimentQuery.TagTerm(tag)
            arguments.append(term.key.databaseValue)
            if let value = term.value {
                arguments.append(value.databaseValue)
                return "EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_pk = e.pk AND t.key = ? AND t.value = ?)"
            }
            return "EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_pk = e.pk AND t.key = ?)"
        }
        if !query.tagsAny.isEmpty {
            conditions.append("(" + query.tagsAny.map(tagCondition).joined(separator: " OR ") + ")")
        }
        for tag in query.tagsAll {
            conditions.append(tagCondition(tag))
        }
        for bound in query.timeBounds {
            conditions.append("e.\(bound.column) \(bound.comparison) ?")
            arguments.append(bound.value.databaseValue)
        }
        let order = try Self.experimentOrder(query.orderBy)
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let finalArguments = arguments
        return try await pool.read { db in
            let total = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM experiments e \(whereClause)", arguments: StatementArguments(finalArguments)) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT e.*, (SELECT COUNT(*) FROM runs r WHERE r.experiment_pk = e.pk) AS run_count
                FROM experiments e \(whereClause) ORDER BY \(order) LIMIT ? OFFSET ?
                """, arguments: StatementArguments(finalArguments + [size.databaseValue, offset.databaseValue]))
            let records = try rows.map { try Self.experimentRecord(db, row: $0) }
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }

    package static func experimentOrder(_ text: String) throws -> String {
        let parts = text.lowercased().split(separator: " ").map(String.init)
        if parts.isEmpty { return "e.created_at_ms DESC, e.pk DESC" }
        let column: String
        var direction: String
        switch parts[0] {
        case "created_at": (column, direction) = ("e.created_at_ms", "DESC")
        case "updated_at": (column, direction) = ("e.updated_at_ms", "DESC")
        case "name": (column, direction) = ("e.name", "ASC")
        default:
            throw StoreError(code: .invalidArgument, message: "order_by \"\(text)\": expected created_at, updated_at or name", field: "order_by")
        }
        if parts.count == 2, parts[1] == "asc" || parts[1] == "desc" {
            direction = parts[1].uppercased()
        } else if parts.count != 1 {
            throw StoreError(code: .invalidArgument, message: "order_by \"\(text)\": expected a field and asc or desc", field: "order_by")
        }
        return "\(column) \(direction), e.pk \(direction)"
    }
}

extension Array {
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
