import Foundation
package import Logging
import Synchronization
import _ConnectionPoolModule
package import PostgresNIO
import TallyStore

/// The PostgreSQL store engine: every ``StoreEngine`` operation as SQL over a pool of
/// connections (postgres-nio's `PostgresClient`), for a team's daemons sharing one database
/// (docs/teams.md).
///
/// Its connection pool lives in ``run()``, which the daemon runs as a child task for as long as
/// it serves; operations wait for a connection. Writes that SQLite serializes by having one
/// writer are serialized here by row locks (`SELECT … FOR UPDATE`) or transaction-scoped
/// advisory locks on what they touch, so that several daemons keep the same guarantees.
package final class PostgresStore: StoreEngine, Sendable {
    package let url: PostgresURL
    package let client: PostgresClient
    let logger: Logger
    /// Whether ``run()`` has started, and who waits for it (``migrate()``, so that no
    /// connection is asked for before the pool runs).
    private let running = Mutex<(started: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Prepares a store on `url`; nothing connects until ``run()`` and the first operation.
    /// - Parameters:
    ///   - url: Where the database is.
    ///   - password: Its password, when it asks for one (``PostgresPassword``).
    ///   - maximumConnections: The pool's size.
    package init(url: PostgresURL, password: String?, maximumConnections: Int = 20, logger: Logger) {
        self.url = url
        self.logger = logger
        var configuration: PostgresClient.Configuration
        if let folder = url.socketFolder {
            configuration = .init(unixSocketPath: "\(folder)/.s.PGSQL.\(url.port)", username: url.user, password: password, database: url.database)
        } else {
            let tls: PostgresClient.Configuration.TLS = switch url.tls {
            case .disable: .disable
            case .prefer:
                .prefer({
                    var tls = TLSConfiguration.makeClientConfiguration()
                    tls.certificateVerification = .none
                    return tls
                }())
            case .require:
                .require({
                    var tls = TLSConfiguration.makeClientConfiguration()
                    tls.certificateVerification = .none
                    return tls
                }())
            case .verifyFull: .require(.makeClientConfiguration())
            }
            configuration = .init(host: url.host, port: url.port, username: url.user, password: password, database: url.database, tls: tls)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    package var engineDescription: String { "postgres \(url)" }

    /// Runs the connection pool until the task is cancelled.
    package func run() async {
        let waiters = running.withLock { state in
            state.started = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
        await client.run()
    }

    /// Returns once ``run()`` has started.
    private func waitUntilRunning() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let started = running.withLock { state in
                if !state.started { state.waiters.append(continuation) }
                return state.started
            }
            if started { continuation.resume() }
        }
    }

    /// Applies the migrations not applied yet, each in a transaction holding an advisory lock.
    /// - Throws: ``StoreError`` `openFailed` when the database cannot be reached or migrated.
    package func migrate() async throws {
        await waitUntilRunning()
        // The pool starts in the task that just began `run()`; let it take its first step.
        await Task.yield()
        do {
            try await client.withConnection { connection in
                _ = try await connection.query("""
                    CREATE TABLE IF NOT EXISTS tally_migrations (name text COLLATE "C" PRIMARY KEY, applied_at_ms bigint NOT NULL)
                    """, logger: logger)
            }
            for migration in PostgresSchema.migrations {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                    let applied = try await connection.query(
                        "SELECT 1 FROM tally_migrations WHERE name = \(migration.name)", logger: logger
                    ).collect()
                    guard applied.isEmpty else { return }
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO tally_migrations (name, applied_at_ms) VALUES (\(migration.name), \(Identifiers.nowMs()))", logger: logger
                    )
                    self.logger.info("store migration applied", metadata: ["migration": "\(migration.name)", "store": "\(self.url)"])
                }
            }
        } catch {
            throw StoreError(code: .openFailed, message: "cannot open the PostgreSQL store at \(url): \(Self.describe(error))", cause: error)
        }
    }

    /// The advisory lock key migrations hold ("tally" in ASCII).
    static let migrationLock: Int64 = 0x7461_6C6C_79

    package func appliedMigrations() async throws -> [String] {
        try await read { connection in
            var names: [String] = []
            for try await name in try await connection.query("SELECT name FROM tally_migrations ORDER BY applied_at_ms, name", logger: self.logger).decode(String.self) {
                names.append(name)
            }
            return names
        }
    }

    /// Nothing to do: the pool ends with ``run()``'s task.
    package func close() async throws {}

    // MARK: - Running operations

    /// Runs `body` on a connection of the pool, outside a transaction (each statement commits on
    /// its own), mapping the driver's errors (``mapped(_:)``).
    package func read<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// Runs `body` in a transaction (committed when it returns, rolled back when it throws),
    /// mapping the driver's errors (``mapped(_:)``).
    package func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw Self.mapped(error.closureError ?? error.beginError ?? error.commitError ?? error)
        } catch {
            throw Self.mapped(error)
        }
    }

    /// A ``StoreError`` as is; a lost or refused connection as `unavailable`; a full disk as
    /// `resourceExhausted`; anything else unchanged (the services answer INTERNAL and log it).
    package static func mapped(_ error: any Error) -> any Error {
        if error is StoreError { return error }
        if let error = error as? ConnectionPoolError {
            // No connection could be made for a while (the server is down or refuses us, a
            // certificate is not trusted), or the pool is shutting down.
            return StoreError(code: .unavailable, message: "the PostgreSQL server cannot be reached: \(error)", cause: error)
        }
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .queryCancelled:
                return StoreError(code: .unavailable, message: "the PostgreSQL server cannot be reached: \(describe(error))", cause: error)
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                if state == "22021" || state == "22P05" {  // a NUL or an untranslatable character in text
                    return StoreError(code: .invalidArgument, message: "text the PostgreSQL store cannot hold: \(describe(error)) (NUL characters are not allowed)", cause: error)
                }
                if state == "53100" {  // disk_full
                    return StoreError(code: .resourceExhausted, message: "the PostgreSQL server's disk is full: \(describe(error))", cause: error)
                }
                if state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03" {  // connection exceptions, shutdowns
                    return StoreError(code: .unavailable, message: "the PostgreSQL server cannot be reached: \(describe(error))", cause: error)
                }
            default:
                break
            }
        }
        return error
    }

    /// The server's message for a server error; the error's description otherwise.
    package static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (\($0))" } ?? ""
                return message + state
            }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension PostgresStore {
    /// Runs one statement built from trusted text (no user input), outside a transaction: for
    /// administration such as the test suite's `CREATE DATABASE`.
    package func executeUnsafe(_ sql: String) async throws {
        try await read { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
        }
    }
}

extension PostgresStore {
    /// The error of an operation this engine does not have yet.
    static func notYet(_ function: String) -> StoreError {
        StoreError(code: StoreError.Code(rawValue: "unimplemented"), message: "the PostgreSQL store does not support \(function) yet")
    }
}

extension PostgresStore {
    /// Whether a connection of the pool is encrypted (`pg_stat_ssl`), as the URL's `sslmode`
    /// asked.
    package func connectionUsesTLS() async throws -> Bool {
        try await read { connection in
            var encrypted = false
            for try await ssl in try await connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: self.logger).decode(Bool.self) {
                encrypted = ssl
            }
            return encrypted
        }
    }
}
