import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func checkArtifactUpload(runID: String) async throws {
        throw Self.notYet(#function)
    }

    package func createArtifact(_ artifact: NewArtifact, content: BlobStore.PendingBlob, files: [ArtifactFolderFile], blobs: BlobStore) async throws -> ArtifactRecord {
        throw Self.notYet(#function)
    }

    package func artifact(_ reference: ArtifactReference) async throws -> ArtifactRecord {
        throw Self.notYet(#function)
    }

    package func artifactWithFiles(_ reference: ArtifactReference) async throws -> (ArtifactRecord, [ArtifactFileRecord]) {
        throw Self.notYet(#function)
    }

    package func artifacts(runID: String, name: String?) async throws -> [ArtifactRecord] {
        throw Self.notYet(#function)
    }

    package func artifacts(experimentID: String, name: String?) async throws -> [ArtifactRecord] {
        throw Self.notYet(#function)
    }

    package func setArtifactAlias(_ reference: ArtifactReference, alias: String) async throws -> ArtifactRecord {
        throw Self.notYet(#function)
    }

    package func deleteArtifact(_ reference: ArtifactReference, blobs: BlobStore) async throws -> DeletedArtifact {
        throw Self.notYet(#function)
    }
}
