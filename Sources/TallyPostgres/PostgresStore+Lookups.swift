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
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT pk FROM experiments WHERE id = $1" + lock, binds: binds(id)), logger: logger)
            for try await pk in rows.decode(Int64.self) { return pk }
            throw StoreError.notFound("experiment", id)
        }
        if let name {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT pk FROM experiments WHERE name = $1" + lock, binds: binds(name)), logger: logger)
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
        for try await pk in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds(id)), logger: logger).decode(Int64.self) {
            return pk
        }
        throw StoreError(code: .notFound, message: "run \(id) not found", field: field)
    }

    /// Bindings of one text value.
    static func binds(_ text: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(text)
        return bindings
    }

    /// Sets an experiment's update time to now.
    static func touchExperiment(_ connection: PostgresConnection, pk: Int64, logger: Logger) async throws {
        try await connection.query("UPDATE experiments SET updated_at_ms = \(Identifiers.nowMs()) WHERE pk = \(pk)", logger: logger)
    }

    /// Removes the blobs among `candidates` (content hashes of deleted artifact rows) that no
    /// artifact or folder file references any more. Call it after the deleting transaction has
    /// committed. Each hash is checked and removed in a short transaction of its own holding
    /// `pg_advisory_xact_lock(hashtextextended(sha256, 0))`, the lock an upload takes before
    /// moving a blob in, so an upload cannot start referencing a blob while it goes.
    /// - Returns: The hashes found unreferenced (their blobs removed).
    @discardableResult
    package func collectGarbage(candidates: Set<String>, blobs: BlobStore) async throws -> Set<String> {
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
