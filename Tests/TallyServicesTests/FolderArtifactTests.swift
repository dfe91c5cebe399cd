import Crypto
import Foundation
import TallyAPI
import TallyProto
import TallyRPC
import TallyStore
import Testing

@Suite("Folder artifacts")
struct FolderArtifactTests {
    typealias Fixture = ArtifactFixture

    /// A file of a folder upload: its path, content, and what its part declares.
    struct File {
        var path: String
        var content: [UInt8]
        var declaredSize: UInt64?
        var declaredSHA256: String?

        init(_ path: String, _ content: [UInt8], declaredSize: UInt64? = nil, declaredSHA256: String? = nil) {
            self.path = path
            self.content = content
            self.declaredSize = declaredSize
            self.declaredSHA256 = declaredSHA256
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The parts of a folder upload: the header, then each file's part and its chunks.
    static func parts(_ header: ArtifactHeader, _ files: [File], chunkSize: Int = 64 * 1024) -> [UploadArtifactRequest.Part?] {
        var header = header
        header.folder = true
        var parts: [UploadArtifactRequest.Part?] = [.header(header)]
        for file in files {
            var part = ArtifactFile()
            part.path = file.path
            part.size = file.declaredSize ?? UInt64(file.content.count)
            part.sha256 = file.declaredSHA256 ?? hex(file.content)
            parts.append(.file(part))
            parts += Fixture.chunks(file.content, size: chunkSize).map { .chunk($0) }
        }
        return parts
    }

    /// The manifest the protocol documents, built here independently of the daemon's code.
    static func manifest(_ files: [File]) -> [UInt8] {
        let lines = files
            .sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
            .map { "\(hex($0.content)) \($0.content.count) \($0.path)\n" }
        return Array(lines.joined().utf8)
    }

    @Test("a folder uploads as one version and downloads file by file in path order, each verified")
    func roundTrip() async throws {
        try await Fixture.with { f in
            let weights = Fixture.randomBytes(300_000)
            let files = [
                File("weights/model.bin", weights),
                File("config.json", Array(#"{"layers": 4}"#.utf8)),
                File("weights/empty", []),
                File("README", Array("a model\n".utf8)),
                File("copy/of-weights.bin", weights),
            ]
            let artifact = try await f.upload(messages: Self.parts(f.header(name: "model"), files))
            #expect(artifact.folder)
            #expect(artifact.fileCount == 5)
            #expect(artifact.filesSize == UInt64(2 * weights.count + 13 + 8))
            let manifest = Self.manifest(files)
            #expect(artifact.sha256 == Self.hex(manifest))
            #expect(artifact.size == UInt64(manifest.count))

            let download = await f.download(f.ref(id: artifact.id), chunkSize: 100_000)
            #expect(download.error == nil)
            #expect(download.artifact?.folder == true)
            #expect(download.chunks.isEmpty, "no content before the first file part")
            #expect(download.files.map(\.file.path) == ["README", "config.json", "copy/of-weights.bin", "weights/empty", "weights/model.bin"])
            for (file, content) in download.files {
                let sent = try #require(files.first { $0.path == file.path })
                #expect(content == sent.content, "\(file.path)")
                #expect(file.size == UInt64(sent.content.count))
                #expect(file.sha256 == Self.hex(sent.content))
            }
            // The manifest, the weights once, and the three other contents.
            let expected = ([Self.hex(manifest), Self.hex(weights)] + files[1...3].map { Self.hex($0.content) }).sorted()
            #expect(try f.blobFiles() == expected)
            #expect(try f.temporaryFiles().isEmpty)
        }
    }

    @Test("a second version stores only the files that changed; deleting a version keeps what the other references")
    func versionsShareFiles() async throws {
        try await Fixture.with { f in
            let big = Fixture.randomBytes(100_000)
            let v1Files = [File("a.bin", big), File("b.txt", Array("one".utf8))]
            let v2Files = [File("a.bin", big), File("b.txt", Array("two".utf8))]
            let v1 = try await f.upload(messages: Self.parts(f.header(name: "ckpt"), v1Files))
            let before = try f.blobFiles()
            let v2 = try await f.upload(messages: Self.parts(f.header(name: "ckpt"), v2Files))
            #expect(v2.version == 2)
            #expect(v1.sha256 != v2.sha256)
            let added = Set(try f.blobFiles()).subtracting(before)
            #expect(added == [v2.sha256, Self.hex(Array("two".utf8))], "only the new manifest and the changed file are stored")

            // The same folder again gives the same manifest hash and stores nothing new.
            let v3 = try await f.upload(messages: Self.parts(f.header(name: "ckpt"), v2Files))
            #expect(v3.sha256 == v2.sha256)
            #expect(Set(try f.blobFiles()) == Set(before).union(added))

            var delete = DeleteArtifactRequest()
            delete.artifact = f.ref(id: v1.id)
            #expect(try await f.client.deleteArtifact(delete).blobRemoved)
            #expect(Set(try f.blobFiles()) == [v2.sha256, Self.hex(big), Self.hex(Array("two".utf8))])
            #expect(await f.download(f.ref(id: v2.id)).files.map(\.content) == [big, Array("two".utf8)])

            var deleteRun = DeleteRunRequest()
            deleteRun.runId = f.runID
            deleteRun.force = true
            _ = try await f.client.deleteRun(deleteRun)
            #expect(try f.blobFiles().isEmpty, "deleting the run collects every file blob")
        }
    }

    @Test("an empty folder is a version with no files")
    func emptyFolder() async throws {
        try await Fixture.with { f in
            let artifact = try await f.upload(messages: Self.parts(f.header(name: "nothing"), []))
            #expect(artifact.folder)
            #expect(artifact.fileCount == 0)
            #expect(artifact.sha256 == Self.hex([]))
            let download = await f.download(f.ref(id: artifact.id))
            #expect(download.error == nil)
            #expect(download.files.isEmpty)
        }
    }

    @Test("bad folder uploads are refused with a clear status and store nothing", arguments: [
        ("../escape", RPCError.Code.invalidArgument, "invalid file path"),
        ("/etc/passwd", .invalidArgument, "absolute"),
        ("a//b", .invalidArgument, "empty path segment"),
        ("dup", .invalidArgument, "sent twice"),
        ("short", .invalidArgument, "declared 10 bytes but 4 arrived"),
        ("long", .invalidArgument, "declared 2 bytes but more arrived"),
        ("hash", .dataLoss, "hashes to"),
        ("badhash", .invalidArgument, "64 hex digits"),
    ])
    func refused(_ case: String, _ code: RPCError.Code, _ message: String) async throws {
        try await Fixture.with { f in
            let good = File("ok.txt", Array("fine".utf8))
            var files = [good]
            switch `case` {
            case "dup": files.append(good)
            case "short": files.append(File("s", Array("four".utf8), declaredSize: 10))
            case "long": files.append(File("l", Array("four".utf8), declaredSize: 2))
            case "hash": files.append(File("h", Array("four".utf8), declaredSHA256: String(repeating: "0", count: 64)))
            case "badhash": files.append(File("h", Array("four".utf8), declaredSHA256: "xyz"))
            default: files.append(File(`case`, Array("four".utf8)))
            }
            let error = await Fixture.expectStatus(code) {
                _ = try await f.upload(messages: Self.parts(f.header(name: "bad"), files))
            }
            #expect(error?.message.contains(message) == true, "\(String(describing: error))")
            let leftovers = try await f.leftovers()
            #expect(leftovers.isEmpty)
        }
    }

    @Test("chunks before the first file part, and file parts in a file upload, are INVALID_ARGUMENT")
    func misplacedParts() async throws {
        try await Fixture.with { f in
            var header = f.header(name: "x")
            header.folder = true
            await Fixture.expectStatus(.invalidArgument) {
                _ = try await f.upload(messages: [.header(header), .chunk([1, 2, 3])])
            }
            var file = ArtifactFile()
            file.path = "a"
            await Fixture.expectStatus(.invalidArgument) {
                _ = try await f.upload(messages: [.header(f.header(name: "y")), .file(file)])
            }
            let leftovers = try await f.leftovers()
            #expect(leftovers.isEmpty)
        }
    }

    @Test("a damaged file blob is DATA_LOSS on download, before that file's last chunk")
    func damagedFile() async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(50_000)
            let artifact = try await f.upload(messages: Self.parts(f.header(name: "m"), [File("a", Array("x".utf8)), File("b", content)]))
            let path = f.blobPath(Self.hex(content))
            chmod(path, 0o644)
            var damaged = content
            damaged[25_000] ^= 0xFF
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            let download = await f.download(f.ref(id: artifact.id), chunkSize: 10_000)
            #expect(download.error?.code == .dataLoss)
            #expect(download.files.count == 2)
            #expect(download.files.last.map { $0.content.count < content.count } == true)
        }
    }
}
