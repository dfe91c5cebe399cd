import Foundation
import GRDB
import Logging
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices
import TallyStore
import Testing

/// A Tracking service over a fresh store and blob store in a temporary folder, with one
/// experiment and one running run created directly in SQL, and an in-process client.
struct ArtifactFixture {
    let directory: String
    let store: Store
    /// The folder blob store in `<directory>/artifacts`, or the one `with(blobs:)` was given.
    let blobs: any BlobStore
    let client: TrackingClient
    /// The experiment made at start.
    let experimentID = "e0000000000000001"
    /// A running run of that experiment.
    let runID = "r0000000000000001"

    /// Runs `body` with a new fixture and removes its folder afterwards.
    /// - Parameter blobs: Another blob store than the folder one.
    static func with<T>(blobs otherBlobs: (any BlobStore)? = nil, _ body: (ArtifactFixture) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "tally-artifacts-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(path: directory + "/tally.sqlite")
        let blobs = try otherBlobs ?? FolderBlobStore(directory: directory + "/artifacts")
        let provider = TrackingProvider(store: store, blobs: blobs, logger: Logger(label: "tally.test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var router = RPCRouter()
        provider.registerMethods(with: &router)
        let ingest = Task { await provider.run() }
        let fixture = ArtifactFixture(
            directory: directory,
            store: store,
            blobs: blobs,
            client: TrackingClient(transport: InProcessTransport(router: router))
        )
        try await fixture.addExperiment(id: fixture.experimentID, name: "exp")
        try await fixture.addRun(id: fixture.runID, experimentID: fixture.experimentID)
        let result: T
        do {
            result = try await body(fixture)
        } catch {
            provider.finishIngest()
            await ingest.value
            throw error
        }
        // The provider's loops (ingest, writer watch) read and write the store: they end first,
        // so that closing it never waits on them.
        provider.finishIngest()
        await ingest.value
        try store.close()
        return result
    }

    func addExperiment(id: String, name: String) async throws {
        try await store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO experiments (id, name, created_at_ms, updated_at_ms) VALUES (?, ?, 0, 0)",
                arguments: [id, name]
            )
        }
    }

