import Foundation
import TallyStore
import Testing

/// The ``StoreError`` a call throws; nil (and a recorded issue) when it throws something else
/// or nothing.
func storeRefusal<T>(_ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation) async -> StoreError? {
    do {
        _ = try await body()
        Issue.record("expected a StoreError, got none", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects each call to fail `notFound` with `message`, naming `field`.
func expectNotFound(
    _ calls: [() async throws -> Void], message: String, field: String, sourceLocation: SourceLocation = #_sourceLocation
) async {
    for call in calls {
        let missing = await storeRefusal(call, sourceLocation: sourceLocation)
        #expect(missing?.code == .notFound, sourceLocation: sourceLocation)
        #expect(missing?.message == message, sourceLocation: sourceLocation)
        #expect(missing?.field == field, sourceLocation: sourceLocation)
    }
}

/// A stored blob of `text`'s bytes.
func pendingBlob(_ blobs: FolderBlobStore, _ text: String) async throws -> PendingBlob {
    let writer = try blobs.makeWriter()
    try writer.write(Array(text.utf8))
    return try await writer.finish()
}

/// Logs the artifacts a deletion test takes apart: one of content `own.text` that only
/// `own.runID` holds, and one named `shared.name` on `shared.runID` whose content ("shared") an
/// artifact of the same name on `keeperRunID` holds too.
/// - Returns: The blobs of the first two: a deletion of their runs should remove `own` and keep
///   `shared`.
func logOwnAndSharedArtifacts(
    _ f: EngineFixture, own: (runID: String, name: String, text: String), shared: (runID: String, name: String), keeperRunID: String
) async throws -> (own: PendingBlob, shared: PendingBlob) {
    let ownBlob = try await pendingBlob(f.blobs, own.text)
    let sharedBlob = try await pendingBlob(f.blobs, "shared")
    let sharedAgain = try await pendingBlob(f.blobs, "shared")
    _ = try await f.store.createArtifact(NewArtifact(runID: own.runID, name: own.name, type: 1), content: ownBlob, blobs: f.blobs)
    _ = try await f.store.createArtifact(NewArtifact(runID: shared.runID, name: shared.name, type: 1), content: sharedBlob, blobs: f.blobs)
    _ = try await f.store.createArtifact(NewArtifact(runID: keeperRunID, name: shared.name, type: 1), content: sharedAgain, blobs: f.blobs)
    return (ownBlob, sharedBlob)
}
