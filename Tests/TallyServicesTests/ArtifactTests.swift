import Foundation
import GRDB
import TallyAPI
import TallyProto
import TallyRPC
import TallyStore
import Testing

@Suite("Artifacts")
struct ArtifactTests {
    typealias Fixture = ArtifactFixture

    // MARK: - Upload and download

    @Test("a multi-chunk upload downloads byte for byte, in chunks of at most 1 MiB, and is stored under its hash")
    func roundTrip() async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(5 * 1024 * 1024 + 123)
            let sha256 = Blobs.sha256(of: content)
            let uploaded = try await f.upload(content, name: "checkpoints/model.pt", metadata: ["framework": "torch"], chunkSize: 300_000)
            #expect(uploaded.sha256 == sha256)
            #expect(uploaded.size == UInt64(content.count))
            #expect(uploaded.version == 1)
            #expect(uploaded.experimentId == f.experimentID)
            #expect(uploaded.runId == f.runID)
            #expect(uploaded.type == .model)
            #expect(uploaded.metadata == ["framework": "torch"])
            #expect(uploaded.aliases == ["latest"])
            #expect(uploaded.id.count == 16)

            let download = await f.download(f.ref(id: uploaded.id))
            #expect(download.error == nil)
            #expect(download.artifact == uploaded)
            #expect(download.chunks.count == 6)
            #expect(download.chunks.allSatisfy { $0.count <= 1 << 20 })
            #expect(download.content == content)