    /// Adds a run; `status` 1 is running, 2 completed, 3 failed, 4 killed.
    func addRun(id: String, experimentID: String, status: Int = 1) async throws {
        try await store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (id, experiment_pk, status, started_at_ms, completed_at_ms)
                    VALUES (?, (SELECT pk FROM experiments WHERE id = ?), ?, 0, ?)
                    """,
                arguments: [id, experimentID, status, status == 1 ? 0 : 1]
            )
        }
    }

    /// Uploads `content` as a header followed by chunks of `chunkSize` bytes.
    @discardableResult
    func upload(
        _ content: [UInt8],
        name: String = "model.bin",
        runID: String? = nil,
        type: ArtifactType = .model,
        metadata: [String: String] = [:],
        expectedSHA256: String = "",
        aliases: [String] = [],
        chunkSize: Int = 256 * 1024
    ) async throws -> Artifact {
        var header = ArtifactHeader()
        header.runId = runID ?? self.runID
        header.name = name
        header.type = type
        header.metadata = metadata
        header.expectedSha256 = expectedSHA256
        header.aliases = aliases
        return try await upload(messages: [.header(header)] + Self.chunks(content, size: chunkSize).map { .chunk($0) })
    }

    /// Uploads exactly these message parts, in order.
    func upload(messages parts: [UploadArtifactRequest.Part?]) async throws -> Artifact {
        try await client.uploadArtifact { writer in
            for part in parts {
                var message = UploadArtifactRequest()
                message.part = part
                try await writer.write(message)
            }
        }
    }

    /// The header of an upload to the fixture's run.
    func header(name: String = "model.bin") -> ArtifactHeader {
        var header = ArtifactHeader()
        header.runId = runID
        header.name = name
        header.type = .model
        return header
    }

    /// What a download returned before it ended: the record, the chunks, and the error if it
    /// failed.
    struct Download {
        var artifact: Artifact?
        var chunks: [[UInt8]] = []
        /// A folder's files, each with the chunks that followed its part, joined.
        var files: [(file: ArtifactFile, content: [UInt8])] = []
        var error: RPCError?
        var content: [UInt8] { chunks.flatMap { $0 } }
    }

    /// Downloads a version, collecting what arrives even when the call fails.
    func download(_ ref: ArtifactRef, chunkSize: UInt32 = 0) async -> Download {
        var request = DownloadArtifactRequest()
        request.artifact = ref
        request.chunkSize = chunkSize
        var result = Download()
        do {
            for try await message in try await client.downloadArtifact(request) {
                switch message.part {
                case .artifact(let artifact):
                    #expect(result.artifact == nil, "the record must come once")
                    #expect(result.chunks.isEmpty, "the record must come first")
                    result.artifact = artifact
                case .chunk(let chunk):
                    if result.files.isEmpty {
                        result.chunks.append(chunk)
                    } else {
                        result.files[result.files.count - 1].content += chunk
                    }
                case .file(let file):
                    #expect(result.artifact?.folder == true, "file parts come only for a folder, after its record")
                    result.files.append((file, []))
                case nil:
                    Issue.record("a download message without a part")
                }
            }
        } catch let error as RPCError {
            result.error = error
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return result
    }

    /// Downloads a version that must download cleanly.
    func downloadContent(_ ref: ArtifactRef) async throws -> (Artifact, [UInt8]) {
        let result = await download(ref)
        if let error = result.error { throw error }
        return (try #require(result.artifact), result.content)
    }

    /// Every artifact row, as (name, version, sha256), ordered.
    func rows() async throws -> [String] {
        try await store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, version, sha256 FROM artifacts ORDER BY name, version").map { row in
                "\(row["name"] as String) v\(row["version"] as Int) \(row["sha256"] as String)"
            }
        }
    }

    /// What an upload can leave behind: artifact rows, blob files and temporary files.
    func leftovers() async throws -> [String] {
        try await rows().map { "row \($0)" } + blobFiles().map { "blob \($0)" } + temporaryFiles().map { "tmp \($0)" }
    }

    /// Hashes of the blob files on disk, found by walking the folder (not through BlobStore).
    func blobFiles() throws -> [String] {
        let root = directory + "/artifacts/blobs/sha256"
        var found: [String] = []
        for shard in try FileManager.default.contentsOfDirectory(atPath: root) {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + shard) {
                #expect(name.hasPrefix(shard), "blob \(name) is in shard \(shard)")
                found.append(name)
            }
        }
        return found.sorted()
    }

    /// Files in the upload folder.
    func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/artifacts/tmp")
    }

    /// Path of a blob file.
    func blobPath(_ sha256: String) -> String {
        directory + "/artifacts/blobs/sha256/" + sha256.prefix(2) + "/" + sha256
    }

    /// Replaces a blob file's bytes.
    func overwriteBlob(_ sha256: String, with bytes: [UInt8]) throws {
        let path = blobPath(sha256)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    // MARK: - Values

    static func chunks(_ content: [UInt8], size: Int) -> [[UInt8]] {
        stride(from: 0, to: content.count, by: size).map { Array(content[$0..<min($0 + size, content.count)]) }
    }

    /// `count` random bytes.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = generator.next() as UInt64
            for _ in 0..<8 where index < count {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }

    func ref(id: String) -> ArtifactRef {
        var ref = ArtifactRef()
        ref.artifactId = id
        return ref
    }

    func ref(name: String, version: UInt32 = 0, alias: String = "", experimentID: String? = nil) -> ArtifactRef {
        var ref = ArtifactRef()
        ref.experimentId = experimentID ?? self.experimentID
        ref.name = name
        ref.version = version
        ref.alias = alias
        return ref
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }

    /// Expects `body` to fail with status `code`, returning the error.
    @discardableResult
    static func expectStatus(
        _ code: RPCError.Code,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async -> RPCError? {
        do {
            try await body()
            Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
            return nil
        } catch let error as RPCError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }
}
