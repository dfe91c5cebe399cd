import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// As ``Store/createExperiment(_:getIfExists:)``: the insert skips on a name taken, also by
    /// another daemon's transaction (waiting for it to end), so a name is given once.
    package func createExperiment(_ experiment: NewExperiment, getIfExists: Bool) async throws -> ExperimentRecord {
        try await retryingTransaction { connection in
            let pk = try await Self.createExperiment(connection, experiment, getIfExists: getIfExists, logger: self.logger)
            return try await Self.experimentRecord(connection, pk: pk, logger: self.logger)
        }
    }

    /// Creates an experiment, or with `getIfExists` finds the one of that name.
    /// - Returns: Its key.
    static func createExperiment(_ connection: PostgresConnection, _ experiment: NewExperiment, getIfExists: Bool, logger: Logger) async throws -> Int64 {
        // A conflicting insert rolled back by its transaction leaves no row: insert again then.
        for _ in 0..<3 {
            let now = Identifiers.nowMs()
            let inserted = try await first(Int64.self, connection.query("""
                INSERT INTO experiments (id, name, description, created_by, created_at_ms, updated_at_ms)
                VALUES (\(Identifiers.make()), \(experiment.name), \(experiment.description), \(experiment.createdBy), \(now), \(now))
                ON CONFLICT (name) DO NOTHING RETURNING pk
                """, logger: logger))
            if let pk = inserted {
                for (key, value) in experiment.tags {
                    try await connection.query("INSERT INTO experiment_tags (experiment_pk, key, value) VALUES (\(pk), \(key), \(value))", logger: logger)
                }
                for (key, goal) in experiment.metricGoals where goal != 0 {
                    try await connection.query(
                        "INSERT INTO experiment_metric_goals (experiment_pk, key, goal) VALUES (\(pk), \(key), \(Int64(goal)))", logger: logger
                    )
                }
                return pk
            }
            guard getIfExists else {
                throw StoreError(code: .alreadyExists, message: "an experiment named \"\(experiment.name)\" already exists", field: "name")
            }
            if let existing = try await first(Int64.self, connection.query("SELECT pk FROM experiments WHERE name = \(experiment.name)", logger: logger)) {
                return existing
            }
        }
        throw StoreError(code: .alreadyExists, message: "an experiment named \"\(experiment.name)\" already exists", field: "name")
    }

    package func experiment(id: String?, name: String?) async throws -> ExperimentRecord {
        try await snapshot { connection in
            let pk = try await Self.experimentPK(connection, id: id, name: name, logger: self.logger)
            return try await Self.experimentRecord(connection, pk: pk, logger: self.logger)
        }
    }

    static let experimentColumns = "e.pk, e.id, e.name, e.description, e.created_by, e.created_at_ms, e.updated_at_ms, (SELECT COUNT(*) FROM runs r WHERE r.experiment_pk = e.pk)"
    typealias ExperimentRow = (Int64, String, String, String, String, Int64, Int64, Int64)

    static func experimentRecord(_ connection: PostgresConnection, pk: Int64, logger: Logger) async throws -> ExperimentRecord {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(experimentColumns) FROM experiments e WHERE e.pk = $1", binds: {
            var bindings = PostgresBindings()
            bindings.append(pk)
            return bindings
        }()), logger: logger)
        var found: ExperimentRow?
        for try await row in rows.decode(ExperimentRow.self) { found = row }
        guard let found else { throw StoreError.notFound("experiment", "#\(pk)") }
        return try await experimentRecord(connection, row: found, logger: logger)
    }

    static func experimentRecord(_ connection: PostgresConnection, row: ExperimentRow, logger: Logger) async throws -> ExperimentRecord {
        try await experimentRecords(connection, rows: [row], logger: logger)[0]
    }

    /// The records of experiment rows, in their order, with their tags and goals (read in one
    /// statement each for all the rows).
    static func experimentRecords(_ connection: PostgresConnection, rows: [ExperimentRow], logger: Logger) async throws -> [ExperimentRecord] {
        guard !rows.isEmpty else { return [] }
        let pks = rows.map(\.0)
        var tags: [Int64: [String: String]] = [:]
        for try await (pk, key, value) in try await connection.query(
            "SELECT experiment_pk, key, value FROM experiment_tags WHERE experiment_pk = ANY(\(pks))", logger: logger
        ).decode((Int64, String, String).self) {
            tags[pk, default: [:]][key] = value
        }
        var goals: [Int64: [String: Int]] = [:]
        for try await (pk, key, goal) in try await connection.query(
            "SELECT experiment_pk, key, goal FROM experiment_metric_goals WHERE experiment_pk = ANY(\(pks))", logger: logger
        ).decode((Int64, String, Int64).self) {
            goals[pk, default: [:]][key] = Int(goal)
        }
        return rows.map { row in
            let (pk, id, name, description, createdBy, createdAt, updatedAt, runCount) = row
            return ExperimentRecord(
                pk: pk, id: id, name: name, description: description, tags: tags[pk] ?? [:], createdBy: createdBy,
                createdAtMs: createdAt, updatedAtMs: updatedAt, metricGoals: goals[pk] ?? [:], runCount: runCount
            )
        }
    }

    package func updateExperiment(id: String, _ update: ExperimentUpdate) async throws -> ExperimentRecord {
        try await retryingTransaction { connection in
            let pk = try await Self.experimentPK(connection, id: id, name: nil, forUpdate: true, logger: self.logger)
            if let name = update.name {
                let taken = try await Self.first(Int64.self, connection.query("SELECT pk FROM experiments WHERE name = \(name)", logger: self.logger))
                if let taken, taken != pk {
                    throw StoreError(code: .alreadyExists, message: "an experiment named \"\(name)\" already exists", field: "name")
                }
                do {
                    try await connection.query("UPDATE experiments SET name = \(name) WHERE pk = \(pk)", logger: self.logger)
                } catch where Self.isUniqueViolation(error) {
                    // Taken meanwhile by another daemon's transaction.
                    throw StoreError(code: .alreadyExists, message: "an experiment named \"\(name)\" already exists", field: "name")
                }
            }
            if let description = update.description {
                try await connection.query("UPDATE experiments SET description = \(description) WHERE pk = \(pk)", logger: self.logger)
            }
            if let tags = update.tags {
                try await connection.query("DELETE FROM experiment_tags WHERE experiment_pk = \(pk)", logger: self.logger)
                for (key, value) in tags {
                    try await connection.query("INSERT INTO experiment_tags (experiment_pk, key, value) VALUES (\(pk), \(key), \(value))", logger: self.logger)
                }
            }
            for (key, goal) in update.metricGoals {
                if goal == 0 {
                    try await connection.query("DELETE FROM experiment_metric_goals WHERE experiment_pk = \(pk) AND key = \(key)", logger: self.logger)
                } else {
                    try await connection.query("""
                        INSERT INTO experiment_metric_goals (experiment_pk, key, goal) VALUES (\(pk), \(key), \(Int64(goal)))
                        ON CONFLICT (experiment_pk, key) DO UPDATE SET goal = excluded.goal
                        """, logger: self.logger)
                }
            }
            try await Self.touchExperiment(connection, pk: pk, logger: self.logger)
            return try await Self.experimentRecord(connection, pk: pk, logger: self.logger)
        }
    }

    /// As ``Store/deleteExperiment(id:force:blobs:)``. The experiment's row is locked first, so
    /// no run starts in it meanwhile; its runs, params, metrics and artifact rows go by cascade
    /// in one transaction, and the blobs nothing references any more are removed after it
    /// commits (``collectGarbage(candidates:blobs:)``).
    package func deleteExperiment(id: String, force: Bool, blobs: (any BlobStore)?) async throws -> Deletion {
        let deletion = try await retryingTransaction { connection in
            let pk = try await Self.experimentPK(connection, id: id, name: nil, forUpdate: true, logger: self.logger)
            if !force {
                let running = try await Self.first(Int64.self, connection.query(
                    "SELECT COUNT(*) FROM runs WHERE experiment_pk = \(pk) AND status = \(Int64(RunState.running.rawValue))", logger: self.logger
                )) ?? 0
                if running > 0 {
                    throw StoreError(
                        code: .failedPrecondition,
                        message: "experiment \(id) has \(running) running run(s); end them first or delete with force",
                        field: "id"
                    )
                }
            }
            let runs = try await Self.first(Int64.self, connection.query("SELECT COUNT(*) FROM runs WHERE experiment_pk = \(pk)", logger: self.logger)) ?? 0
            let artifacts = try await Self.first(Int64.self, connection.query("SELECT COUNT(*) FROM artifacts WHERE experiment_pk = \(pk)", logger: self.logger)) ?? 0
            var candidates = Set<String>()
            for try await sha256 in try await connection.query("""
                SELECT sha256 FROM artifacts WHERE experiment_pk = \(pk)
                UNION SELECT f.sha256 FROM artifact_files f JOIN artifacts a ON a.pk = f.artifact_pk WHERE a.experiment_pk = \(pk)
                """, logger: self.logger).decode(String.self) {
                candidates.insert(sha256)
            }
            try await connection.query("DELETE FROM experiments WHERE pk = \(pk)", logger: self.logger)
            return Deletion(runs: runs, artifacts: artifacts, blobCandidates: candidates)
        }
        await collectAfterDeletion(deletion, blobs: blobs, of: "experiment \(id)")
        return deletion
    }

    package func listExperiments(_ query: ExperimentQuery) async throws -> Page<ExperimentRecord> {
        let size = try PageToken.size(query.pageSize)
        let offset = try PageToken.offset(query.pageToken)
        var conditions: [String] = []
        var sql = SQLBindings()
        if !query.nameContains.isEmpty {
            // lower() of the "C" collation lowers ASCII only, as SQLite's.
            conditions.append("strpos(lower(e.name), lower(\(sql.bind(query.nameContains))::text COLLATE \"C\")) > 0")
        }
        func tagCondition(_ tag: String) -> String {
            let term = ExperimentQuery.TagTerm(tag)
            let key = sql.bind(term.key)
            if let value = term.value {
                return "EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_pk = e.pk AND t.key = \(key) AND t.value = \(sql.bind(value)))"
            }
            return "EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_pk = e.pk AND t.key = \(key))"
        }
        if !query.tagsAny.isEmpty {
            conditions.append("(" + query.tagsAny.map(tagCondition).joined(separator: " OR ") + ")")
        }
        for tag in query.tagsAll {
            conditions.append(tagCondition(tag))
        }
        for bound in query.timeBounds {
            conditions.append("e.\(bound.column) \(bound.comparison) \(sql.bind(bound.value))")
        }
        let order = try Store.experimentOrder(query.orderBy)
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let countBindings = sql.bindings
        let limit = sql.bind(Int64(size))
        let skip = sql.bind(Int64(offset))
        let pageBindings = sql.bindings
        return try await snapshot { connection in
            let total = try await Self.first(Int64.self, connection.query(
                PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM experiments e \(whereClause)", binds: countBindings), logger: self.logger
            )) ?? 0
            var rows: [ExperimentRow] = []
            for try await row in try await connection.query(PostgresQuery(
                unsafeSQL: "SELECT \(Self.experimentColumns) FROM experiments e \(whereClause) ORDER BY \(order) LIMIT \(limit) OFFSET \(skip)",
                binds: pageBindings
            ), logger: self.logger).decode(ExperimentRow.self) {
                rows.append(row)
            }
            let records = try await Self.experimentRecords(connection, rows: rows, logger: self.logger)
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }
}
