import Foundation
import GRDB
import Testing
@testable import TallyStore

/// A fresh folder per test, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = NSTemporaryDirectory() + "tally-store-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

@Suite("Store")
struct StoreTests {
    @Test("opening a new file creates it in WAL mode with every migration applied")
    func openNew() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/nested/tally.sqlite"
            let store = try Store(path: path)
            #expect(FileManager.default.fileExists(atPath: path))
            let mode = try await store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(mode == "wal")
            let synchronous = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(synchronous == 2)  // FULL
            // The writer is the connection that commits: the pool's switch to WAL must not have
            // lowered it to NORMAL (1), which syncs only at checkpoints.
            #expect(try await store.writerSynchronousMode() == 2)
            #expect(try await store.appliedMigrations() == Store.migrator.migrations)
            #expect(try await store.integrityCheck())
            try store.close()
        }
    }

    @Test("a writer's contact is never recorded before its run started (a start and a batch sent together)")
    func contactNotBeforeStart() async throws {
        try await withTemporaryDirectory { dir in
            let store = try Store(path: dir + "/tally.sqlite")
            let run = try await store.startRun(.init(experimentName: "contact", createExperiment: true))
            // The batch was read before the start it arrived with was applied.
            _ = try await store.recordWriter(id: run.id, contactMs: run.startedAtMs - 5)
            let stored = try await store.run(id: run.id)
            #expect(stored.lastContactMs == run.startedAtMs)
            try store.close()
        }
    }

    @Test("the run a start returns is the run as stored (params of every type, tags, parent)")
    func startReturnsTheStoredRun() async throws {
        try await withTemporaryDirectory { dir in
            let store = try Store(path: dir + "/tally.sqlite")
            let parent = try await store.startRun(.init(experimentName: "as-stored", createExperiment: true))
            let started = try await store.startRun(.init(
                experimentName: "as-stored", createExperiment: true, name: "child", tags: ["a": "1", "b": ""],
                parentRunID: parent.id,
                params: ["s": .string("x"), "i": .int(-3), "d": .double(0.25), "n": .double(.nan), "inf": .double(.infinity), "b": .bool(true)]
            ))
            var stored = try await store.run(id: started.id)
            #expect(stored.params["n"].map { if case .double(let v) = $0 { v.isNaN } else { false } } == true)
            stored.params["n"] = nil
            var returned = started
            returned.params["n"] = nil
            #expect(returned == stored)
            #expect((try await store.run(id: parent.id)).childCount == 1)
            try store.close()
        }
    }

    @Test("a run started without a name gets a readable one made from its id; a given name is kept")
    func generatedRunNames() async throws {
        try await withTemporaryDirectory { dir in
            let store = try Store(path: dir + "/tally.sqlite")
            let unnamed = try await store.startRun(.init(experimentName: "names", createExperiment: true, id: "00112233445566ff"))
            #expect(unnamed.name == RunNames.make(id: "00112233445566ff"))
            #expect(try await store.run(id: unnamed.id).name == unnamed.name)
            #expect(unnamed.name.wholeMatch(of: /[a-z]+-[a-z]+-[0-9]{1,3}/) != nil, "\(unnamed.name)")
            let named = try await store.startRun(.init(experimentName: "names", createExperiment: true, name: "baseline"))
            #expect(named.name == "baseline")
            // The same id, the same name; different ids spread over the words.
            #expect(RunNames.make(id: "00112233445566ff") == RunNames.make(id: "00112233445566ff"))
            let names = Set((0..<200).map { RunNames.make(id: String(format: "%016llx", UInt64($0) &* 0x9E37_79B9_7F4A_7C15)) })
            #expect(names.count >= 195)
            try store.close()
        }
    }

    @Test("jobs stored before updated_at_ms get their latest known time")
    func jobUpdatedAtMigration() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/tally.sqlite"
            let old = try DatabaseQueue(path: path)
            try Store.migrator.migrate(old, upTo: "v8_run_writers")
            try await old.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, kind, status, config, created_at_ms, started_at_ms, completed_at_ms)
                    VALUES ('00000000000000aa', 'sweep', 3, x'', 1000, 2000, 5000), ('00000000000000bb', 'sweep', 1, x'', 7000, 0, 0)
                    """)
            }
            try old.close()
            let store = try Store(path: path)
            #expect(try await store.job("00000000000000aa").updatedAtMs == 5000)
            #expect(try await store.job("00000000000000bb").updatedAtMs == 7000)
            try store.close()
        }
    }

    @Test("reopening keeps data and does not re-run migrations")
    func reopen() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/tally.sqlite"
            let first = try Store(path: path)
            let created = try await first.pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'created_at_ms'")
            }
            try await first.pool.write { db in
                try db.execute(sql: "INSERT INTO store_meta (key, value) VALUES ('probe', 'kept')")
            }
            try first.close()
            let second = try Store(path: path)
            let probe = try await second.pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'probe'")
            }
            let createdAgain = try await second.pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'created_at_ms'")
            }
            #expect(probe == "kept")
            #expect(createdAgain == created)
            let ms = try #require(created.flatMap { Int64($0) })
            #expect(abs(ms - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
            try second.close()
        }
    }

    @Test("a path that cannot be a database fails with a clear error")
    func unopenable() async throws {
        try await withTemporaryDirectory { dir in
            // A folder where the file should be.
            let path = dir + "/db"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let error = #expect(throws: StoreError.self) {
                _ = try Store(path: path)
            }
            #expect(error?.code == .openFailed)
            #expect(error?.message.contains(path) == true)
        }
    }
}

@Suite("Page tokens")
struct PageTokenTests {
    @Test("a forged offset near Int.max ends the listing instead of overflowing")
    func forgedOffset() throws {
        let offset = try PageToken.offset("o\(Int.max)")
        #expect(PageToken.next(offset: offset, count: 1, total: Int64.max) == "")
        #expect(PageToken.next(offset: 10, count: 5, total: 20) == "o15")
        #expect(PageToken.next(offset: 10, count: 10, total: 20) == "")
    }
}
