package import Logging
package import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// The key of an experiment by id (first) or by name, with SQLite's errors.
    /// - Parameter forUpdate: Lock the experiment's row until the transaction ends.
    /// - Throws: ``StoreError`` `notFound`, or `invalidArgument` when neither is given.
    package static func experimentPK(
        _ connection: PostgresConnection, id: String?, name: String?, forUpdate: Bool = false, logger: Logger
    ) async throws -> Int64 {
        let lock = forUpdate ? " FOR UPDATE" : ""
        if let id {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT pk FROM experiments WHERE id = $1" + lock, binds: textBindings(id)), logger: logger)
            for try await pk in rows.decode(Int64.self) { return pk }
            throw StoreError.notFound("experiment", id)
        }
        if let name {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT pk FROM experiments WHERE name = $1" + lock, binds: textBindings(name)), logger: logger)
            for try await pk in rows.decode(Int64.self) { return pk }
            throw StoreError(code: .notFound, message: "experiment named \"\(name)\" not found", field: "experiment")
        }
        throw StoreError(code: .invalidArgument, message: "an experiment id or name is required", field: "experiment")
    }

    /// The key of a run by id, with SQLite's error (`notFound` naming `field`).
    /// - Parameter forUpdate: Lock the run's row until the transaction ends.
    package static func runPK(
        _ connection: PostgresConnection, id: String, field: String = "run_id", forUpdate: Bool = false, logger: Logger
    ) async throws -> Int64 {
        let sql = "SELECT pk FROM runs WHERE id = $1" + (forUpdate ? " FOR UPDATE" : "")
        for try await pk in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: textBindings(id)), logger: logger).decode(Int64.self) {
            return pk
        }
        throw StoreError(code: .notFound, message: "run \(id) not found", field: field)
    }

    /// Bindings of one text value.
    static func textBindings(_ text: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(text)
        return bindings
    }

    /// Sets an experiment's update time to now.
    static func touchExperiment(_ connection: PostgresConnection, pk: Int64, logger: Logger) async throws {
        try await touch(connection, table: "experiments", pk: pk, logger: logger)
    }

    /// Sets the update time (`updated_at_ms`) of row `pk` of `table` to now.
    static func touch(_ connection: PostgresConnection, table: String, pk: Int64, logger: Logger) async throws {
        var binds = PostgresBindings()
        binds.append(Identifiers.nowMs())
        binds.append(pk)
        try await connection.query(PostgresQuery(unsafeSQL: "UPDATE \(table) SET updated_at_ms = $1 WHERE pk = $2", binds: binds), logger: logger)
    }

    /// Deletes, in a transaction, the row of `table` that `reference` names by id or name (as
    /// ``pkByIDOrName(_:table:_:kind:forUpdate:logger:)`` finds it); any dependent rows go
    /// with it by cascade.
    /// - Throws: ``StoreError`` `notFound` (field `kind`).
    func deleteByIDOrName(table: String, _ reference: String, kind: String) async throws {
        try await transaction { connection in
            let pk = try await Self.pkByIDOrName(connection, table: table, reference, kind: kind, logger: self.logger)
            var binds = PostgresBindings()
            binds.append(pk)
            try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE pk = $1", binds: binds), logger: self.logger)
        }
    }

    /// Removes the blobs among `candidates` (content hashes of deleted artifact rows) that no
    /// artifact or folder file references any more. Call it after the deleting transaction has
    /// committed. Each hash is checked and removed in a short transaction of its own holding
    /// `pg_advisory_xact_lock(hashtextextended(sha256, 0))`, the lock an upload takes before
    /// moving a blob in, so an upload cannot start referencing a blob while it goes.
    /// - Returns: The hashes found unreferenced (their blobs removed).
    @discardableResult
    package func collectGarbage(candidates: Set<String>, blobs: any BlobStore) async throws -> Set<String> {
        var unreferenced = Set<String>()
        for sha256 in candidates.sorted() {
            let removed = try await transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(sha256), 0))", logger: self.logger)
                let rows = try await connection.query("""
                    SELECT EXISTS (SELECT 1 FROM artifacts WHERE sha256 = \(sha256))
                        OR EXISTS (SELECT 1 FROM artifact_files WHERE sha256 = \(sha256))
                    """, logger: self.logger)
                var referenced = false
                for try await value in rows.decode(Bool.self) { referenced = value }
                if referenced { return false }
                blobs.remove(sha256: sha256)
                return true
            }
            if removed { unreferenced.insert(sha256) }
        }
        return unreferenced
    }
}

