import Foundation
import NIOCore
import PostgresNIO
package import TallyStore
import Synchronization

// Artifact versions, as Store+Artifacts.swift keeps them on SQLite: the same records, orders and
// errors. What SQLite's single writer serializes is serialized here by locks:
// - version numbers: the name's `artifact_names` row, locked by its `UPDATE … RETURNING` until the
//   upload commits, so they stay unique and gap-free across daemons;
// - blobs: `pg_advisory_xact_lock(hashtextextended(sha256, 0))`, taken by an upload before it
//   moves a blob in and by garbage collection (``collectGarbage(candidates:blobs:)``) while it
//   re-checks references and unlinks, so an upload and a deletion of the same content never
//   interleave;
// - the run: its row is share-locked by an upload, so it cannot end or go meanwhile.
extension PostgresStore {

    // MARK: - Upload

    package func checkArtifactUpload(runID: String) async throws {
        try await read { connection in
            _ = try await artifactUploadTarget(connection, runID: runID, lock: false)
        }
    }

    package func createArtifact(_ artifact: NewArtifact, content: PendingBlob, files: [ArtifactFolderFile], blobs: any BlobStore) async throws -> ArtifactRecord {
        let manifest = FolderManifest(files: files.map { ArtifactFileRecord(path: $0.path, sha256: $0.content.sha256, size: $0.content.size) })
        let filesSize = try manifest.totalSize()
        let pending = [content] + files.map(\.content)
        // The blobs this call moved into place, removed again if the transaction fails.
        let moved = Mutex<Set<String>>([])
        do {
            return try await transaction { connection in
                let (runPK, experimentPK) = try await artifactUploadTarget(connection, runID: artifact.runID, lock: true)
                try await connection.query("""
                    INSERT INTO artifact_names (experiment_pk, name, next_version) VALUES (\(experimentPK), \(artifact.name), 1)
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
                var version: Int64 = 1
                for try await value in try await connection.query("""
                    UPDATE artifact_names SET next_version = next_version + 1
                    WHERE experiment_pk = \(experimentPK) AND name = \(artifact.name) RETURNING next_version - 1
                    """, logger: logger).decode(Int64.self) {
                    version = value
                }
                var pk: Int64?
                for try await value in try await connection.query("""
                    INSERT INTO artifacts (id, experiment_pk, run_pk, name, type, version, sha256, size, created_at_ms,
                                           folder, file_count, files_size)
                    VALUES (\(Identifiers.make()), \(experimentPK), \(runPK), \(artifact.name), \(Int64(artifact.type)), \(version),
                            \(content.sha256), \(content.size), \(Identifiers.nowMs()),
                            \(artifact.folder), \(Int64(manifest.files.count)), \(filesSize))
                    RETURNING pk
                    """, logger: logger).decode(Int64.self) {
                    pk = value
                }
                guard let pk else {
                    throw StoreError(code: .notFound, message: "the new artifact version was not returned", field: "artifact")
                }
                for chunk in Self.artifactBatches(manifest.files) {
                    try await connection.query("""
                        INSERT INTO artifact_files (artifact_pk, path, sha256, size)
                        SELECT \(pk), * FROM unnest(\(chunk.map(\.path))::text[], \(chunk.map(\.sha256))::text[], \(chunk.map(\.size))::bigint[])
                        """, logger: logger)
                }
                if !artifact.metadata.isEmpty {
                    let entries = artifact.metadata.sorted { $0.key < $1.key }
                    try await connection.query("""
                        INSERT INTO artifact_metadata (artifact_pk, key, value)
                        SELECT \(pk), * FROM unnest(\(entries.map(\.key))::text[], \(entries.map(\.value))::text[])
                        """, logger: logger)
                }
                for alias in Set(artifact.aliases).sorted() {
                    try await pointAlias(connection, experimentPK: experimentPK, name: artifact.name, alias: alias, at: pk)
                }
                // Last, so that nothing after it can fail but another move. Each blob's lock first,
                // in hash order (no deadlock between uploads sharing several blobs), held until
                // the transaction ends: garbage collection cannot look at these hashes until the
                // rows referencing them are committed (or rolled back and the blobs removed).
                for sha256 in Set(pending.map(\.sha256)).sorted() {
                    try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(sha256), 0))", logger: logger)
                }
                for blob in pending {
                    if try await Blobs.offload({ try blobs.commit(blob) }) {
                        moved.withLock { _ = $0.insert(blob.sha256) }
                    }
                }
                return try await artifactRecord(connection, pk: pk)
            }
        } catch {
            // Removed under the same locks as any garbage, and only if nothing references them
            // (another upload of the same content may have committed since our rollback).
            let doomed = moved.withLock { $0 }
            if !doomed.isEmpty {
                do {
                    try await collectGarbage(candidates: doomed, blobs: blobs)
                } catch {
                    logger.warning("cannot remove the blobs of a failed upload", metadata: ["error": "\(Self.describe(error))"])
                }
            }
            throw error
        }
    }

    /// The run an upload goes to, and its experiment; its row share-locked when `lock` (inside
    /// a transaction), so that it cannot end or be deleted before the upload commits.
    /// - Throws: ``StoreError`` `notFound`, or `failedPrecondition` when the run has ended.
    func artifactUploadTarget(_ connection: PostgresConnection, runID: String, lock: Bool) async throws -> (runPK: Int64, experimentPK: Int64) {
        let rows = try await connection.query(
            "SELECT pk, experiment_pk, status FROM runs WHERE id = \(runID)\(unescaped: lock ? " FOR SHARE" : "")", logger: logger
        )
        for try await (pk, experimentPK, status) in rows.decode((Int64, Int64, Int64).self) {
            guard status == Int64(RunState.running.rawValue) else {
                let state = RunState(rawValue: Int(status))?.name ?? "ended"
                throw StoreError(
                    code: .failedPrecondition,
                    message: "run \(runID) is \(state); artifacts can only be uploaded to a running run",
                    field: "run_id"
                )
            }
            return (pk, experimentPK)
        }
        throw StoreError(code: .notFound, message: "run \(runID) not found", field: "run_id")
    }

    // MARK: - Reading

    /// Runs `body` in a read-only transaction on one snapshot, as SQLite's reads see one.
    func artifactSnapshot<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await body(connection)
        }
    }

    package func artifact(_ reference: ArtifactReference) async throws -> ArtifactRecord {
        try await artifactSnapshot { connection in
            try await artifactRecord(connection, pk: artifactPK(connection, reference))
        }
    }

    package func artifactWithFiles(_ reference: ArtifactReference) async throws -> (ArtifactRecord, [ArtifactFileRecord]) {
        try await artifactSnapshot { connection in
            let record = try await artifactRecord(connection, pk: artifactPK(connection, reference))
            return (record, try await artifactFiles(connection, pk: record.pk))
        }
    }

    package func artifacts(runID: String, name: String?) async throws -> [ArtifactRecord] {
        try await artifactSnapshot { connection in
            let runPK = try await Self.runPK(connection, id: runID, logger: logger)
            return try await artifactRecords(connection, .run(runPK, name: name))
        }
    }

    package func artifacts(experimentID: String, name: String?) async throws -> [ArtifactRecord] {
        try await artifactSnapshot { connection in
            let experimentPK = try await artifactExperimentPK(connection, experimentID)
            return try await artifactRecords(connection, .experiment(experimentPK, name: name))
        }
    }

    /// A folder version's files in path order (empty for a file).
    func artifactFiles(_ connection: PostgresConnection, pk: Int64) async throws -> [ArtifactFileRecord] {
        var files: [ArtifactFileRecord] = []
        for try await (path, sha256, size) in try await connection.query(
            "SELECT path, sha256, size FROM artifact_files WHERE artifact_pk = \(pk) ORDER BY path", logger: logger
        ).decode((String, String, Int64).self) {
            files.append(ArtifactFileRecord(path: path, sha256: sha256, size: size))
        }
        return files
    }

    /// `items` in batches of at most 1,000, for statements that take them as arrays.
    static func artifactBatches<Element>(_ items: [Element]) -> [ArraySlice<Element>] {
        stride(from: 0, to: items.count, by: 1000).map { items[$0..<min($0 + 1000, items.count)] }
    }

    /// Which versions ``artifactRecords(_:_:)`` loads.
    enum ArtifactSelection {
        case pk(Int64)
        case run(Int64, name: String?)
        case experiment(Int64, name: String?)
    }

    func artifactRecord(_ connection: PostgresConnection, pk: Int64) async throws -> ArtifactRecord {
        guard let record = try await artifactRecords(connection, .pk(pk)).first else {
            throw StoreError.artifactNotFound(pk: pk)
        }
        return record
    }

    /// The condition on the versions a run or an experiment (`column` = `ownerPK`) holds,
    /// of one name when `name` is given; binds its values as $1 and $2.
    private static func ownerClause(_ column: String, _ ownerPK: Int64, name: String?, _ binds: inout PostgresBindings) -> String {
        binds.append(ownerPK)
        guard let name else { return "\(column) = $1" }
        binds.append(name)
        return "\(column) = $1 AND a.name = $2"
    }

    /// The selected versions, ordered by name and version, with their metadata and aliases
    /// ("latest" last, on the highest version of each name).
    func artifactRecords(_ connection: PostgresConnection, _ selection: ArtifactSelection) async throws -> [ArtifactRecord] {
        var binds = PostgresBindings()
        let clause: String
        switch selection {
        case .pk(let pk):
            binds.append(pk)
            clause = "a.pk = $1"
        case .run(let runPK, let name):
            clause = Self.ownerClause("a.run_pk", runPK, name: name, &binds)
        case .experiment(let experimentPK, let name):
            clause = Self.ownerClause("a.experiment_pk", experimentPK, name: name, &binds)
        }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT a.pk, a.id, a.experiment_pk, e.id, r.id, a.name, a.type, a.version, a.sha256, a.size, a.created_at_ms,
                   a.folder, a.file_count, a.files_size,
                   a.version = (SELECT MAX(m.version) FROM artifacts m
                                WHERE m.experiment_pk = a.experiment_pk AND m.name = a.name) AS is_latest
            FROM artifacts a
            JOIN experiments e ON e.pk = a.experiment_pk
            LEFT JOIN runs r ON r.pk = a.run_pk
            WHERE \(clause)
            ORDER BY a.name, a.version
            """, binds: binds), logger: logger)
        var records: [ArtifactRecord] = []
        var latest = Set<Int64>()
        for try await (pk, id, experimentPK, experimentID, runID, name, type, version, sha256, size, createdAt, folder, fileCount, filesSize, isLatest)
            in rows.decode((Int64, String, Int64, String, String?, String, Int64, Int64, String, Int64, Int64, Bool, Int64, Int64, Bool).self)
        {
            if isLatest { latest.insert(pk) }
            records.append(ArtifactRecord(
                pk: pk, id: id, experimentPK: experimentPK, experimentID: experimentID, runID: runID, name: name,
                type: Int(type), version: Int(version), sha256: sha256, size: size, metadata: [:], aliases: [],
                createdAtMs: createdAt, folder: folder, fileCount: Int(fileCount), filesSize: filesSize
            ))
        }
        guard !records.isEmpty else { return [] }
        let pks = records.map(\.pk)
        var metadata: [Int64: [String: String]] = [:]
        var aliases: [Int64: [String]] = [:]
        for chunk in Self.artifactBatches(pks) {
            for try await (pk, key, value) in try await connection.query(
                "SELECT artifact_pk, key, value FROM artifact_metadata WHERE artifact_pk = ANY(\(Array(chunk)))", logger: logger
            ).decode((Int64, String, String).self) {
                metadata[pk, default: [:]][key] = value
            }
            for try await (pk, alias) in try await connection.query(
                "SELECT artifact_pk, alias FROM artifact_aliases WHERE artifact_pk = ANY(\(Array(chunk))) ORDER BY alias", logger: logger
            ).decode((Int64, String).self) {
                aliases[pk, default: []].append(alias)
            }
        }
        return records.map { record in
            var record = record
            record.metadata = metadata[record.pk] ?? [:]
            record.aliases = aliases[record.pk] ?? []
            if latest.contains(record.pk) { record.aliases.append(Store.latestAlias) }
            return record
        }
    }

    /// An experiment's key, with the error artifact operations give (field "experiment_id").
    func artifactExperimentPK(_ connection: PostgresConnection, _ id: String) async throws -> Int64 {
        for try await pk in try await connection.query("SELECT pk FROM experiments WHERE id = \(id)", logger: logger).decode(Int64.self) {
            return pk
        }
        throw StoreError.artifactExperimentNotFound(id)
    }

    /// The first value of a one-column query, if any.
    private func artifactFirstPK(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> Int64? {
        for try await pk in try await connection.query(query, logger: logger).decode(Int64.self) { return pk }
        return nil
    }

    /// The row a reference names.
    func artifactPK(_ connection: PostgresConnection, _ reference: ArtifactReference) async throws -> Int64 {
        let pk: Int64?
        switch reference.lookup {
        case .id(let id):
            pk = try await artifactFirstPK(connection, "SELECT pk FROM artifacts WHERE id = \(id)")
        case .runVersion(let runID, let name, let version):
            let runPK = try await Self.runPK(connection, id: runID, logger: logger)
            pk = try await artifactFirstPK(
                connection, "SELECT pk FROM artifacts WHERE run_pk = \(runPK) AND name = \(name) AND version = \(Int64(version))"
            )
        case .runAlias(let runID, let name, let alias):
            let runPK = try await Self.runPK(connection, id: runID, logger: logger)
            pk = try await artifactFirstPK(connection, """
                SELECT a.pk FROM artifact_aliases l JOIN artifacts a ON a.pk = l.artifact_pk
                WHERE a.run_pk = \(runPK) AND l.name = \(name) AND l.alias = \(alias)
                """)
        case .runLatest(let runID, let name):
            let runPK = try await Self.runPK(connection, id: runID, logger: logger)
            pk = try await artifactFirstPK(
                connection, "SELECT pk FROM artifacts WHERE run_pk = \(runPK) AND name = \(name) ORDER BY version DESC LIMIT 1"
            )
        case .experimentVersion(let experimentID, let name, let version):
            let experimentPK = try await artifactExperimentPK(connection, experimentID)
            pk = try await artifactFirstPK(
                connection, "SELECT pk FROM artifacts WHERE experiment_pk = \(experimentPK) AND name = \(name) AND version = \(Int64(version))"
            )
        case .experimentLatest(let experimentID, let name):
            let experimentPK = try await artifactExperimentPK(connection, experimentID)
            pk = try await artifactFirstPK(
                connection, "SELECT pk FROM artifacts WHERE experiment_pk = \(experimentPK) AND name = \(name) ORDER BY version DESC LIMIT 1"
            )
        case .experimentAlias(let experimentID, let name, let alias):
            let experimentPK = try await artifactExperimentPK(connection, experimentID)
            pk = try await artifactFirstPK(
                connection, "SELECT artifact_pk FROM artifact_aliases WHERE experiment_pk = \(experimentPK) AND name = \(name) AND alias = \(alias)"
            )
        }
        guard let pk else { throw reference.notFoundError }
        return pk
    }

    // MARK: - Aliases

    package func setArtifactAlias(_ reference: ArtifactReference, alias: String) async throws -> ArtifactRecord {
        try Store.validateArtifactAlias(alias)
        return try await transaction { connection in
            let pk = try await artifactPK(connection, reference)
            // Share-locked, so that the version cannot be deleted before the alias points at it.
            let rows = try await connection.query("SELECT experiment_pk, name FROM artifacts WHERE pk = \(pk) FOR SHARE", logger: logger)
            var target: (experimentPK: Int64, name: String)?
            for try await row in rows.decode((Int64, String).self) { target = row }
            guard let target else {
                throw StoreError.artifactNotFound(pk: pk)
            }
            try await pointAlias(connection, experimentPK: target.experimentPK, name: target.name, alias: alias, at: pk)
            return try await artifactRecord(connection, pk: pk)
        }
    }

    /// Points an alias of a name at a version, moving it from another version if it pointed
    /// elsewhere (SQLite's `INSERT OR REPLACE`).
    func pointAlias(_ connection: PostgresConnection, experimentPK: Int64, name: String, alias: String, at pk: Int64) async throws {
        try await connection.query("""
            INSERT INTO artifact_aliases (experiment_pk, name, alias, artifact_pk) VALUES (\(experimentPK), \(name), \(alias), \(pk))
            ON CONFLICT (experiment_pk, name, alias) DO UPDATE SET artifact_pk = EXCLUDED.artifact_pk
            """, logger: logger)
    }

    // MARK: - Deleting

    package func deleteArtifact(_ reference: ArtifactReference, blobs: any BlobStore) async throws -> DeletedArtifact {
        let (record, candidates) = try await transaction { connection in
            let pk = try await artifactPK(connection, reference)
            // Locked first, so that a concurrent deletion of the same version finds it gone.
            guard try await artifactFirstPK(connection, "SELECT pk FROM artifacts WHERE pk = \(pk) FOR UPDATE") != nil else {
                throw StoreError.artifactNotFound(pk: pk)
            }
            let record = try await artifactRecord(connection, pk: pk)
            var candidates: Set<String> = [record.sha256]
            for try await sha256 in try await connection.query(
                "SELECT DISTINCT sha256 FROM artifact_files WHERE artifact_pk = \(pk)", logger: logger
            ).decode(String.self) {
                candidates.insert(sha256)
            }
            try await connection.query("DELETE FROM artifacts WHERE pk = \(pk)", logger: logger)
            return (record, candidates)
        }
        // The version is gone once the transaction commits: a collection that fails now (the
        // server lost) leaves unreferenced blobs behind, never a missing one, and is no reason
        // to report the deletion failed.
        let removed: Set<String>
        do {
            removed = try await collectGarbage(candidates: candidates, blobs: blobs)
        } catch {
            logger.warning("cannot collect the blobs of a deleted artifact", metadata: [
                "artifact": "\(record.id)", "error": "\(Self.describe(error))",
            ])
            removed = []
        }
        return DeletedArtifact(artifact: record, blobRemoved: removed.contains(record.sha256))
    }
}
