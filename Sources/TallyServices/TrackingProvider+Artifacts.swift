import Logging
import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    /// Largest download chunk: 1 MiB, so that a chunk message always fits in a 4 MiB frame.
    static let maxArtifactChunkSize = 1 << 20

    /// Receives the header, streams the chunks to a temporary file while hashing them, then
    /// records the version and moves the content into the blob store in one transaction.
    /// Nothing is stored when the call fails or is cancelled.
    public func uploadArtifact(requests: RequestStream<UploadArtifactRequest>, context: ServerContext) async throws -> Artifact {
        try await mapStoreErrors {
            var iterator = requests.makeAsyncIterator()
            guard let first = try await iterator.next() else {
                try Task.checkCancellation()
                throw StoreError(code: .invalidArgument, message: "the upload has no header: its first message must carry one", field: "header")
            }
            guard case .header(let header) = first.part else {
                throw StoreError(code: .invalidArgument, message: "the first message of an upload must be its header", field: "header")
            }
            let (artifact, expectedSHA256) = try validatedUpload(header)
            // Fail before any content is sent; checked again when the version is recorded.
            try await store.checkArtifactUpload(runID: artifact.runID)

            let writer = try blobs.makeWriter()
            var pending: BlobStore.PendingBlob?
            do {
                while let message = try await iterator.next() {
                    switch message.part {
                    case .chunk(let bytes):
                        try await writer.append(bytes)
                    case .header:
                        throw StoreError(code: .invalidArgument, message: "the upload sent a second header", field: "header")
                    case nil:
                        throw StoreError(code: .invalidArgument, message: "an upload message carries neither a header nor a chunk", field: "part")
                    }
                }
                // A cancelled call ends the request stream as if the client had finished it.
                try Task.checkCancellation()
                let blob = try await writer.finish()
                pending = blob
                if let expectedSHA256, blob.sha256 != expectedSHA256 {
                    throw StoreError(
                        code: .dataLoss,
                        message: "the uploaded content (\(blob.size) bytes) hashes to \(blob.sha256), not the expected \(expectedSHA256); nothing was stored",
                        field: "expected_sha256"
                    )
                }
                try Task.checkCancellation()
                let record = try await store.createArtifact(artifact, content: blob, blobs: blobs)
                context.logger.debug(
                    "artifact stored",
                    metadata: ["artifact": "\(record.id)", "name": "\(record.name)", "version": "\(record.version)", "size": "\(record.size)"]
                )
                return Artifact(record)
            } catch {
                writer.discard()
                if let pending { blobs.discard(pending) }
                throw error
            }
        }
    }

    /// Sends the version's record, then its content in chunks, hashing as it reads; damaged or
    /// missing content ends the call with DATA_LOSS (before the final chunk).
    public func downloadArtifact(request: DownloadArtifactRequest, response: ResponseWriter<DownloadArtifactResponse>, context: ServerContext) async throws {
        try await mapStoreErrors {
            let reference = try Self.artifactReference(request.artifact)
            let chunkSize = request.chunkSize == 0
                ? Self.maxArtifactChunkSize
                : min(Int(request.chunkSize), Self.maxArtifactChunkSize)
            let record = try await store.artifact(reference)
            do {
                let reader = try blobs.makeReader(sha256: record.sha256, size: record.size)
                var first = DownloadArtifactResponse()
                first.part = .artifact(Artifact(record))
                try await response.write(first)
                while true {
                    let chunk = try await reader.next(maxCount: chunkSize)
                    if chunk.isEmpty { break }
                    var message = DownloadArtifactResponse()
                    message.part = .chunk(chunk)
                    try await response.write(message)
                }
            } catch let error as StoreError where error.code == .dataLoss {
                logger.error("artifact content is damaged", metadata: ["artifact": "\(record.id)", "error": "\(error.message)"])
                throw error
            }
        }
    }

    public func listArtifacts(request: ListArtifactsRequest, context: ServerContext) async throws -> ListArtifactsResponse {
        try await mapStoreErrors {
            let name = request.name.isEmpty ? nil : request.name
            let records: [ArtifactRecord]
            switch (request.runId.isEmpty, request.experimentId.isEmpty) {
            case (false, true):
                records = try await store.artifacts(runID: request.runId, name: name)
            case (true, false):
                records = try await store.artifacts(experimentID: request.experimentId, name: name)
            default:
                throw StoreError(code: .invalidArgument, message: "give exactly one of run_id and experiment_id", field: "run_id")
            }
            var response = ListArtifactsResponse()
            response.artifacts = records.map(Artifact.init)
            return response
        }
    }

    public func setArtifactAlias(request: SetArtifactAliasRequest, context: ServerContext) async throws -> Artifact {
        try await mapStoreErrors {
            try Store.validateArtifactAlias(request.alias)
            let reference = try Self.artifactReference(request.artifact)
            return Artifact(try await store.setArtifactAlias(reference, alias: request.alias))
        }
    }

    public func deleteArtifact(request: DeleteArtifactRequest, context: ServerContext) async throws -> DeleteArtifactResponse {
        try await mapStoreErrors {
            let reference = try Self.artifactReference(request.artifact)
            let deleted = try await store.deleteArtifact(reference, blobs: blobs)
            var response = DeleteArtifactResponse()
            response.blobRemoved = deleted.blobRemoved
            return response
        }
    }

    // MARK: - Requests

    /// The new version an upload header describes, and the hash its content must have.
    func validatedUpload(_ header: ArtifactHeader) throws -> (Store.NewArtifact, expectedSHA256: String?) {
        guard !header.runId.isEmpty else {
            throw StoreError(code: .invalidArgument, message: "the upload header needs a run_id", field: "run_id")
        }
        try Store.validateArtifactName(header.name, maxLength: limits.maxArtifactNameLength)
        let type: Int
        switch header.type {
        case .unspecified: type = Int(ArtifactType.other.rawValue)
        case .model, .dataset, .figure, .other: type = Int(header.type.rawValue)
        default:
            throw StoreError(code: .invalidArgument, message: "unknown artifact type \(header.type.rawValue)", field: "type")
        }
        guard header.metadata.count <= limits.maxTags else {
            throw StoreError(code: .invalidArgument, message: "more than \(limits.maxTags) metadata entries", field: "metadata")
        }
        for (key, value) in header.metadata {
            guard !key.isEmpty, key.count <= limits.maxKeyLength else {
                throw StoreError(
                    code: .invalidArgument,
                    message: "metadata key \(String(reflecting: key)) must have 1 to \(limits.maxKeyLength) characters",
                    field: "metadata"
                )
            }
            guard value.count <= limits.maxTagValueLength else {
                throw StoreError(
                    code: .invalidArgument,
                    message: "metadata value of \"\(key)\" is longer than \(limits.maxTagValueLength) characters",
                    field: "metadata"
                )
            }
        }
        for alias in header.aliases {
            try Store.validateArtifactAlias(alias)
        }
        var expected: String?
        if !header.expectedSha256.isEmpty {
            let lowered = header.expectedSha256.lowercased()
            guard BlobStore.isSHA256(lowered) else {
                throw StoreError(
                    code: .invalidArgument,
                    message: "expected_sha256 must be 64 hex digits, not \(String(reflecting: header.expectedSha256))",
                    field: "expected_sha256"
                )
            }
            expected = lowered
        }
        let artifact = Store.NewArtifact(
            runID: header.runId,
            name: header.name,
            type: type,
            metadata: header.metadata,
            aliases: header.aliases
        )
        return (artifact, expected)
    }

    /// The version an `ArtifactRef` names: by id, or by experiment and name with a version, an
    /// alias, or neither (latest).
    static func artifactReference(_ ref: ArtifactRef?) throws -> Store.ArtifactReference {
        guard let ref else {
            throw StoreError(code: .invalidArgument, message: "an artifact reference is required", field: "artifact")
        }
        if !ref.artifactId.isEmpty {
            guard ref.experimentId.isEmpty, ref.runId.isEmpty, ref.name.isEmpty, ref.version == 0, ref.alias.isEmpty else {
                throw StoreError(
                    code: .invalidArgument,
                    message: "an artifact reference by artifact_id takes no experiment_id, run_id, name, version or alias",
                    field: "artifact_id"
                )
            }
            return .id(ref.artifactId)
        }
        if !ref.runId.isEmpty {
            guard ref.experimentId.isEmpty else {
                throw StoreError(code: .invalidArgument, message: "give a run_id or an experiment_id, not both", field: "run_id")
            }
            guard !ref.name.isEmpty else {
                throw StoreError(code: .invalidArgument, message: "an artifact reference by run_id needs a name", field: "name")
            }
            guard ref.version == 0 || ref.alias.isEmpty else {
                throw StoreError(code: .invalidArgument, message: "give a version or an alias, not both", field: "alias")
            }
            return .run(runID: ref.runId, name: ref.name, version: Int(ref.version), alias: ref.alias)
        }
        guard !ref.experimentId.isEmpty, !ref.name.isEmpty else {
            throw StoreError(
                code: .invalidArgument,
                message: "an artifact reference needs an artifact_id, or an experiment_id and a name",
                field: "artifact"
            )
        }
        if ref.version > 0 {
            guard ref.alias.isEmpty else {
                throw StoreError(code: .invalidArgument, message: "give a version or an alias, not both", field: "alias")
            }
            return .version(experimentID: ref.experimentId, name: ref.name, version: Int(ref.version))
        }
        return .alias(experimentID: ref.experimentId, name: ref.name, alias: ref.alias.isEmpty ? Store.latestAlias : ref.alias)
    }
}