extension PostgresStore {
    /// Collects the blobs of a committed deletion: the rows are gone, so a collection that fails
    /// (the server lost) leaves unreferenced blobs behind, never a missing one, and is logged
    /// rather than reported as a failed deletion (as SQLite's collection at commit cannot fail).
    func collectAfterDeletion(_ deletion: Deletion, blobs: (any BlobStore)?, of what: String) async {
        guard let blobs, !deletion.blobCandidates.isEmpty else { return }
        do {
            try await collectGarbage(candidates: deletion.blobCandidates, blobs: blobs)
        } catch {
            logger.warning("cannot collect the blobs of a deletion", metadata: ["deleted": "\(what)", "error": "\(Self.describe(error))"])
        }
    }
}

extension PostgresStore {
    /// The key of the row of `table` whose id, else whose name, is `reference` (SQLite's
    /// `pkByIDOrName`).
    /// - Throws: ``StoreError`` `notFound` naming `kind`.
    static func pkByIDOrName(
        _ connection: PostgresConnection, table: String, _ reference: String, kind: String, forUpdate: Bool = false, logger: Logger
    ) async throws -> Int64 {
        let sql = forUpdate
            ? "SELECT pk FROM \(table) WHERE pk = (SELECT pk FROM \(table) WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1) FOR UPDATE"
            : "SELECT pk FROM \(table) WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1"
        for try await pk in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: textBindings(reference)), logger: logger).decode(Int64.self) {
            return pk
        }
        throw StoreError(code: .notFound, message: "\(kind) \(reference) not found", field: kind)
    }
}

extension PostgresStore {
    /// Runs `body` in a transaction as ``transaction(_:)`` does, running it again (at most three
    /// times in all) when the server aborts it for a deadlock (40P01) or a serialization failure
    /// (40001), or with `onUniqueViolation` for a row another transaction added first (23505):
    /// nothing of an aborted try is committed, so trying again is safe.
    func retryingTransaction<T: Sendable>(onUniqueViolation: Bool = false, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await transaction(body)
            } catch {
                guard attempt < 4, Self.isRetryable(error) || (onUniqueViolation && Self.isUniqueViolation(error)) else { throw error }
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << attempt))))
            }
        }
    }

    /// Runs `body` in a read-only transaction with one snapshot (REPEATABLE READ), as SQLite's
    /// reads: a count and the page it describes agree.
    func snapshot<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: self.logger)
            return try await body(connection)
        }
    }

    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    static func isRetryable(_ error: any Error) -> Bool {
        let state = sqlState(error)
        return state == "40P01" || state == "40001"
    }

    /// A unique constraint refused the statement.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        sqlState(error) == "23505"
    }

    /// The first column of the first row, as `T`; nil when there is no row.
    static func first<T: PostgresDecodable & Sendable>(_ type: T.Type, _ rows: PostgresRowSequence) async throws -> T? {
        var found: T?
        for try await value in rows.decode(T.self) where found == nil {
            found = value
        }
        return found
    }
}

/// Dynamic SQL's bindings: `bind(value)` appends a value and gives its placeholder.
struct SQLBindings {
    var bindings = PostgresBindings()
    private var count = 0

    mutating func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
        bindings.append(value)
        count += 1
        return "$\(count)"
    }
}
