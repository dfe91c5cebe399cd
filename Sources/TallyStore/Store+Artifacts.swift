package import GRDB

extension Store {

    /// The alias kept automatically on the highest version of every name.
    public static let latestAlias = "latest"

    // MARK: - Upload

    /// Checks that `runID` can receive an artifact: the run exists and is running.
    /// - Throws: ``StoreError`` `notFound`, or `failedPrecondition` when the run has ended.
    public func checkArtifactUpload(runID: String) async throws {
        try await pool.read { db in
            _ = try Self.artifactUploadTarget(db, runID: runID)
        }
    }

    /// Records a new version of `artifact.name` in its run's experiment and moves its content
    /// (and a folder's files) into the blob store, in one write transaction.
    /// - Parameters:
    ///   - artifact: Its fields.
    ///   - content: The uploaded content, written and fsynced by a ``BlobStore/Writer``; for a
    ///     folder, its ``FolderManifest``.
    ///   - files: A folder's files, with distinct paths (empty otherwise).
    ///   - blobs: The blob store the content goes to.
    /// - Returns: The new version.
    /// - Throws: ``StoreError`` `notFound` / `failedPrecondition` for the run, or an I/O error
    ///   from a move; the caller then discards `content` and `files`.
    public func createArtifact(
        _ artifact: NewArtifact, content: PendingBlob, files: [FolderFile] = [], blobs: any BlobStore
    ) async throws -> ArtifactRecord {
        let manifest = FolderManifest(files: files.map { ArtifactFileRecord(path: $0.path, sha256: $0.content.sha256, size: $0.content.size) })
        let filesSize = try manifest.totalSize()
        return try await pool.write { db in
            let (runPK, experimentPK) = try Self.artifactUploadTarget(db, runID: artifact.runID)
            try db.execute(
                sql: "INSERT INTO artifact_names (experiment_pk, name, next_version) VALUES (?, ?, 1) ON CONFLICT DO NOTHING",
                arguments: [experimentPK, artifact.name]
            )
            let version = try Int.fetchOne(
                db,
                sql: "UPDATE artifact_names SET next_version = next_version + 1 WHERE experiment_pk = ? AND name = ? RETURNING next_version - 1",
                arguments: [experimentPK, artifact.name]
            ) ?? 1
            try db.execute(
                sql: """
                    INSERT INTO artifacts (id, experiment_pk, run_pk, name, type, version, sha256, size, created_at_ms,
                                           folder, file_count, files_size)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Identifiers.make(), experimentPK, runPK, artifact.name, artifact.type, version,
                    content.sha256, content.size, Identifiers.nowMs(),
                    artifact.folder, manifest.files.count, filesSize,
                ]
            )
            let pk = db.lastInsertedRowID
            for file in manifest.files {
                try db.execute(
                    sql: "INSERT INTO artifact_files (artifact_pk, path, sha256, size) VALUES (?, ?, ?, ?)",
                    arguments: [pk, file.path, file.sha256, file.size]
                )
            }
            for (key, value) in artifact.metadata {
                try db.execute(
                    sql: "INSERT INTO artifact_metadata (artifact_pk, key, value) VALUES (?, ?, ?)",
                    arguments: [pk, key, value]
                )
            }
            for alias in Set(artifact.aliases) {
                try Self.pointAlias(db, experimentPK: experimentPK, name: artifact.name, alias: alias, at: pk)
            }
            // Last, so that nothing after it can fail but another move: a blob moved into place is
            // removed again if the transaction still rolls back (no other row can reference it:
            // writes are serialized).
            for blob in [content] + files.map(\.content) {
                if try blobs.commit(blob) {
                    let sha256 = blob.sha256
                    db.afterNextTransaction(onCommit: { _ in }, onRollback: { _ in blobs.remove(sha256: sha256) })
                }
            }
            return try Self.artifactRecord(db, pk: pk)
        }
    }

    /// The run an upload goes to, and its experiment.
    static func artifactUploadTarget(_ db: Database, runID: String) throws -> (runPK: Int64, experimentPK: Int64) {
        guard let row = try Row.fetchOne(db, sql: "SELECT pk, experiment_pk, status FROM runs WHERE id = ?", arguments: [runID]) else {
            throw StoreError(code: .notFound, message: "run \(runID) not found", field: "run_id")
        }
        let status: Int = row["status"]
        guard status == RunState.running.rawValue else {
            let state = RunState(rawValue: status)?.name ?? "ended"
            throw StoreError(
                code: .failedPrecondition,
                message: "run \(runID) is \(state); artifacts can only be uploaded to a running run",
                field: "run_id"
            )
        }
        return (row["pk"], row["experiment_pk"])
    }

    // MARK: - Reading

    /// One artifact version.
    /// - Throws: ``StoreError`` `notFound`.
    public func artifact(_ reference: ArtifactReference) async throws -> ArtifactRecord {
        try await pool.read { db in
            try Self.artifactRecord(db, pk: Self.artifactPK(db, reference))
        }
    }

    /// The artifact versions a run produced, ordered by name and version.
    /// - Parameters:
    ///   - runID: The run.
    ///   - name: Only versions of this name, when given.
    /// - Throws: ``StoreError`` `notFound` when the run does not exist.
    public func artifacts(runID: String, name: String? = nil) async throws -> [ArtifactRecord] {
        try await pool.read { db in
            guard let runPK = try Int64.fetchOne(db, sql: "SELECT pk FROM runs WHERE id = ?", arguments: [runID]) else {
                throw StoreError(code: .notFound, message: "run \(runID) not found", field: "run_id")
            }
            return try Self.artifactRecords(db, runPK: runPK, name: name)
        }
    }

    /// The artifact versions of an experiment, ordered by name and version.
    /// - Parameters:
    ///   - experimentID: The experiment.
    ///   - name: Only versions of this name, when given.
    /// - Throws: ``StoreError`` `notFound` when the experiment does not exist.
    public func artifacts(experimentID: String, name: String? = nil) async throws -> [ArtifactRecord] {
        try await pool.read { db in
            let experimentPK = try Self.artifactExperimentPK(db, experimentID)
            var clause = "a.experiment_pk = ?"
            var arguments: StatementArguments = [experimentPK]
            if let name {
                clause += " AND a.name = ?"
                arguments += [name]
            }
            return try Self.artifactRecords(db, where: clause, arguments: arguments)
        }
    }

    /// The artifact versions a run produced, ordered by name and version, for use inside a
    /// read or write (GetRun).
    package static func artifactRecords(_ db: Database, runPK: Int64, name: String? = nil) throws -> [ArtifactRecord] {
        var clause = "a.run_pk = ?"
        var arguments: StatementArguments = [runPK]
        if let name {
            clause += " AND a.name = ?"
            arguments += [name]
        }
        return try artifactRecords(db, where: clause, arguments: arguments)
    }

    /// A version and, for a folder, its files in path order (empty for a file).
    /// - Throws: ``StoreError`` `notFound`.
    public func artifactWithFiles(_ reference: ArtifactReference) async throws -> (ArtifactRecord, [ArtifactFileRecord]) {
        try await pool.read { db in
            let record = try Self.artifactRecord(db, pk: Self.artifactPK(db, reference))
            let files = try Row.fetchAll(
                db, sql: "SELECT path, sha256, size FROM artifact_files WHERE artifact_pk = ? ORDER BY path", arguments: [record.pk]
            ).map { ArtifactFileRecord(path: $0["path"], sha256: $0["sha256"], size: $0["size"]) }
            return (record, files)
        }
    }

    static func artifactRecord(_ db: Database, pk: Int64) throws -> ArtifactRecord {
        guard let record = try artifactRecords(db, where: "a.pk = ?", arguments: [pk]).first else {
            throw StoreError.artifactNotFound(pk: pk)
        }
        return record
    }

    /// Records matching `clause`, a condition on the columns of `artifacts a`.
    static func artifactRecords(_ db: Database, where clause: String, arguments: StatementArguments) throws -> [ArtifactRecord] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT a.*, e.id AS experiment_id, r.id AS run_id,
                   a.version = (SELECT MAX(m.version) FROM artifacts m
                                WHERE m.experiment_pk = a.experiment_pk AND m.name = a.name) AS is_latest
            FROM artifacts a
            JOIN experiments e ON e.pk = a.experiment_pk
            LEFT JOIN runs r ON r.pk = a.run_pk
            WHERE \(clause)
            ORDER BY a.name, a.version
            """, arguments: arguments)
        guard !rows.isEmpty else { return [] }
        var metadata: [Int64: [String: String]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT t.artifact_pk, t.key, t.value FROM artifact_metadata t
            JOIN artifacts a ON a.pk = t.artifact_pk WHERE \(clause)
            """, arguments: arguments) {
            metadata[row["artifact_pk"], default: [:]][row["key"]] = row["value"] as String
        }
        var aliases: [Int64: [String]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT t.artifact_pk, t.alias FROM artifact_aliases t
            JOIN artifacts a ON a.pk = t.artifact_pk WHERE \(clause) ORDER BY t.alias
            """, arguments: arguments) {
            aliases[row["artifact_pk"], default: []].append(row["alias"])
        }
        return rows.map { row in
            let pk: Int64 = row["pk"]
            var names = aliases[pk] ?? []
            if row["is_latest"] as Bool { names.append(latestAlias) }
            return ArtifactRecord(
                pk: pk,
                id: row["id"],
                experimentPK: row["experiment_pk"],
                experimentID: row["experiment_id"],
                runID: row["run_id"],
                name: row["name"],
                type: row["type"],
                version: row["version"],
                sha256: row["sha256"],
                size: row["size"],
                metadata: metadata[pk] ?? [:],
                aliases: names,
                createdAtMs: row["created_at_ms"],
                folder: row["folder"],
                fileCount: row["file_count"],
                filesSize: row["files_size"]
            )
        }
    }

    static func artifactExperimentPK(_ db: Database, _ id: String) throws -> Int64 {
        guard let pk = try Int64.fetchOne(db, sql: "SELECT pk FROM experiments WHERE id = ?", arguments: [id]) else {
            throw StoreError.artifactExperimentNotFound(id)
        }
        return pk
    }

    /// The row a reference names.
    static func artifactPK(_ db: Database, _ reference: ArtifactReference) throws -> Int64 {
        let pk: Int64?
        switch reference.lookup {
        case .id(let id):
            pk = try Int64.fetchOne(db, sql: "SELECT pk FROM artifacts WHERE id = ?", arguments: [id])
        case .runVersion(let runID, let name, let version):
            let runPK = try runPK(db, id: runID)
            pk = try Int64.fetchOne(
                db, sql: "SELECT pk FROM artifacts WHERE run_pk = ? AND name = ? AND version = ?", arguments: [runPK, name, version]
            )
        case .runAlias(let runID, let name, let alias):
            let runPK = try runPK(db, id: runID)
            pk = try Int64.fetchOne(db, sql: """
                SELECT a.pk FROM artifact_aliases l JOIN artifacts a ON a.pk = l.artifact_pk
                WHERE a.run_pk = ? AND l.name = ? AND l.alias = ?
                """, arguments: [runPK, name, alias])
        case .runLatest(let runID, let name):
            let runPK = try runPK(db, id: runID)
            pk = try Int64.fetchOne(
                db, sql: "SELECT pk FROM artifacts WHERE run_pk = ? AND name = ? ORDER BY version DESC LIMIT 1", arguments: [runPK, name]
            )
        case .experimentVersion(let experimentID, let name, let version):
            let experimentPK = try artifactExperimentPK(db, experimentID)
            pk = try Int64.fetchOne(
                db,
                sql: "SELECT pk FROM artifacts WHERE experiment_pk = ? AND name = ? AND version = ?",
                arguments: [experimentPK, name, version]
            )
        case .experimentLatest(let experimentID, let name):
            let experimentPK = try artifactExperimentPK(db, experimentID)
            pk = try Int64.fetchOne(
                db,
                sql: "SELECT pk FROM artifacts WHERE experiment_pk = ? AND name = ? ORDER BY version DESC LIMIT 1",
                arguments: [experimentPK, name]
            )
        case .experimentAlias(let experimentID, let name, let alias):
            let experimentPK = try artifactExperimentPK(db, experimentID)
            pk = try Int64.fetchOne(
                db,
                sql: "SELECT artifact_pk FROM artifact_aliases WHERE experiment_pk = ? AND name = ? AND alias = ?",
                arguments: [experimentPK, name, alias]
            )
        }
        guard let pk else { throw reference.notFoundError }
        return pk
    }

    // MARK: - Aliases

    /// Points a user alias at an artifact version, moving it from another version of the same
    /// name if it pointed elsewhere.
    /// - Throws: ``StoreError`` `invalidArgument` for a bad alias (including "latest"),
    ///   `notFound` for the version.
    public func setArtifactAlias(_ reference: ArtifactReference, alias: String) async throws -> ArtifactRecord {
        try Self.validateArtifactAlias(alias)
        return try await pool.write { db in
            let pk = try Self.artifactPK(db, reference)
            guard let row = try Row.fetchOne(db, sql: "SELECT experiment_pk, name FROM artifacts WHERE pk = ?", arguments: [pk]) else {
                throw StoreError.artifactNotFound(pk: pk)
            }
            try Self.pointAlias(db, experimentPK: row["experiment_pk"], name: row["name"], alias: alias, at: pk)
            return try Self.artifactRecord(db, pk: pk)
        }
    }

    static func pointAlias(_ db: Database, experimentPK: Int64, name: String, alias: String, at pk: Int64) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO artifact_aliases (experiment_pk, name, alias, artifact_pk) VALUES (?, ?, ?, ?)",
            arguments: [experimentPK, name, alias, pk]
        )
    }

    // MARK: - Deleting

    /// Deletes an artifact version with its metadata and aliases, and its content blob when no
    /// other version references it. "latest" falls back to the highest remaining version.
    /// - Throws: ``StoreError`` `notFound`.
    public func deleteArtifact(_ reference: ArtifactReference, blobs: any BlobStore) async throws -> DeletedArtifact {
        try await pool.write { db in
            let record = try Self.artifactRecord(db, pk: Self.artifactPK(db, reference))
            let fileHashes = try String.fetchAll(
                db, sql: "SELECT DISTINCT sha256 FROM artifact_files WHERE artifact_pk = ?", arguments: [record.pk]
            )
            try db.execute(sql: "DELETE FROM artifacts WHERE pk = ?", arguments: [record.pk])
            let removed = try Self.collectGarbage(db, candidates: Set(fileHashes).union([record.sha256]), blobs: blobs)
            return DeletedArtifact(artifact: record, blobRemoved: removed.contains(record.sha256))
        }
    }

    /// Deletes every artifact version these runs produced, and the blobs no other version
    /// references. Call it inside the write transaction that deletes the runs, before deleting
    /// them (the rows would otherwise go by cascade, leaving their blobs behind).
    /// - Returns: The number of versions deleted.
    @discardableResult
    package static func deleteArtifacts(_ db: Database, runPKs: some Collection<Int64>, blobs: any BlobStore) throws -> Int {
        var deleted = 0
        var candidates = Set<String>()
        let pks = Array(runPKs)
        for start in stride(from: 0, to: pks.count, by: 500) {
            let batch = Array(pks[start..<min(start + 500, pks.count)])
            let placeholders = databaseQuestionMarks(count: batch.count)
            let arguments = StatementArguments(batch)
            candidates.formUnion(try String.fetchAll(
                db, sql: "SELECT DISTINCT sha256 FROM artifacts WHERE run_pk IN (\(placeholders))", arguments: arguments
            ))
            candidates.formUnion(try String.fetchAll(
                db, sql: """
                    SELECT DISTINCT f.sha256 FROM artifact_files f JOIN artifacts a ON a.pk = f.artifact_pk
                    WHERE a.run_pk IN (\(placeholders))
                    """, arguments: arguments
            ))
            try db.execute(sql: "DELETE FROM artifacts WHERE run_pk IN (\(placeholders))", arguments: arguments)
            deleted += db.changesCount
        }
        try collectGarbage(db, candidates: candidates, blobs: blobs)
        return deleted
    }

    /// Deletes every artifact version of an experiment, and the blobs no other version
    /// references. Call it inside the write transaction that deletes the experiment, before
    /// deleting it.
    /// - Returns: The number of versions deleted.
    @discardableResult
    package static func deleteArtifacts(_ db: Database, experimentPK: Int64, blobs: any BlobStore) throws -> Int {
        let candidates = try String.fetchAll(
            db, sql: """
                SELECT sha256 FROM artifacts WHERE experiment_pk = ?
                UNION SELECT f.sha256 FROM artifact_files f JOIN artifacts a ON a.pk = f.artifact_pk WHERE a.experiment_pk = ?
                """, arguments: [experimentPK, experimentPK]
        )
        try db.execute(sql: "DELETE FROM artifacts WHERE experiment_pk = ?", arguments: [experimentPK])
        let deleted = db.changesCount
        try collectGarbage(db, candidates: Set(candidates), blobs: blobs)
        return deleted
    }

    /// Removes the blobs among `candidates` (content hashes of deleted artifact rows) that no
    /// artifact row references any more.
    ///
    /// Call it inside a write transaction (`pool.write`), after deleting the rows. The files are
    /// unlinked when the transaction commits, from the commit itself — still holding the
    /// writer, so no upload can start referencing them in between — and kept if it rolls back.
    /// A crash between commit and unlink leaves an unreferenced blob, never a missing one.
    /// - Returns: The hashes whose blobs are removed.
    @discardableResult
    package static func collectGarbage(_ db: Database, candidates: Set<String>, blobs: any BlobStore) throws -> Set<String> {
        var unreferenced = Set<String>()
        for sha256 in candidates {
            let referenced = try Bool.fetchOne(
                db, sql: """
                    SELECT EXISTS (SELECT 1 FROM artifacts WHERE sha256 = ?)
                        OR EXISTS (SELECT 1 FROM artifact_files WHERE sha256 = ?)
                    """, arguments: [sha256, sha256]
            ) ?? false
            if !referenced { unreferenced.insert(sha256) }
        }
        if !unreferenced.isEmpty {
            let doomed = unreferenced
            db.afterNextTransaction(onCommit: { _ in
                for sha256 in doomed { blobs.remove(sha256: sha256) }
            })
        }
        return unreferenced
    }

    // MARK: - Validation

    /// Checks an artifact name: 1 to `maxLength` characters, no NUL or other control character,
    /// no backslash, not absolute, and, split at "/", no empty, "." or ".." segment.
    /// - Throws: ``StoreError`` `invalidArgument` with field "name".
    public static func validateArtifactName(_ name: String, maxLength: Int, what: String = "artifact name", field: String = "name") throws {
        func invalid(_ reason: String) -> StoreError {
            StoreError(code: .invalidArgument, message: "invalid \(what) \(String(reflecting: name)): \(reason)", field: field)
        }
        guard !name.isEmpty else { throw invalid("it is empty") }
        guard name.count <= maxLength else { throw invalid("it is longer than \(maxLength) characters") }
        if name.unicodeScalars.contains("\0") { throw invalid("it contains NUL") }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw invalid("it contains a control character")
        }
        if name.contains("\\") { throw invalid("it contains a backslash") }
        if name.hasPrefix("/") { throw invalid("it is an absolute path") }
        for segment in name.split(separator: "/", omittingEmptySubsequences: false) {
            switch segment {
            case "": throw invalid("it has an empty path segment")
            case ".", "..": throw invalid("it has a \"\(segment)\" path segment")
            default: continue
            }
        }
    }

    /// Checks a user alias: 1 to 64 characters of A–Z, a–z, 0–9, "_", "." and "-", not only
    /// digits (those would read as versions), and not "latest" (kept automatically).
    /// - Throws: ``StoreError`` `invalidArgument` with field "alias".
    public static func validateArtifactAlias(_ alias: String) throws {
        func invalid(_ reason: String) -> StoreError {
            StoreError(code: .invalidArgument, message: "invalid artifact alias \(String(reflecting: alias)): \(reason)", field: "alias")
        }
        guard !alias.isEmpty else { throw invalid("it is empty") }
        guard alias.utf8.count <= 64 else { throw invalid("it is longer than 64 characters") }
        let allowed = alias.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
        guard allowed else { throw invalid("only letters, digits, \"_\", \".\" and \"-\" are allowed") }
        if alias.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            throw invalid("it is only digits, which would read as a version")
        }
        if alias == latestAlias { throw invalid("\"latest\" is kept automatically on the highest version") }
    }
}
