import TallyPostgres
import _ConnectionPoolModule
import TallyStore
import Testing

@Suite("Store engines: opening")
struct EngineSmokeTests {
    @Test("a fresh store opens with its migrations applied", arguments: Engine.available)
    func opens(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let migrations = try await f.store.appliedMigrations()
            #expect(!migrations.isEmpty)
            #expect(f.store.engineDescription.hasPrefix(engine.rawValue))
        }
    }

    @Test("store URLs parse, refuse passwords and unknown parameters, and print without secrets")
    func urls() throws {
        let url = try PostgresURL("postgres://alice@db.example:6543/tally?sslmode=require")
        #expect(url.user == "alice" && url.host == "db.example" && url.port == 6543 && url.database == "tally" && url.tls == .require)
        #expect(url.description == "postgres://alice@db.example:6543/tally?sslmode=require")
        #expect(try PostgresURL("postgresql://bob@127.0.0.1/x").tls == .disable)
        #expect(try PostgresURL("postgres://bob@10.0.0.2/x").tls == .prefer)
        #expect(try PostgresURL("postgres://bob@/x?host=/run/pg").socketFolder == "/run/pg")
        for bad in ["mysql://a@b/c", "postgres://a:secret@b/c", "postgres://b/c", "postgres://a@b/c?sslmode=maybe", "postgres://a@b/c?x=1", "postgres://a@b:99999/c"] {
            #expect(throws: StoreError.self, "\(bad)") { try PostgresURL(bad) }
        }
        do {
            _ = try PostgresURL("postgres://a:hunter2@b/c")
        } catch let error as StoreError {
            #expect(!error.message.contains("hunter2"))
        }
    }

    @Test("passwords come from TALLY_PG_PASSWORD, else the first matching .pgpass line")
    func passwords() throws {
        let url = try PostgresURL("postgres://alice@db:5432/tally")
        #expect(PostgresPassword.resolve(for: url, environment: ["TALLY_PG_PASSWORD": "env"]) == "env")
        let file = """
            # comment
            other:5432:tally:alice:wrong
            db:5432:tally:bob:wrong
            db:*:tally:alice:a\\:b\\\\c
            *:*:*:*:fallback
            """
        #expect(PostgresPassword.match(file, url: url) == "a:b\\c")
        #expect(PostgresPassword.match("*:*:*:*:any", url: url) == "any")
        #expect(PostgresPassword.match("db:1:tally:alice:no", url: url) == nil)
    }
}

@Suite("Store engines: PostgreSQL errors")
struct PostgresErrorTests {
    @Test("text with a NUL is INVALID_ARGUMENT on PostgreSQL, not an internal error")
    func nul() async throws {
        guard Engine.available.contains(.postgres) else { return }
        try await EngineFixture.with(.postgres) { f in
            do {
                _ = try await f.store.createExperiment(NewExperiment(name: "a\u{0}b"))
                Issue.record("a name with a NUL was accepted")
            } catch let error as StoreError {
                #expect(error.code == .invalidArgument, "\(error)")
                #expect(error.message.contains("NUL"))
            }
        }
    }
}

@Suite("Store engines: TLS to PostgreSQL")
struct PostgresTLSTests {
    /// The test server with `sslmode` set, and its password.
    static func server(_ mode: String) throws -> (PostgresURL, String?)? {
        guard let text = Engine.postgresURL else { return nil }
        let url = try PostgresURL(text + (text.contains("?") ? "&" : "?") + "sslmode=\(mode)")
        return (url, PostgresPassword.resolve(for: url))
    }

    static func withStore<T: Sendable>(_ url: PostgresURL, _ password: String?, _ body: @escaping @Sendable (PostgresStore) async throws -> T) async throws -> T {
        let store = PostgresStore(url: url, password: password, maximumConnections: 1, logger: EngineFixture.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    @Test("sslmode=require encrypts the connection, disable does not (scripts/pg-cluster serves TLS)")
    func requireAndDisable() async throws {
        guard let (required, password) = try Self.server("require"), let (plain, _) = try Self.server("disable") else { return }
        #expect(try await Self.withStore(required, password) { try await $0.connectionUsesTLS() })
        #expect(try await Self.withStore(plain, password) { try await $0.connectionUsesTLS() } == false)
    }

    @Test("a pool that cannot connect (server down, untrusted certificate) is UNAVAILABLE, not INTERNAL")
    func poolErrors() throws {
        for error in [ConnectionPoolError.connectionCreationCircuitBreakerTripped, .poolShutdown] {
            let mapped = try #require(PostgresStore.mapped(error) as? StoreError)
            #expect(mapped.code == .unavailable)
        }
        #expect(try PostgresURL("postgres://a@db/x?sslmode=verify-full").tls == .verifyFull)
    }
}
