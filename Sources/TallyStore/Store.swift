import Foundation
package import GRDB
public import Logging

/// The SQLite store: one file, WAL mode, one writer (GRDB serializes writes on its own queue,
/// never on an event loop), any number of concurrent readers, and named migrations applied at open.
public final class Store: Sendable {
    /// Path of the SQLite file.
    public let path: String
    /// The connection pool. Services read and write through it.
    package let pool: DatabasePool
    private let logger: Logger

    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    /// - Parameters:
    ///   - path: Path of the SQLite file; its directory is created if missing.
    ///   - logger: Logger for migrations and errors.
    /// - Throws: ``StoreError`` when the file cannot be opened or migrated.
    /// When an acknowledged commit reaches the disk.
    package enum Durability: String, Sendable {
        /// The WAL is synced at every commit (`PRAGMA synchronous = FULL`): an acknowledged write
        /// survives a crash of the process and a power loss. The daemon's setting.
        case full
        /// The WAL is synced only at checkpoints (`NORMAL`): an acknowledged write survives a
        /// crash of the process but not a power loss. Only the benchmark's baseline uses it.
        case normal
    }

    public convenience init(path: String, logger: Logger = Logger(label: "tally.store")) throws {
        try self.init(path: path, durability: .full, logger: logger)
    }

    package init(path: String, durability: Durability, logger: Logger = Logger(label: "tally.store")) throws {
        self.path = path
        self.logger = logger
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.foreignKeysEnabled = true
            pool = try DatabasePool(path: path, configuration: configuration)
            // Acknowledged writes must survive a crash of the process and of the machine, so the
            // writer syncs the WAL at every commit. This is set here, on the pool's one writer
            // connection, because the pool switches that connection to WAL after the setup hooks
            // and lowers `synchronous` to NORMAL as it does so.
            try pool.barrierWriteWithoutTransaction { db in
                try db.execute(sql: durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            }
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(code: .openFailed, message: "cannot open the store at \(path): \(error)", cause: error)
        }
        logger.debug("store open", metadata: ["path": "\(path)"])
    }

    /// Names of the applied migrations, oldest first.
    public func appliedMigrations() async throws -> [String] {
        let applied = try await pool.read { db in try Self.migrator.appliedIdentifiers(db) }
        return Self.migrator.migrations.filter { applied.contains($0) }
    }

    /// The writer connection's `PRAGMA synchronous` (2 is FULL: the WAL is synced at every commit).
    package func writerSynchronousMode() async throws -> Int {
        try await pool.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
    }

    /// Runs SQLite's integrity check.
    /// - Returns: `true` when the database file is sound.
    public func integrityCheck() async throws -> Bool {
        try await pool.read { db in
            try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok"
        }
    }

    /// Checkpoints the WAL and closes every connection. Calls after this fail.
    public func close() throws {
        do {
            _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            try pool.close()
        } catch {
            throw StoreError(code: .closeFailed, message: "cannot close the store at \(path): \(error)", cause: error)
        }
    }
}
