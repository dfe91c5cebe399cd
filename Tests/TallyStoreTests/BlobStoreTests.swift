import Foundation
import GRDB
import Testing
@testable import TallyStore

@Suite("BlobStore")
struct BlobStoreTests {
    /// `count` pseudo-random bytes, the same for the same seed.
    static func bytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Writes `content` through a writer, in chunks of `chunkSize`, and returns the pending blob.
    static func write(_ content: [UInt8], to blobs: FolderBlobStore, chunkSize: Int = 1000) async throws -> PendingBlob {
        let writer = try blobs.makeWriter()
        var offset = 0
        while offset < content.count {
            let end = min(offset + chunkSize, content.count)
            try writer.write(Array(content[offset..<end]))
            offset = end
        }
        return try await writer.finish()
    }

    /// Reads a whole blob in chunks of `chunkSize`.
    static func read(_ blobs: FolderBlobStore, sha256: String, size: Int64, chunkSize: Int) throws -> [[UInt8]] {
        let reader = try blobs.makeReader(sha256: sha256, size: size)
        var chunks: [[UInt8]] = []
        while true {
            let chunk = try reader.read(maxCount: chunkSize)
            if chunk.isEmpty { break }
            chunks.append(chunk)
        }
        return chunks
    }

    static func overwrite(_ path: String, with bytes: [UInt8]) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test("SHA-256 hex matches the FIPS 180-2 test vectors")
    func vectors() {
        #expect(Blobs.sha256(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Blobs.sha256(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Blobs.isSHA256("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        #expect(!Blobs.isSHA256("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"))
        #expect(!Blobs.isSHA256("abc"))
    }

