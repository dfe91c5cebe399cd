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

            if artifact.folder {
                return try await receiveFolder(artifact, expectedSHA256: expectedSHA256, from: &iterator, context: context)
            }
            let writer = try blobs.makeWriter()
            var pending: PendingBlob?
            do {
                while let message = try await iterator.next() {
                    switch message.part {
                    case .chunk(let bytes):
                        try await writer.append(bytes)
                    case .header:
                        throw StoreError(code: .invalidArgument, message: "the upload sent a second header", field: "header")
                    case .file:
                        throw StoreError(code: .invalidArgument, message: "a file part in the upload of a file (set folder in the header to upload a folder)", field: "file")
                    case nil:
                        throw StoreError(code: .invalidArgument, message: "an upload message carries neither a header nor a chunk", field: "part")
                    }
                }
                // A cancelled call ends the request stream as if the client had finished it.
                try Task.checkCancellation()
                let blob = try await writer.finish()
                pending = blob
                try Self.checkExpected(expectedSHA256, blob, what: "the uploaded content", field: "expected_sha256")
                try Task.checkCancellation()
                let record = try await store.createArtifact(artifact, content: blob, blobs: blobs)
                logStored(record, context: context)
                return Artifact(record)
            } catch {
                writer.discard()
                if let pending { blobs.discard(pending) }
                throw error
            }
        }
    }

    /// Receives a folder's files (each a `file` part and its chunks), checks each against its
    /// declared size and hash, writes the manifest, and records the version with every file in
    /// one transaction. Nothing is stored when any part fails.
    private func receiveFolder(
        _ artifact: Store.NewArtifact,
        expectedSHA256: String?,
        from iterator: inout RequestStream<UploadArtifactRequest>.AsyncIterator,
        context: ServerContext
    ) async throws -> Artifact {
        var files: [Store.FolderFile] = []
        var paths = Set<String>()
        var current: (file: ArtifactFile, writer: any BlobWriter)?
        var manifestBlob: PendingBlob?
        do {
            func finishCurrent() async throws {
                guard let (file, writer) = current else { return }
                current = nil
                let blob = try await writer.finish()
                files.append(Store.FolderFile(path: file.path, content: blob))
                guard UInt64(blob.size) == file.size else {
                    throw StoreError(
                        code: .invalidArgument,
                        message: "file \(String(reflecting: file.path)) declared \(file.size) bytes but \(blob.size) arrived; nothing was stored",
                        field: "file"
                    )
                }
                let expected = file.sha256.isEmpty ? nil : file.sha256.lowercased()
                try Self.checkExpected(expected, blob, what: "file \(String(reflecting: file.path))", field: "file")
            }
            while let message = try await iterator.next() {
                switch message.part {
                case .file(let file):
                    try await finishCurrent()
                    try validateFolderFile(file, known: paths, count: files.count)
                    paths.insert(file.path)
                    current = (file, try blobs.makeWriter())
                case .chunk(let bytes):
                    guard let (file, writer) = current else {
                        throw StoreError(code: .invalidArgument, message: "a chunk before the first file part of a folder upload", field: "chunk")
                    }
                    let (total, overflow) = UInt64(writer.size).addingReportingOverflow(UInt64(bytes.count))
                    guard !overflow, total <= file.size else {
                        throw StoreError(
                            code: .invalidArgument,
                            message: "file \(String(reflecting: file.path)) declared \(file.size) bytes but more arrived; nothing was stored",
                            field: "file"
                        )
                    }
                    try await writer.append(bytes)
                case .header:
                    throw StoreError(code: .invalidArgument, message: "the upload sent a second header", field: "header")
                case nil:
                    throw StoreError(code: .invalidArgument, message: "an upload message carries no part", field: "part")
                }
            }
            try Task.checkCancellation()
            try await finishCurrent()
            let manifest = FolderManifest(files: files.map { ArtifactFileRecord(path: $0.path, sha256: $0.content.sha256, size: $0.content.size) })
            _ = try manifest.totalSize()
            let writer = try blobs.makeWriter()
            try await writer.append(manifest.bytes)
            let blob = try await writer.finish()
            manifestBlob = blob
            try Self.checkExpected(expectedSHA256, blob, what: "the folder's manifest", field: "expected_sha256")
            try Task.checkCancellation()
            let record = try await store.createArtifact(artifact, content: blob, files: files, blobs: blobs)
            logStored(record, context: context)
            return Artifact(record)
        } catch {
            current?.writer.discard()
            for file in files { blobs.discard(file.content) }
            if let manifestBlob { blobs.discard(manifestBlob) }
            throw error
        }
    }

    /// Checks a file part of a folder upload: a valid relative path not seen before, a declared
    /// hash that is a SHA-256 when given, and room for one more file.
    private func validateFolderFile(_ file: ArtifactFile, known: Set<String>, count: Int) throws {
        guard count < limits.maxArtifactFiles else {
            throw StoreError(code: .invalidArgument, message: "a folder artifact has at most \(limits.maxArtifactFiles) files", field: "file")
        }
        try Store.validateArtifactName(file.path, maxLength: limits.maxArtifactFilePathLength, what: "file path", field: "file")
        guard !known.contains(file.path) else {
            throw StoreError(code: .invalidArgument, message: "file \(String(reflecting: file.path)) is sent twice", field: "file")
        }
        guard file.sha256.isEmpty || Blobs.isSHA256(file.sha256.lowercased()) else {
            throw StoreError(
                code: .invalidArgument,
                message: "the sha256 of file \(String(reflecting: file.path)) must be 64 hex digits, not \(String(reflecting: file.sha256))",
                field: "file"
            )
        }
    }

    private static func checkExpected(_ expected: String?, _ blob: PendingBlob, what: String, field: String) throws {
        guard let expected, blob.sha256 != expected else { return }
        throw StoreError(
            code: .dataLoss,
            message: "\(what) (\(blob.size) bytes) hashes to \(blob.sha256), not the expected \(expected); nothing was stored",
            field: field
        )
    }

    private func logStored(_ record: ArtifactRecord, context: ServerContext) {
        context.logger.debug(
            "artifact stored",
            metadata: [
                "artifact": "\(record.id)", "name": "\(record.name)", "version": "\(record.version)", "size": "\(record.size)",
                "files": "\(record.fileCount)",
            ]
        )
    }

    /// Sends the version's record, then its content in chunks, hashing as it reads; damaged or
    /// missing content ends the call with DATA_LOSS (before the final chunk).
    public func downloadArtifact(request: DownloadArtifactRequest, response: ResponseWriter<DownloadArtifactResponse>, context: ServerContext) async throws {
        try await mapStoreErrors {
            let reference = try Self.artifactReference(request.artifact)
            let chunkSize = request.chunkSize == 0
                ? Self.maxArtifactChunkSize
                : min(Int(request.chunkSize), Self.maxArtifactChunkSize)
            let (record, files) = try await store.artifactWithFiles(reference)
            do {
                // A folder's files are opened as they are sent; its manifest is not sent (the
                // file parts carry it).
                let reader = record.folder ? nil : try blobs.makeReader(sha256: record.sha256, size: record.size)
                var first = DownloadArtifactResponse()
                first.part = .artifact(Artifact(record))
                try await response.write(first)
                if let reader {
                    try await sendContent(reader, chunkSize: chunkSize, to: response)
                }
                for file in files {
                    let reader = try blobs.makeReader(sha256: file.sha256, size: file.size)
                    var part = ArtifactFile()
                    part.path = file.path
                    part.size = UInt64(file.size)
                    part.sha256 = file.sha256
                    var message = DownloadArtifactResponse()
                    message.part = .file(part)
                    try await response.write(message)
                    try await sendContent(reader, chunkSize: chunkSize, to: response)
                }
            } catch let error as StoreError where error.code == .dataLoss {
                logger.error("artifact content is damaged", metadata: ["artifact": "\(record.id)", "error": "\(error.message)"])
                throw error
            }
        }
    }

    /// Sends a blob's chunks; the reader verifies the hash before the last one.
    private func sendContent(_ reader: any BlobReader, chunkSize: Int, to response: ResponseWriter<DownloadArtifactResponse>) async throws {
        while true {
            let chunk = try await reader.next(maxCount: chunkSize)
            if chunk.isEmpty { break }
            var message = DownloadArtifactResponse()
            message.part = .chunk(chunk)
            try await response.write(message)
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
            guard Blobs.isSHA256(lowered) else {
                throw StoreError(
                    code: .invalidArgument,
                    message: "expected_sha256 must be 64 hex digits, not \(String(reflecting: header.expectedSha256))",
                    field: "expected_sha256"
                )
            }
            expected = lowered
        }
        var artifact = Store.NewArtifact(
            runID: header.runId,
            name: header.name,
            type: type,
            metadata: header.metadata,
            aliases: header.aliases
        )
        artifact.folder = header.folder
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
