import Foundation
import TallyAPI
import TallyProto
import TallyRPC
import TallyStore
import Testing

/// The artifact service and the store engine reach blobs only through ``BlobStore``: behind an
/// object-store-shaped implementation (``ObjectBlobStore``) uploads, folders, downloads, failed
/// uploads and garbage collection behave as on the folder, and no file is written.
@Suite("Blob store interface")
struct BlobStoreInterfaceTests {
    typealias Fixture = ArtifactFixture
    typealias File = FolderArtifactTests.File

    @Test("files and folders round-trip through an object store; deletions delete the objects nothing references")
    func objectStoreRoundTrip() async throws {
        let objects = ObjectBlobStore()
        try await Fixture.with(blobs: objects) { f in
            let weights = Fixture.randomBytes(200_000)
            let file = try await f.upload(weights, name: "weights.bin", chunkSize: 30_000)
            #expect(objects.keys == [file.sha256])
            let (_, downloaded) = try await f.downloadContent(f.ref(id: file.id))
            #expect(downloaded == weights)

            let files = [File("a/weights.bin", weights), File("config.json", Array("{}".utf8))]
            let folder = try await f.upload(messages: FolderArtifactTests.parts(f.header(name: "ckpt"), files))
            // The weights are one object for both versions; the folder adds its manifest and config.
            #expect(objects.keys == [file.sha256, folder.sha256, FolderArtifactTests.hex(Array("{}".utf8))].sorted())
            #expect(objects.puts == 3)
            let download = await f.download(f.ref(id: folder.id))
            #expect(download.error == nil)
            #expect(download.files.map(\.content) == [weights, Array("{}".utf8)])

            // A wrong declared hash stores nothing and leaves no upload behind.
            _ = await Fixture.expectStatus(.dataLoss) {
                try await f.upload(Array("other".utf8), name: "bad", expectedSHA256: String(repeating: "0", count: 64))
            }
            #expect(objects.keys.count == 3 && objects.openUploads == 0)

            var deleteRun = DeleteRunRequest()
            deleteRun.runId = f.runID
            deleteRun.force = true
            _ = try await f.client.deleteRun(deleteRun)
            #expect(objects.keys.isEmpty, "deleting the run deletes every object it referenced")
            #expect(objects.deletes == 3)
            #expect(objects.openUploads == 0)
            #expect(!FileManager.default.fileExists(atPath: f.directory + "/artifacts"), "nothing is written to the folder")
        }
    }
}