            #expect(try f.blobFiles() == [sha256])
            let onDisk = try Data(contentsOf: URL(fileURLWithPath: f.blobPath(sha256)))
            #expect(onDisk == Data(content))
            #expect(try f.temporaryFiles().isEmpty)
        }
    }

    @Test("downloads honour chunk_size, capped at 1 MiB", arguments: [(UInt32(1000), 1000), (UInt32(8 << 20), 1 << 20), (UInt32(0), 1 << 20)])
    func chunkSize(requested: UInt32, expected: Int) async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(2 * 1024 * 1024 + 5)
            let uploaded = try await f.upload(content)
            let download = await f.download(f.ref(id: uploaded.id), chunkSize: requested)
            #expect(download.error == nil)
            #expect(download.chunks.dropLast().allSatisfy { $0.count == expected })
            #expect(download.chunks.count == (content.count + expected - 1) / expected)
            #expect(download.content == content)
        }
    }

    @Test("empty content uploads and downloads")
    func emptyContent() async throws {
        try await Fixture.with { f in
            let uploaded = try await f.upload([], name: "empty", type: .unspecified)
            #expect(uploaded.size == 0)
            #expect(uploaded.type == .other)
            #expect(uploaded.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            let (artifact, content) = try await f.downloadContent(f.ref(name: "empty"))
            #expect(artifact.id == uploaded.id)
            #expect(content.isEmpty)
        }
    }

    @Test("identical content is stored once across versions and names")
    func deduplication() async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(100_000)
            let first = try await f.upload(content, name: "model")
            let second = try await f.upload(content, name: "model", chunkSize: 7_000)
            let other = try await f.upload(content, name: "copy")
            #expect([first.version, second.version, other.version] == [1, 2, 1])
            #expect(Set([first.sha256, second.sha256, other.sha256]).count == 1)
            #expect(try f.blobFiles() == [first.sha256])
            #expect(try f.temporaryFiles().isEmpty)
            #expect(try await f.downloadContent(f.ref(name: "model", version: 1)).1 == content)
        }
    }

    @Test("an expected hash that matches, in either case, is accepted")
    func expectedHashMatches() async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(10_000)
            let sha256 = Blobs.sha256(of: content)
            let first = try await f.upload(content, expectedSHA256: sha256)
            #expect(first.sha256 == sha256)
            let second = try await f.upload(content, expectedSHA256: sha256.uppercased())
            #expect(second.version == 2)
        }
    }

    // MARK: - Versions and aliases

    @Test("versions count 1, 2, 3 in upload order; latest is the highest; every version downloads by number")
    func versions() async throws {
        try await Fixture.with { f in
            let contents = (0..<3).map { _ in Fixture.randomBytes(50_000) }
            var uploaded: [Artifact] = []
            for content in contents {
                uploaded.append(try await f.upload(content, name: "model"))
            }
            #expect(uploaded.map(\.version) == [1, 2, 3])
            #expect(uploaded.map(\.aliases) == [["latest"], ["latest"], ["latest"]])  // each was latest when made

            var list = ListArtifactsRequest()
            list.experimentId = f.experimentID
            let listed = try await f.client.listArtifacts(list).artifacts
            #expect(listed.map(\.version) == [1, 2, 3])
            #expect(listed.map(\.aliases) == [[], [], ["latest"]])

            for (index, content) in contents.enumerated() {
                let (artifact, bytes) = try await f.downloadContent(f.ref(name: "model", version: UInt32(index + 1)))
                #expect(artifact.id == uploaded[index].id)
                #expect(bytes == content)
            }
            let (latest, latestBytes) = try await f.downloadContent(f.ref(name: "model"))
            #expect(latest.version == 3)
            #expect(latestBytes == contents[2])
            let (byAlias, _) = try await f.downloadContent(f.ref(name: "model", alias: "latest"))
            #expect(byAlias.version == 3)
        }
    }

    @Test("versions are per experiment and name, and record the run that produced them")
    func versionsPerName() async throws {
        try await Fixture.with { f in
            try await f.addRun(id: "run2", experimentID: f.experimentID)
            try await f.addExperiment(id: "exp2", name: "other")
            try await f.addRun(id: "run3", experimentID: "exp2")
            let a1 = try await f.upload([1], name: "a")
            let a2 = try await f.upload([2], name: "a", runID: "run2")
            let b1 = try await f.upload([3], name: "b", runID: "run2")
            let other = try await f.upload([4], name: "a", runID: "run3")
            #expect([a1.version, a2.version, b1.version, other.version] == [1, 2, 1, 1])
            #expect([a1.runId, a2.runId, b1.runId, other.runId] == [f.runID, "run2", "run2", "run3"])
            #expect(other.experimentId == "exp2")
        }
    }

    @Test("a version by run and name: the run's latest of the name, its version N, its alias; others' are not found")
    func byRunAndName() async throws {
        try await Fixture.with { f in
            try await f.addRun(id: "run2", experimentID: f.experimentID)
            _ = try await f.upload([1], name: "m")                                   // v1, fixture's run
            _ = try await f.upload([2], name: "m", runID: "run2", aliases: ["best"])  // v2, run2
            _ = try await f.upload([3], name: "m")                                   // v3, fixture's run
            func byRun(_ run: String, version: UInt32 = 0, alias: String = "") -> ArtifactRef {
                var ref = ArtifactRef()
                ref.runId = run
                ref.name = "m"
                ref.version = version
                ref.alias = alias
                return ref
            }
            #expect(try await f.downloadContent(byRun(f.runID)).1 == [3])
            #expect(try await f.downloadContent(byRun("run2")).1 == [2])
            #expect(try await f.downloadContent(byRun(f.runID, version: 1)).1 == [1])
            #expect(try await f.downloadContent(byRun("run2", alias: "best")).1 == [2])
            #expect(await f.download(byRun("run2", version: 1)).error?.code == .notFound)   // v1 is not run2's
            #expect(await f.download(byRun(f.runID, alias: "best")).error?.code == .notFound)
            #expect(await f.download(byRun("nope0000nope0000")).error?.code == .notFound)
            var both = byRun(f.runID)
            both.experimentId = f.experimentID
            #expect(await f.download(both).error?.code == .invalidArgument)
            var nameless = byRun(f.runID)
            nameless.name = ""
            #expect(await f.download(nameless).error?.code == .invalidArgument)
        }
    }

    @Test("aliases are set at upload, moved between versions, and resolve for download")
    func aliases() async throws {
        try await Fixture.with { f in
            let v1 = try await f.upload([1, 1, 1], name: "model", aliases: ["best", "prod"])
            #expect(v1.aliases == ["best", "prod", "latest"])
            let v2 = try await f.upload([2, 2, 2], name: "model")
            #expect(try await f.downloadContent(f.ref(name: "model", alias: "best")).1 == [1, 1, 1])

            var set = SetArtifactAliasRequest()
            set.artifact = f.ref(id: v2.id)
            set.alias = "best"
            let moved = try await f.client.setArtifactAlias(set)
            #expect(moved.id == v2.id)
            #expect(moved.aliases == ["best", "latest"])
            let (best, bestBytes) = try await f.downloadContent(f.ref(name: "model", alias: "best"))
            #expect(best.version == 2)
            #expect(bestBytes == [2, 2, 2])
            let (prod, _) = try await f.downloadContent(f.ref(name: "model", alias: "prod"))
            #expect(prod.version == 1)
            #expect(prod.aliases == ["prod"])

            // Setting by (experiment, name, alias) names the version the alias points at.
            set.artifact = f.ref(name: "model", alias: "prod")
            set.alias = "stable"
            #expect(try await f.client.setArtifactAlias(set).aliases == ["prod", "stable"])
            // Setting it again where it already is changes nothing.
            #expect(try await f.client.setArtifactAlias(set).aliases == ["prod", "stable"])
        }
    }

    @Test("\"latest\" cannot be set by users, at upload or with SetArtifactAlias")
    func latestIsReserved() async throws {
        try await Fixture.with { f in
            let v1 = try await f.upload([1], name: "model")
            try await f.upload([2], name: "model")
            var set = SetArtifactAliasRequest()
            set.artifact = f.ref(id: v1.id)
            set.alias = "latest"
            let error = await Fixture.expectStatus(.invalidArgument) { _ = try await f.client.setArtifactAlias(set) }
            #expect(error?.message.contains("latest") == true)
            await Fixture.expectStatus(.invalidArgument) { try await f.upload([3], name: "model", aliases: ["latest"]) }
            #expect(try await f.downloadContent(f.ref(name: "model")).0.version == 2)
            #expect(try await f.rows().count == 2)
        }
    }

    @Test("bad aliases are INVALID_ARGUMENT", arguments: ["", "123", "a b", "../x", "prod!", String(repeating: "a", count: 65)])
    func badAlias(alias: String) async throws {
        try await Fixture.with { f in
            let v1 = try await f.upload([1], name: "model")
            var set = SetArtifactAliasRequest()
            set.artifact = f.ref(id: v1.id)
            set.alias = alias
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.client.setArtifactAlias(set) }
        }
    }

    // MARK: - Listing

    @Test("list by run and by experiment, optionally by name")
    func list() async throws {
        try await Fixture.with { f in
            try await f.addRun(id: "run2", experimentID: f.experimentID)
            try await f.upload([1], name: "b")
            try await f.upload([2], name: "a")
            try await f.upload([3], name: "a", runID: "run2")
            try await f.upload([4], name: "c", runID: "run2")

            var request = ListArtifactsRequest()
            request.runId = f.runID
            #expect(try await f.client.listArtifacts(request).artifacts.map { "\($0.name) v\($0.version)" } == ["a v1", "b v1"])
            request.runId = "run2"
            #expect(try await f.client.listArtifacts(request).artifacts.map { "\($0.name) v\($0.version)" } == ["a v2", "c v1"])
            request.name = "a"
            #expect(try await f.client.listArtifacts(request).artifacts.map { "\($0.name) v\($0.version)" } == ["a v2"])

            request = ListArtifactsRequest()
            request.experimentId = f.experimentID
            let all = try await f.client.listArtifacts(request).artifacts
            #expect(all.map { "\($0.name) v\($0.version)" } == ["a v1", "a v2", "b v1", "c v1"])
            #expect(all.map(\.aliases) == [[], ["latest"], ["latest"], ["latest"]])
            request.name = "zzz"
            #expect(try await f.client.listArtifacts(request).artifacts.isEmpty)
        }
    }

    @Test("list needs exactly one of run_id and experiment_id, and they must exist")
    func listErrors() async throws {
        try await Fixture.with { f in
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.client.listArtifacts(ListArtifactsRequest()) }
            var both = ListArtifactsRequest()
            both.runId = f.runID
            both.experimentId = f.experimentID
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.client.listArtifacts(both) }
            var run = ListArtifactsRequest()
            run.runId = "nope"
            await Fixture.expectStatus(.notFound) { _ = try await f.client.listArtifacts(run) }
            var experiment = ListArtifactsRequest()
            experiment.experimentId = "nope"
            await Fixture.expectStatus(.notFound) { _ = try await f.client.listArtifacts(experiment) }
        }
    }

    // MARK: - Deleting

    @Test("deleting a version removes its blob only when no other version references it")
    func delete() async throws {
        try await Fixture.with { f in
            let shared = Fixture.randomBytes(20_000)
            let unique = Fixture.randomBytes(20_000)
            let v1 = try await f.upload(shared, name: "model")
            let v2 = try await f.upload(shared, name: "model")
            let v3 = try await f.upload(unique, name: "model", aliases: ["best"])
            #expect(try f.blobFiles() == [v1.sha256, v3.sha256].sorted())

            var delete = DeleteArtifactRequest()
            delete.artifact = f.ref(id: v1.id)
            #expect(try await f.client.deleteArtifact(delete).blobRemoved == false)
            #expect(try f.blobFiles() == [v1.sha256, v3.sha256].sorted())
            #expect(try await f.downloadContent(f.ref(id: v2.id)).1 == shared)

            // Deleting the latest version by alias: "latest" falls back to v2.
            delete.artifact = f.ref(name: "model", alias: "best")
            #expect(try await f.client.deleteArtifact(delete).blobRemoved == true)
            #expect(try f.blobFiles() == [v1.sha256])
            #expect(try await f.downloadContent(f.ref(name: "model")).0.id == v2.id)
            await Fixture.expectStatus(.notFound) { _ = try await f.client.deleteArtifact(delete) }

            delete.artifact = f.ref(name: "model", version: 2)
            #expect(try await f.client.deleteArtifact(delete).blobRemoved == true)
            #expect(try f.blobFiles().isEmpty)
            #expect(try await f.rows().isEmpty)
            #expect(await f.download(f.ref(id: v2.id)).error?.code == .notFound)
            await Fixture.expectStatus(.notFound) { _ = try await f.client.deleteArtifact(delete) }
        }
    }

    @Test("content uploaded again after its blob was collected is stored again")
    func uploadAfterCollection() async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(1000)
            let v1 = try await f.upload(content, name: "model")
            var delete = DeleteArtifactRequest()
            delete.artifact = f.ref(id: v1.id)
            #expect(try await f.client.deleteArtifact(delete).blobRemoved)
            #expect(try f.blobFiles().isEmpty)
            let again = try await f.upload(content, name: "model")
            #expect(again.version == 2)  // version numbers are never reused
            #expect(try f.blobFiles() == [again.sha256])
            #expect(try await f.downloadContent(f.ref(id: again.id)).1 == content)
        }
    }

    @Test("GetRun lists the run's artifacts; DeleteRun removes them and the blobs nothing else references")
    func deleteRun() async throws {
        try await Fixture.with { f in
            try await f.addRun(id: "run2", experimentID: f.experimentID)
            let shared = Fixture.randomBytes(10_000)
            let own = Fixture.randomBytes(10_000)
            let a = try await f.upload(shared, name: "a")
            let b = try await f.upload(own, name: "b")
            let kept = try await f.upload(shared, name: "a", runID: "run2")

            var get = GetRunRequest()
            get.runId = f.runID
            #expect(try await f.client.getRun(get).artifacts.map(\.id) == [a.id, b.id])

            var delete = DeleteRunRequest()
            delete.runId = f.runID
            delete.force = true
            let response = try await f.client.deleteRun(delete)
            #expect(response.deletedArtifacts == 2)
            #expect(try f.blobFiles() == [a.sha256])
            #expect(try await f.downloadContent(f.ref(id: kept.id)).1 == shared)
            #expect(await f.download(f.ref(id: b.id)).error?.code == .notFound)
            // v2 of "a" is now the only version, and latest.
            #expect(try await f.downloadContent(f.ref(name: "a")).0.id == kept.id)
        }
    }

    @Test("DeleteExperiment removes its artifacts' blobs, keeping those another experiment references")
    func deleteExperiment() async throws {
        try await Fixture.with { f in
            try await f.addExperiment(id: "exp2", name: "other")
            try await f.addRun(id: "run2", experimentID: "exp2")
            let shared = Fixture.randomBytes(10_000)
            let own = Fixture.randomBytes(10_000)
            try await f.upload(shared, name: "a")
            let gone = try await f.upload(own, name: "b")
            let kept = try await f.upload(shared, name: "a", runID: "run2")
            #expect(try f.blobFiles() == [kept.sha256, gone.sha256].sorted())

            var delete = DeleteExperimentRequest()
            delete.id = f.experimentID
            delete.force = true
            #expect(try await f.client.deleteExperiment(delete).deletedArtifacts == 2)
            #expect(try f.blobFiles() == [kept.sha256])
            #expect(try await f.rows().count == 1)
            #expect(try await f.downloadContent(f.ref(id: kept.id)).1 == shared)
        }
    }

    // MARK: - Errors

    @Test("unknown ids and names are NOT_FOUND")
    func notFound() async throws {
        try await Fixture.with { f in
            try await f.upload([1, 2, 3], name: "model", aliases: ["best"])
            let refs = [
                f.ref(id: "0123456789abcdef"),
                f.ref(name: "model", experimentID: "nope"),
                f.ref(name: "nope"),
                f.ref(name: "model", version: 2),
                f.ref(name: "model", alias: "prod"),
            ]
            for ref in refs {
                let download = await f.download(ref)
                #expect(download.error?.code == .notFound, "\(ref)")
                #expect(download.artifact == nil)
                var set = SetArtifactAliasRequest()
                set.artifact = ref
                set.alias = "x"
                await Fixture.expectStatus(.notFound) { _ = try await f.client.setArtifactAlias(set) }
                var delete = DeleteArtifactRequest()
                delete.artifact = ref
                await Fixture.expectStatus(.notFound) { _ = try await f.client.deleteArtifact(delete) }
            }
            let error = await Fixture.expectStatus(.notFound) { try await f.upload([1], runID: "no-such-run") }
            #expect(error?.message.contains("no-such-run") == true)
            #expect(try await f.rows().count == 1)
            #expect(try f.temporaryFiles().isEmpty)
        }
    }

    @Test("malformed references are INVALID_ARGUMENT")
    func badReferences() async throws {
        try await Fixture.with { f in
            let uploaded = try await f.upload([1])
            var both = f.ref(name: "model.bin", version: 1, alias: "best")
            #expect(await f.download(both).error?.code == .invalidArgument)
            both = f.ref(id: uploaded.id)
            both.name = "model.bin"
            #expect(await f.download(both).error?.code == .invalidArgument)
            var noName = ArtifactRef()
            noName.experimentId = f.experimentID
            #expect(await f.download(noName).error?.code == .invalidArgument)
            #expect(await f.download(ArtifactRef()).error?.code == .invalidArgument)
            let missing = await Fixture.expectStatus(.invalidArgument) { _ = try await f.client.deleteArtifact(DeleteArtifactRequest()) }
            #expect(missing?.message.contains("reference") == true)
        }
    }

    @Test("names with path traversal, absolute paths, NUL or bad length are INVALID_ARGUMENT and store nothing", arguments: [
        "", "..", "../etc/passwd", "a/../../b", "models/..", "/etc/passwd", "/abs", "a//b", "trailing/", "./a",
        "a\\..\\b", "C:\\x", "a\0b", String(repeating: "n", count: 513),
    ])
    func badNames(name: String) async throws {
        try await Fixture.with { f in
            let error = await Fixture.expectStatus(.invalidArgument) { try await f.upload([1, 2, 3], name: name) }
            #expect(error?.message.contains("name") == true)
            let leftovers = try await f.leftovers()
            #expect(leftovers.isEmpty)
        }
    }

    @Test("a name of exactly 512 characters with namespaces is accepted")
    func longestName() async throws {
        try await Fixture.with { f in
            let name = "team/" + String(repeating: "é", count: 507)
            #expect(name.count == 512)
            let uploaded = try await f.upload([1], name: name)
            #expect(uploaded.name == name)
        }
    }

    @Test("bad header fields are INVALID_ARGUMENT")
    func badHeaderFields() async throws {
        try await Fixture.with { f in
            var header = f.header()
            header.runId = ""
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.upload(messages: [.header(header)]) }
            header = f.header()
            header.type = ArtifactType(rawValue: 99)
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.upload(messages: [.header(header)]) }
            header = f.header()
            header.expectedSha256 = "abc"
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.upload(messages: [.header(header)]) }
            header = f.header()
            header.metadata = ["": "x"]
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.upload(messages: [.header(header)]) }
            let leftovers = try await f.leftovers()
            #expect(leftovers.isEmpty)
        }
    }

    @Test("a content hash other than the expected one is DATA_LOSS; nothing is stored and no temporary file is left")
    func hashMismatch() async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(3 * 1024 * 1024)
            let wrong = Blobs.sha256(of: content + [0])
            let error = await Fixture.expectStatus(.dataLoss) { try await f.upload(content, expectedSHA256: wrong) }
            #expect(error?.message.contains(wrong) == true)
            let leftovers = try await f.leftovers()
            #expect(leftovers.isEmpty)
            // The same name then starts at version 1.
            let retried = try await f.upload(content)
            #expect(retried.version == 1)
        }
    }

    @Test("a changed byte in a stored blob is DATA_LOSS on download, before the final chunk", arguments: [0, 1_500_000, 2_999_999])
    func corruptedBlob(position: Int) async throws {
        try await Fixture.with { f in
            var content = Fixture.randomBytes(3_000_000)
            let uploaded = try await f.upload(content)
            content[position] ^= 0x80
            try f.overwriteBlob(uploaded.sha256, with: content)
            let download = await f.download(f.ref(id: uploaded.id))
            #expect(download.error?.code == .dataLoss)
            #expect(download.error?.message.contains("damaged") == true)
            #expect(download.artifact?.id == uploaded.id)
            #expect(download.content.count == 2 * 1024 * 1024)  // the last 1 MiB chunk is held back
        }
    }

    @Test("a truncated or missing blob is DATA_LOSS before anything is sent")
    func truncatedOrMissingBlob() async throws {
        try await Fixture.with { f in
            let content = Fixture.randomBytes(100_000)
            let uploaded = try await f.upload(content)
            try f.overwriteBlob(uploaded.sha256, with: Array(content.prefix(99_999)))
            var download = await f.download(f.ref(id: uploaded.id))
            #expect(download.error?.code == .dataLoss)
            #expect(download.artifact == nil)
            #expect(download.chunks.isEmpty)

            try FileManager.default.removeItem(atPath: f.blobPath(uploaded.sha256))
            download = await f.download(f.ref(name: "model.bin"))
            #expect(download.error?.code == .dataLoss)
            #expect(download.error?.message.contains("missing") == true)
            #expect(download.artifact == nil)
        }
    }

    @Test("an upload to an ended run is FAILED_PRECONDITION", arguments: [2, 3, 4])
    func endedRun(status: Int) async throws {
        try await Fixture.with { f in
            try await f.addRun(id: "ended", experimentID: f.experimentID, status: status)
            let error = await Fixture.expectStatus(.failedPrecondition) { try await f.upload([1, 2, 3], runID: "ended") }
            #expect(error?.message.contains("running") == true)
            #expect(try await f.rows().isEmpty)
            #expect(try f.temporaryFiles().isEmpty)
        }
    }

    @Test("a run that ends while its upload is in flight refuses the upload at commit")
    func runEndsDuringUpload() async throws {
        try await Fixture.with { f in
            let store = f.store
            await Fixture.expectStatus(.failedPrecondition) {
                _ = try await f.client.uploadArtifact { writer in
                    var message = UploadArtifactRequest()
                    message.part = .header(f.header())
                    try await writer.write(message)
                    message.part = .chunk([1, 2, 3])
                    try await writer.write(message)
                    try await store.pool.write { db in try db.execute(sql: "UPDATE runs SET status = 2") }
                }
            }
            let leftovers = try await f.leftovers()
            #expect(leftovers.isEmpty)
        }
    }

    @Test("an upload without a header, or with a second one, is INVALID_ARGUMENT and leaves nothing")
    func headerMissingOrTwice() async throws {
        try await Fixture.with { f in
            let missing = await Fixture.expectStatus(.invalidArgument) { _ = try await f.upload(messages: []) }
            #expect(missing?.message.contains("header") == true)
            let chunkFirst = await Fixture.expectStatus(.invalidArgument) {
                _ = try await f.upload(messages: [.chunk([1, 2]), .header(f.header())])
            }
            #expect(chunkFirst?.message.contains("header") == true)
            let twice = await Fixture.expectStatus(.invalidArgument) {
                _ = try await f.upload(messages: [.header(f.header()), .chunk([1, 2]), .header(f.header()), .chunk([3])])
            }
            #expect(twice?.message.contains("second header") == true)
            await Fixture.expectStatus(.invalidArgument) { _ = try await f.upload(messages: [.header(f.header()), nil]) }
            let leftovers = try await f.leftovers()
            #expect(leftovers.isEmpty)
        }
    }

    @Test("a client cancelling mid-upload leaves no temporary file and no version")
    func cancelledUpload() async throws {
        try await Fixture.with { f in
            struct GiveUp: Error {}
            let header = f.header()
            let sawTemporaryFile = try await {
                do {
                    _ = try await f.client.uploadArtifact { writer in
                        var message = UploadArtifactRequest()
                        message.part = .header(header)
                        try await writer.write(message)
                        message.part = .chunk(Fixture.randomBytes(64 * 1024))
                        try await writer.write(message)
                        // Give up once the server is writing the content.
                        let writing = await Fixture.eventually { (try? f.temporaryFiles().isEmpty == false) ?? false }
                        #expect(writing)
                        throw GiveUp()
                    }
                    return false
                } catch is GiveUp {
                    return true
                }
            }()
            #expect(sawTemporaryFile)
            #expect(await Fixture.eventually { (try? f.temporaryFiles().isEmpty) ?? false })
            // Nothing is recorded, now or later.
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await f.rows().isEmpty)
            #expect(try f.blobFiles().isEmpty)
        }
    }
}