    @Test("opening creates blobs/sha256 and tmp, and removes stale temporary files")
    func layout() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/artifacts"
            _ = try FolderBlobStore(directory: root)
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: root + "/blobs/sha256", isDirectory: &isDirectory) && isDirectory.boolValue)
            #expect(FileManager.default.fileExists(atPath: root + "/tmp", isDirectory: &isDirectory) && isDirectory.boolValue)
            FileManager.default.createFile(atPath: root + "/tmp/upload-stale", contents: Data([1, 2, 3]))
            let reopened = try FolderBlobStore(directory: root)
            #expect(try reopened.temporaryFiles().isEmpty)
        }
    }

    @Test("content is hashed as written and moved to blobs/sha256/ab/<hash>, read-only")
    func writeAndCommit() async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            let content = Self.bytes(10_000)
            let pending = try await Self.write(content, to: blobs, chunkSize: 777)
            #expect(pending.sha256 == Blobs.sha256(of: content))
            #expect(pending.size == 10_000)
            #expect(try blobs.temporaryFiles().count == 1)
            #expect(try blobs.commit(pending))
            let path = dir + "/blobs/sha256/" + pending.sha256.prefix(2) + "/" + pending.sha256
            #expect(blobs.path(sha256: pending.sha256) == path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(content))
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o444)
            #expect(try blobs.temporaryFiles().isEmpty)
            #expect(try blobs.storedBlobs() == [pending.sha256])
        }
    }

    @Test("identical content is stored once; the second temporary file is dropped")
    func deduplicates() async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            let content = Self.bytes(5000)
            #expect(try blobs.commit(try await Self.write(content, to: blobs)))
            #expect(try !blobs.commit(try await Self.write(content, to: blobs, chunkSize: 3)))
            #expect(try blobs.storedBlobs() == [Blobs.sha256(of: content)])
            #expect(try blobs.temporaryFiles().isEmpty)
        }
    }

    @Test("a stored blob of the wrong size is replaced by a fresh upload of its content")
    func repairsDamagedBlob() async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            let content = Self.bytes(4096)
            let sha256 = Blobs.sha256(of: content)
            #expect(try blobs.commit(try await Self.write(content, to: blobs)))
            try Self.overwrite(blobs.path(sha256: sha256), with: Array(content.prefix(100)))
            #expect(try blobs.commit(try await Self.write(content, to: blobs)))
            #expect(try Self.read(blobs, sha256: sha256, size: 4096, chunkSize: 1000).flatMap { $0 } == content)
        }
    }

    @Test("discarding a writer, or dropping it unfinished, removes its temporary file")
    func discard() async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            let writer = try #require(try blobs.makeWriter() as? FolderBlobStore.Writer)
            try writer.write([1, 2, 3])
            #expect(FileManager.default.fileExists(atPath: writer.temporaryPath))
            writer.discard()
            #expect(!FileManager.default.fileExists(atPath: writer.temporaryPath))
            do {
                let dropped = try blobs.makeWriter()
                try dropped.write([4, 5, 6])
                #expect(try blobs.temporaryFiles().count == 1)
            }
            #expect(try blobs.temporaryFiles().isEmpty)
            let pending = try await Self.write([7, 8, 9], to: blobs)
            blobs.discard(pending)
            #expect(try blobs.temporaryFiles().isEmpty)
            #expect(try blobs.storedBlobs().isEmpty)
        }
    }

    @Test("reading returns the content in chunks of at most the requested size", arguments: [1, 1000, 4096, 1 << 20])
    func readChunks(chunkSize: Int) async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            let content = Self.bytes(10_001, seed: 7)
            let pending = try await Self.write(content, to: blobs)
            try blobs.commit(pending)
            let chunks = try Self.read(blobs, sha256: pending.sha256, size: pending.size, chunkSize: chunkSize)
            #expect(chunks.allSatisfy { $0.count <= chunkSize && !$0.isEmpty })
            #expect(chunks.count == (10_001 + chunkSize - 1) / chunkSize)
            #expect(chunks.flatMap { $0 } == content)
        }
    }

    @Test("empty content is stored and verified")
    func emptyContent() async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            let pending = try await Self.write([], to: blobs)
            #expect(pending.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            try blobs.commit(pending)
            #expect(try Self.read(blobs, sha256: pending.sha256, size: 0, chunkSize: 10).isEmpty)
            // Something written into an empty blob is caught by the size check.
            try Self.overwrite(blobs.path(sha256: pending.sha256), with: [0])
            let error = #expect(throws: StoreError.self) { try blobs.makeReader(sha256: pending.sha256, size: 0) }
            #expect(error?.code == .dataLoss)
        }
    }

    @Test("a missing blob, or one of the wrong size, fails with dataLoss before anything is read")
    func missingOrResized() async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            let content = Self.bytes(3000)
            let pending = try await Self.write(content, to: blobs)
            try blobs.commit(pending)
            let wrongSize = #expect(throws: StoreError.self) { try blobs.makeReader(sha256: pending.sha256, size: 2999) }
            #expect(wrongSize?.code == .dataLoss)
            try Self.overwrite(blobs.path(sha256: pending.sha256), with: content + [0])
            let grown = #expect(throws: StoreError.self) { try blobs.makeReader(sha256: pending.sha256, size: 3000) }
            #expect(grown?.code == .dataLoss)
            #expect(blobs.remove(sha256: pending.sha256))
            let missing = #expect(throws: StoreError.self) { try blobs.makeReader(sha256: pending.sha256, size: 3000) }
            #expect(missing?.code == .dataLoss)
            #expect(missing?.message.contains("missing") == true)
        }
    }

    @Test("a changed byte fails with dataLoss before the final chunk is returned", arguments: [0, 1500, 2999])
    func corruptedByte(position: Int) async throws {
        try await withTemporaryDirectory { dir in
            let blobs = try FolderBlobStore(directory: dir)
            var content = Self.bytes(3000, seed: 3)
            let pending = try await Self.write(content, to: blobs)
            try blobs.commit(pending)
            content[position] ^= 0x01
            try Self.overwrite(blobs.path(sha256: pending.sha256), with: content)
            let reader = try blobs.makeReader(sha256: pending.sha256, size: 3000)
            var returned = 0
            let error = #expect(throws: StoreError.self) {
                while true {
                    let chunk = try reader.read(maxCount: 1000)
                    if chunk.isEmpty { break }
                    returned += chunk.count
                }
            }
            #expect(error?.code == .dataLoss)
            #expect(returned == 2000)
        }
    }

    /// The artifact part of the store, over a blob store.
    @Suite("Store artifacts")
    struct StoreArtifacts {
        @Test("valid artifact names", arguments: ["model.pt", "a", "checkpoints/epoch-3/model.pt", "naïve ✓ name", "..a", "a..", "a/.b", String(repeating: "x", count: 512)])
        func validNames(name: String) throws {
            try Store.validateArtifactName(name, maxLength: 512)
        }

        @Test("invalid artifact names", arguments: [
            "", "..", "../x", "a/../b", "a/..", "/etc/passwd", "a//b", "a/", "./a", "a/./b", "a\\b", "..\\x",
            "a\0b", "a\nb", String(repeating: "x", count: 513),
        ])
        func invalidNames(name: String) {
            let error = #expect(throws: StoreError.self) { try Store.validateArtifactName(name, maxLength: 512) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.field == "name")
        }

        @Test("valid aliases", arguments: ["best", "prod", "v2", "release-1.0", "A_b.c-d", "1a", String(repeating: "a", count: 64)])
        func validAliases(alias: String) throws {
            try Store.validateArtifactAlias(alias)
        }

        @Test("invalid aliases", arguments: ["", "latest", "123", "a b", "a/b", "é", "best!", String(repeating: "a", count: 65)])
        func invalidAliases(alias: String) {
            let error = #expect(throws: StoreError.self) { try Store.validateArtifactAlias(alias) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.field == "alias")
        }

        /// A store with one experiment and one running run, and a blob store beside it.
        static func withArtifactStore(_ body: (Store, FolderBlobStore, _ runID: String) async throws -> Void) async throws {
            try await withTemporaryDirectory { dir in
                let store = try Store(path: dir + "/tally.sqlite")
                let blobs = try FolderBlobStore(directory: dir + "/artifacts")
                try await store.pool.write { db in
                    try db.execute(sql: "INSERT INTO experiments (id, name, created_at_ms, updated_at_ms) VALUES ('e1', 'exp', 0, 0)")
                    try db.execute(sql: "INSERT INTO runs (id, experiment_pk, status, started_at_ms) VALUES ('r1', 1, 1, 0)")
                }
                try await body(store, blobs, "r1")
                try store.close()
            }
        }

        @Test("versions count up per name, latest is the highest, aliases move")
        func versions() async throws {
            try await Self.withArtifactStore { store, blobs, runID in
                for index in 1...3 {
                    let content = try await BlobStoreTests.write(BlobStoreTests.bytes(100, seed: UInt64(index)), to: blobs)
                    let record = try await store.createArtifact(
                        Store.NewArtifact(runID: runID, name: "model", type: 1, aliases: index == 1 ? ["best"] : []),
                        content: content,
                        blobs: blobs
                    )
                    #expect(record.version == index)
                }
                let all = try await store.artifacts(experimentID: "e1")
                #expect(all.map(\.version) == [1, 2, 3])
                #expect(all.map(\.aliases) == [["best"], [], ["latest"]])
                let moved = try await store.setArtifactAlias(.version(experimentID: "e1", name: "model", version: 3), alias: "best")
                #expect(moved.aliases == ["best", "latest"])
                #expect(try await store.artifact(.alias(experimentID: "e1", name: "model", alias: "best")).version == 3)
                #expect(try await store.artifact(.version(experimentID: "e1", name: "model", version: 1)).aliases.isEmpty)
                _ = try await store.deleteArtifact(.alias(experimentID: "e1", name: "model", alias: "latest"), blobs: blobs)
                #expect(try await store.artifact(.alias(experimentID: "e1", name: "model", alias: "latest")).version == 2)
                let error = await #expect(throws: StoreError.self) {
                    try await store.artifact(.alias(experimentID: "e1", name: "model", alias: "best"))
                }
                #expect(error?.code == .notFound)
            }
        }

        @Test("garbage collection unlinks unreferenced blobs only when the transaction commits")
        func collectGarbage() async throws {
            try await Self.withArtifactStore { store, blobs, runID in
                let shared = BlobStoreTests.bytes(100, seed: 1)
                let alone = BlobStoreTests.bytes(100, seed: 2)
                for content in [shared, shared, alone] {
                    _ = try await store.createArtifact(
                        Store.NewArtifact(runID: runID, name: "a", type: 4),
                        content: try await BlobStoreTests.write(content, to: blobs),
                        blobs: blobs
                    )
                }
                let sharedHash = Blobs.sha256(of: shared)
                let aloneHash = Blobs.sha256(of: alone)
                #expect(try blobs.storedBlobs() == [sharedHash, aloneHash].sorted())

                // Rolled back: the rows come back, and so must the files.
                struct Abort: Error {}
                await #expect(throws: Abort.self) {
                    try await store.pool.write { db in
                        let deleted = try Store.deleteArtifacts(db, runPKs: [1], blobs: blobs)
                        #expect(deleted == 3)
                        throw Abort()
                    }
                }
                #expect(try blobs.storedBlobs() == [sharedHash, aloneHash].sorted())

                // Deleting version 1 leaves the shared blob to version 2.
                try await store.pool.write { db in
                    try db.execute(sql: "DELETE FROM artifacts WHERE version IN (1, 3)")
                    let removed = try Store.collectGarbage(db, candidates: [sharedHash, aloneHash], blobs: blobs)
                    #expect(removed == [aloneHash])
                    // Not yet: the transaction has not committed.
                    #expect(blobs.contains(sha256: aloneHash))
                }
                #expect(try blobs.storedBlobs() == [sharedHash])

                let deleted = try await store.pool.write { db in try Store.deleteArtifacts(db, runPKs: [1], blobs: blobs) }
                #expect(deleted == 1)
                #expect(try blobs.storedBlobs().isEmpty)
            }
        }

        @Test("an upload to an ended run is refused and stores nothing")
        func endedRun() async throws {
            try await Self.withArtifactStore { store, blobs, runID in
                try await store.pool.write { db in try db.execute(sql: "UPDATE runs SET status = 2") }
                let content = try await BlobStoreTests.write([1, 2, 3], to: blobs)
                let error = await #expect(throws: StoreError.self) {
                    try await store.createArtifact(Store.NewArtifact(runID: runID, name: "a", type: 4), content: content, blobs: blobs)
                }
                #expect(error?.code == .failedPrecondition)
                #expect(try blobs.storedBlobs().isEmpty)
                blobs.discard(content)
                #expect(try blobs.temporaryFiles().isEmpty)
            }
        }
    }
}
