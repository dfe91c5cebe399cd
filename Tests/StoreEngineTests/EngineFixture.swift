import Foundation
import Logging
import TallyPostgres
import TallyStore
import Testing

/// The engines the suite runs against: SQLite always, PostgreSQL when
/// `$TALLY_TEST_POSTGRES_URL` names a server (its password in `$TALLY_PG_PASSWORD`);
/// `scripts/test` starts a throwaway cluster and sets both, with `$TALLY_REQUIRE_POSTGRES=1` so
/// that a missing server fails the run instead of skipping half of it.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["TALLY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The engines to test here.
    static var available: [Engine] {
        if postgresURL == nil, ProcessInfo.processInfo.environment["TALLY_REQUIRE_POSTGRES"] == "1" {
            // Both cases, so the PostgreSQL one fails loudly in `EngineFixture.with`.
            return allCases
        }
        return postgresURL == nil ? [.sqlite] : allCases
    }
}

/// A fresh store of one engine and a blob store in a temporary folder, for one test: a new
/// SQLite file, or a new PostgreSQL database (created on the server of
/// `$TALLY_TEST_POSTGRES_URL`, dropped afterwards).
struct EngineFixture {
    let engine: Engine
    let store: any StoreEngine
    let blobs: FolderBlobStore
    let directory: String

    static let logger = Logger(label: "tally.test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func with<T: Sendable>(_ engine: Engine, _ body: (EngineFixture) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "tally-engine-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let blobs = try FolderBlobStore(directory: directory + "/artifacts")
        switch engine {
        case .sqlite:
            let store = try Store(path: directory + "/tally.sqlite", logger: logger)
            defer { try? store.close() }
            return try await body(EngineFixture(engine: engine, store: store, blobs: blobs, directory: directory))
        case .postgres:
            guard let text = Engine.postgresURL else {
                throw StoreError(code: .failedPrecondition, message: "TALLY_REQUIRE_POSTGRES=1 but TALLY_TEST_POSTGRES_URL is not set")
            }
            let server = try PostgresURL(text)
            let password = PostgresPassword.resolve(for: server)
            let name = "tally_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try await TestDatabases.create(name, on: server, password: password)
            var url = server
            url.database = String(name)
            let store = PostgresStore(url: url, password: password, maximumConnections: 8, logger: logger)
            let result: Result<T, any Error>
            do {
                result = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await store.run() }
                    defer { group.cancelAll() }
                    do {
                        try await store.migrate()
                        return .success(try await body(EngineFixture(engine: engine, store: store, blobs: blobs, directory: directory)))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            try await TestDatabases.drop(String(name), on: server, password: password)
            return try result.get()
        }
    }
}

/// Creates and drops the per-test databases through the server's own database.
enum TestDatabases {
    static func admin<T: Sendable>(_ server: PostgresURL, password: String?, _ body: @escaping @Sendable (PostgresStore) async throws -> T) async throws -> T {
        let store = PostgresStore(url: server, password: password, maximumConnections: 1, logger: EngineFixture.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    static func create(_ name: String, on server: PostgresURL, password: String?) async throws {
        try await admin(server, password: password) { store in
            try await store.executeUnsafe("CREATE DATABASE \(name)")
        }
    }

    static func drop(_ name: String, on server: PostgresURL, password: String?) async throws {
        try await admin(server, password: password) { store in
            try await store.executeUnsafe("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }
}
