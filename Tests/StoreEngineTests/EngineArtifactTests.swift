import Foundation
import TallyPostgres
import TallyStore
import Testing

/// An experiment and a running run in it.
private func makeRun(_ f: EngineFixture, experiment name: String = "e") async throws -> (experiment: ExperimentRecord, run: RunRecord) {
    let experiment = try await f.store.createExperiment(NewExperiment(name: name))
    let run = try await f.store.startRun(NewRun(experimentID: experiment.id, name: "r"))
    return (experiment, run)
}

/// Uploads `bytes` as a new version of `name`.
@discardableResult
private func upload(
    _ f: EngineFixture, run: RunRecord, name: String, _ bytes: [UInt8], type: Int = 1,
    metadata: [String: String] = [:], aliases: [String] = []
) async throws -> ArtifactRecord {
    let content = try await f.blobs.pending(bytes)
    do {
        return try await f.store.createArtifact(
            NewArtifact(runID: run.id, name: name, type: type, metadata: metadata, aliases: aliases), content: content, blobs: f.blobs
        )
    } catch {
        f.blobs.discard(content)
        throw error
    }
}

/// Uploads a folder of `files` (path → bytes) as a new version of `name`.
private func uploadFolder(_ f: EngineFixture, run: RunRecord, name: String, _ files: [String: [UInt8]]) async throws -> ArtifactRecord {
    var parts: [ArtifactFolderFile] = []
    for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
        parts.append(ArtifactFolderFile(path: path, content: try await f.blobs.pending(bytes)))
    }
    let manifest = FolderManifest(files: parts.map { ArtifactFileRecord(path: $0.path, sha256: $0.content.sha256, size: $0.content.size) })
    let content = try await f.blobs.pending(manifest.bytes)
    var artifact = NewArtifact(runID: run.id, name: name, type: 1)
    artifact.folder = true
    return try await f.store.createArtifact(artifact, content: content, files: parts, blobs: f.blobs)
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("Store engines: artifacts")
struct EngineArtifactTests {
    @Test("versions count 1, 2, 3; latest moves on delete; numbers are never reused", arguments: Engine.available)
    func versions(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let v1 = try await upload(f, run: run, name: "model", bytes("one"))
            let v2 = try await upload(f, run: run, name: "model", bytes("two"))
            let v3 = try await upload(f, run: run, name: "model", bytes("three"))
            #expect([v1.version, v2.version, v3.version] as [Int] == [1, 2, 3])
            #expect(v3.aliases == ["latest"])
            #expect(try await f.store.artifact(.id(v1.id)).aliases == [])
            #expect(v1.experimentID == experiment.id && v1.runID == run.id && v1.experimentPK == experiment.pk)
            #expect(v1.sha256 == Blobs.sha256(of: bytes("one")) && v1.size == 3 && v1.type == 1 && !v1.folder)
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "latest")).version == 3)

            let deleted = try await f.store.deleteArtifact(.version(experimentID: experiment.id, name: "model", version: 3), blobs: f.blobs)
            #expect(deleted.artifact.id == v3.id && deleted.artifact.aliases == ["latest"] && deleted.blobRemoved)
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "latest")).id == v2.id)
            #expect(try await f.store.artifact(.id(v2.id)).aliases == ["latest"])

            let v4 = try await upload(f, run: run, name: "model", bytes("four"))
            #expect(v4.version == 4)
            // Another name counts on its own.
            #expect(try await upload(f, run: run, name: "data", bytes("d")).version == 1)
            // Deleting every version keeps the counter.
            for version in [1, 2, 4] {
                _ = try await f.store.deleteArtifact(.version(experimentID: experiment.id, name: "model", version: version), blobs: f.blobs)
            }
            #expect(try await upload(f, run: run, name: "model", bytes("five")).version == 5)
        }
    }

    @Test("aliases are set at upload, moved, resolved, and validated", arguments: Engine.available)
    func aliases(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let v1 = try await upload(f, run: run, name: "model", bytes("one"), aliases: ["best", "prod", "best"])
            #expect(v1.aliases == ["best", "prod", "latest"])
            let v2 = try await upload(f, run: run, name: "model", bytes("two"))
            #expect(try await f.store.artifact(.id(v1.id)).aliases == ["best", "prod"])

            let moved = try await f.store.setArtifactAlias(.version(experimentID: experiment.id, name: "model", version: 2), alias: "best")
            #expect(moved.id == v2.id && moved.aliases == ["best", "latest"])
            #expect(try await f.store.artifact(.id(v1.id)).aliases == ["prod"])
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "best")).id == v2.id)
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "prod")).id == v1.id)
            // Setting it again where it is changes nothing.
            #expect(try await f.store.setArtifactAlias(.id(v2.id), alias: "best").aliases == ["best", "latest"])
            // Aliases of another name are separate.
            let other = try await upload(f, run: run, name: "other", bytes("x"), aliases: ["best"])
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "other", alias: "best")).id == other.id)
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "best")).id == v2.id)

            for bad in ["latest", "", "123", "has space", String(repeating: "a", count: 65)] {
                let error = await storeRefusal { _ = try await f.store.setArtifactAlias(.id(v1.id), alias: bad) }
                #expect(error?.code == .invalidArgument && error?.field == "alias", "\(bad)")
            }
            let missing = await storeRefusal { _ = try await f.store.setArtifactAlias(.id("nope"), alias: "x") }
            #expect(missing?.code == .notFound && missing?.field == "artifact_id")
            // An alias goes with its version.
            _ = try await f.store.deleteArtifact(.id(v2.id), blobs: f.blobs)
            let gone = await storeRefusal { _ = try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "best")) }
            #expect(gone?.code == .notFound && gone?.field == "alias")
            #expect(gone?.message == "artifact \"model\" has no version \"best\" in experiment \(experiment.id)")
        }
    }

    @Test("references by id, version, alias and run, and their errors", arguments: Engine.available)
    func references(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let other = try await f.store.startRun(NewRun(experimentID: experiment.id, name: "other"))
            let v1 = try await upload(f, run: run, name: "model", bytes("one"), aliases: ["best"])
            let v2 = try await upload(f, run: other, name: "model", bytes("two"))
            let v3 = try await upload(f, run: run, name: "model", bytes("three"))
            #expect(v2.version == 2 && v3.version == 3)

            #expect(try await f.store.artifact(.id(v2.id)).id == v2.id)
            #expect(try await f.store.artifact(.version(experimentID: experiment.id, name: "model", version: 2)).id == v2.id)
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "best")).id == v1.id)
            #expect(try await f.store.artifact(.alias(experimentID: experiment.id, name: "model", alias: "latest")).id == v3.id)
            #expect(try await f.store.artifact(.run(runID: run.id, name: "model", version: 1, alias: "")).id == v1.id)
            #expect(try await f.store.artifact(.run(runID: run.id, name: "model", version: 0, alias: "best")).id == v1.id)
            #expect(try await f.store.artifact(.run(runID: run.id, name: "model", version: 0, alias: "")).id == v3.id)
            #expect(try await f.store.artifact(.run(runID: run.id, name: "model", version: 0, alias: "latest")).id == v3.id)
            // A run's latest is its own highest version.
            #expect(try await f.store.artifact(.run(runID: other.id, name: "model", version: 0, alias: "latest")).id == v2.id)

            let cases: [(ArtifactReference, String, String)] = [
                (.id("nope"), "artifact_id", "artifact nope not found"),
                (.version(experimentID: experiment.id, name: "model", version: 9), "version",
                 "artifact \"model\" version 9 not found in experiment \(experiment.id)"),
                (.version(experimentID: "nope", name: "model", version: 1), "experiment_id", "experiment nope not found"),
                (.alias(experimentID: experiment.id, name: "model", alias: "gone"), "alias",
                 "artifact \"model\" has no version \"gone\" in experiment \(experiment.id)"),
                (.alias(experimentID: experiment.id, name: "none", alias: "latest"), "name",
                 "artifact \"none\" has no version \"latest\" in experiment \(experiment.id)"),
                (.alias(experimentID: "nope", name: "model", alias: "latest"), "experiment_id", "experiment nope not found"),
                (.run(runID: run.id, name: "model", version: 2, alias: ""), "name", "run \(run.id) logged no version 2 of artifact \"model\""),
                (.run(runID: other.id, name: "model", version: 0, alias: "best"), "name",
                 "run \(other.id) logged no \"best\" version of artifact \"model\""),
                (.run(runID: run.id, name: "none", version: 0, alias: ""), "name", "run \(run.id) logged no artifact \"none\""),
                (.run(runID: "nope", name: "model", version: 0, alias: ""), "run_id", "run nope not found"),
            ]
            for (reference, field, message) in cases {
                let error = await storeRefusal { _ = try await f.store.artifact(reference) }
                #expect(error?.code == .notFound, "\(reference)")
                #expect(error?.field == field, "\(reference)")
                #expect(error?.message == message, "\(reference)")
                let withFiles = await storeRefusal { _ = try await f.store.artifactWithFiles(reference) }
                #expect(withFiles?.code == .notFound && withFiles?.field == field, "\(reference)")
                let deletion = await storeRefusal { _ = try await f.store.deleteArtifact(reference, blobs: f.blobs) }
                #expect(deletion?.code == .notFound && deletion?.field == field, "\(reference)")
            }
        }
    }

    @Test("uploads need a running run", arguments: Engine.available)
    func endedRun(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (_, run) = try await makeRun(f)
            try await f.store.checkArtifactUpload(runID: run.id)
            _ = try await f.store.endRun(id: run.id, state: .completed, error: "")
            let check = await storeRefusal { try await f.store.checkArtifactUpload(runID: run.id) }
            #expect(check?.code == .failedPrecondition && check?.field == "run_id")
            #expect(check?.message == "run \(run.id) is completed; artifacts can only be uploaded to a running run")
            let content = try await f.blobs.pending(bytes("late"))
            let error = await storeRefusal {
                _ = try await f.store.createArtifact(NewArtifact(runID: run.id, name: "m", type: 1), content: content, blobs: f.blobs)
            }
            f.blobs.discard(content)
            #expect(error?.code == .failedPrecondition && error?.field == "run_id")
            #expect(try f.blobs.storedBlobs().isEmpty)
            let missing = await storeRefusal { try await f.store.checkArtifactUpload(runID: "nope") }
            #expect(missing?.code == .notFound && missing?.field == "run_id" && missing?.message == "run nope not found")
            let missingUpload = await storeRefusal { try await upload(f, run: RunRecord(
                pk: 0, id: "nope", experimentPK: 0, experimentID: "", parentID: nil, name: "", state: .running, error: "",
                startedAtMs: 0, completedAtMs: 0, tags: [:], params: [:], metrics: [], childCount: 0
            ), name: "m", bytes("x")) }
            #expect(missingUpload?.code == .notFound && missingUpload?.field == "run_id")
            // A failed upload leaves no version behind and uses no number.
            let resumed = try await f.store.resumeRun(id: run.id)
            #expect(try await upload(f, run: resumed, name: "m", bytes("now")).version == 1)
        }
    }

    @Test("folder artifacts keep their files, share blobs, and list them in path order", arguments: Engine.available)
    func folders(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let files: [String: [UInt8]] = ["b/weights.bin": bytes("weights"), "a.json": bytes("{}"), "B.txt": bytes("same"), "c.txt": bytes("same")]
            let folder = try await uploadFolder(f, run: run, name: "ckpt", files)
            #expect(folder.folder && folder.fileCount == 4 && folder.filesSize == 7 + 2 + 4 + 4 && folder.version == 1)
            let (record, listed) = try await f.store.artifactWithFiles(.id(folder.id))
            #expect(record == folder)
            #expect(listed.map(\.path) == ["B.txt", "a.json", "b/weights.bin", "c.txt"])
            #expect(listed.map(\.sha256) == listed.map { Blobs.sha256(of: files[$0.path]!) })
            #expect(listed.map(\.size) == [4, 2, 7, 4])
            let manifest = FolderManifest(files: listed)
            #expect(folder.sha256 == Blobs.sha256(of: manifest.bytes) && folder.size == Int64(manifest.bytes.count))
            // Manifest plus three distinct file contents.
            #expect(try f.blobs.storedBlobs().count == 4)
            #expect(try f.blobs.readVerified(sha256: listed[2].sha256, size: 7) == Data(bytes("weights")))

            // The same files again: a new version, no new blob.
            let again = try await uploadFolder(f, run: run, name: "ckpt", files)
            #expect(again.version == 2 && again.sha256 == folder.sha256)
            #expect(try f.blobs.storedBlobs().count == 4)
            // A file artifact whose content is one of the folder's files shares its blob.
            let single = try await upload(f, run: run, name: "single", bytes("same"))
            #expect(try f.blobs.storedBlobs().count == 4)
            // A plain file lists no files.
            #expect(try await f.store.artifactWithFiles(.id(single.id)).1.isEmpty)

            // Deleting one folder version keeps what the other references.
            let first = try await f.store.deleteArtifact(.id(folder.id), blobs: f.blobs)
            #expect(!first.blobRemoved)
            #expect(try f.blobs.storedBlobs().count == 4)
            // The last folder version: its manifest and its unshared files go; "same" stays.
            let second = try await f.store.deleteArtifact(.version(experimentID: experiment.id, name: "ckpt", version: 2), blobs: f.blobs)
            #expect(second.blobRemoved && second.artifact.folder && second.artifact.fileCount == 4)
            #expect(try f.blobs.storedBlobs() == [Blobs.sha256(of: bytes("same"))])
            _ = try await f.store.deleteArtifact(.id(single.id), blobs: f.blobs)
            #expect(try f.blobs.storedBlobs().isEmpty)
        }
    }

    @Test("listings by run and experiment order by name and version, with metadata", arguments: Engine.available)
    func listings(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let other = try await f.store.startRun(NewRun(experimentID: experiment.id, name: "other"))
            let elsewhere = try await makeRun(f, experiment: "e2")
            try await upload(f, run: run, name: "b", bytes("1"), metadata: ["k": "v", "z": "last"])
            try await upload(f, run: other, name: "a", bytes("2"), type: 3)
            try await upload(f, run: run, name: "a", bytes("3"))
            try await upload(f, run: run, name: "B", bytes("4"))
            try await upload(f, run: elsewhere.run, name: "a", bytes("5"))

            let byRun = try await f.store.artifacts(runID: run.id)
            #expect(byRun.map { "\($0.name)\($0.version)" } == ["B1", "a2", "b1"])
            #expect(byRun.last?.metadata == ["k": "v", "z": "last"] && byRun.first?.metadata == [:])
            #expect(try await f.store.artifacts(runID: run.id, name: "a").map(\.version) == [2])
            #expect(try await f.store.artifacts(runID: run.id, name: "none").isEmpty)

            let byExperiment = try await f.store.artifacts(experimentID: experiment.id)
            #expect(byExperiment.map { "\($0.name)\($0.version)" } == ["B1", "a1", "a2", "b1"])
            #expect(byExperiment.map(\.aliases) == [["latest"], [], ["latest"], ["latest"]])
            #expect(byExperiment[1].type == 3 && byExperiment[1].runID == other.id)
            #expect(try await f.store.artifacts(experimentID: experiment.id, name: "a").map(\.version) == [1, 2])
            #expect(try await f.store.artifacts(experimentID: elsewhere.experiment.id).map(\.version) == [1])

            let noRun = await storeRefusal { _ = try await f.store.artifacts(runID: "nope") }
            #expect(noRun?.code == .notFound && noRun?.field == "run_id")
            let noExperiment = await storeRefusal { _ = try await f.store.artifacts(experimentID: "nope") }
            #expect(noExperiment?.code == .notFound && noExperiment?.field == "experiment_id")
            #expect(noExperiment?.message == "experiment nope not found")
        }
    }

    @Test("deletion collects a blob only when nothing references it", arguments: Engine.available)
    func garbage(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let shared = try await upload(f, run: run, name: "m", bytes("shared"))
            let copy = try await upload(f, run: run, name: "n", bytes("shared"))
            let own = try await upload(f, run: run, name: "m", bytes("own"))
            #expect(try f.blobs.storedBlobs().count == 2)
            let first = try await f.store.deleteArtifact(.id(shared.id), blobs: f.blobs)
            #expect(!first.blobRemoved && f.blobs.contains(sha256: shared.sha256))
            let second = try await f.store.deleteArtifact(.run(runID: run.id, name: "n", version: 0, alias: ""), blobs: f.blobs)
            #expect(second.artifact.id == copy.id && second.blobRemoved && !f.blobs.contains(sha256: shared.sha256))
            #expect(try f.blobs.storedBlobs() == [own.sha256])
            let again = await storeRefusal { _ = try await f.store.deleteArtifact(.id(shared.id), blobs: f.blobs) }
            #expect(again?.code == .notFound)
            #expect(try await f.store.artifacts(experimentID: experiment.id).map(\.id) == [own.id])
        }
    }

    @Test("an upload that fails after moving blobs in removes them, keeps older ones, and uses no version", arguments: Engine.available)
    func failedUploadCleansUp(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let kept = try await upload(f, run: run, name: "plain", bytes("shared"))
            let parts = [
                ArtifactFolderFile(path: "a", content: try await f.blobs.pending(bytes("fresh"))),
                ArtifactFolderFile(path: "b", content: try await f.blobs.pending(bytes("shared"))),
                ArtifactFolderFile(path: "c", content: try await f.blobs.pending(bytes("vanished"))),
            ]
            // The last file's temporary file disappears: its move fails after the others moved.
            f.blobs.discard(parts[2].content)
            let manifest = FolderManifest(files: parts.map { ArtifactFileRecord(path: $0.path, sha256: $0.content.sha256, size: $0.content.size) })
            let content = try await f.blobs.pending(manifest.bytes)
            var artifact = NewArtifact(runID: run.id, name: "folder", type: 1)
            artifact.folder = true
            await #expect(throws: StoreError.self) {
                _ = try await f.store.createArtifact(artifact, content: content, files: parts, blobs: f.blobs)
            }
            #expect(try f.blobs.storedBlobs() == [kept.sha256])
            #expect(try await f.store.artifacts(experimentID: experiment.id).map(\.id) == [kept.id])
            let retried = try await uploadFolder(f, run: run, name: "folder", ["a": bytes("fresh")])
            #expect(retried.version == 1)
        }
    }

    @Test("concurrent uploads of one name get distinct, gap-free versions", arguments: Engine.available)
    func concurrentUploads(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let count = 24
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<count {
                    group.addTask {
                        // Half the uploads share content, so their blob moves race too.
                        try await upload(f, run: run, name: "model", bytes(index % 2 == 0 ? "even" : "odd \(index)")).version
                    }
                }
                var versions: [Int] = []
                for try await version in group { versions.append(version) }
                return versions
            }
            #expect(versions.sorted() == Array(1...count))
            let listed = try await f.store.artifacts(experimentID: experiment.id, name: "model")
            #expect(listed.map(\.version) == Array(1...count))
            #expect(listed.filter { $0.aliases.contains("latest") }.map(\.version) == [count])
            for record in listed { #expect(f.blobs.contains(sha256: record.sha256)) }
            #expect(try f.blobs.temporaryFiles().isEmpty)
        }
    }

    @Test("uploads and deletions of the same content racing leave every version's blob", arguments: Engine.available)
    func uploadDeleteRace(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let (experiment, run) = try await makeRun(f)
            let content = bytes("contended")
            var previous = try await upload(f, run: run, name: "m", content)
            for _ in 0..<15 {
                let doomed = previous
                async let deletion = f.store.deleteArtifact(.id(doomed.id), blobs: f.blobs)
                async let next = upload(f, run: run, name: "m", content)
                _ = try await deletion
                previous = try await next
                #expect(f.blobs.contains(sha256: previous.sha256))
            }
            let listed = try await f.store.artifacts(experimentID: experiment.id)
            #expect(listed.map(\.id) == [previous.id])
            #expect(try f.blobs.readVerified(sha256: previous.sha256, size: previous.size) == Data(content))
            _ = try await f.store.deleteArtifact(.id(previous.id), blobs: f.blobs)
            #expect(try f.blobs.storedBlobs().isEmpty)
        }
    }
}
