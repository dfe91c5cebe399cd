import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func uploadArtifact(requests: RequestStream<UploadArtifactRequest>, context: ServerContext) async throws -> Artifact {
        throw RPCError(code: .unimplemented, message: "UploadArtifact is not implemented yet")
    }

    public func downloadArtifact(request: DownloadArtifactRequest, response: ResponseWriter<DownloadArtifactResponse>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "DownloadArtifact is not implemented yet")
    }

    public func listArtifacts(request: ListArtifactsRequest, context: ServerContext) async throws -> ListArtifactsResponse {
        throw RPCError(code: .unimplemented, message: "ListArtifacts is not implemented yet")
    }

    public func setArtifactAlias(request: SetArtifactAliasRequest, context: ServerContext) async throws -> Artifact {
        throw RPCError(code: .unimplemented, message: "SetArtifactAlias is not implemented yet")
    }

    public func deleteArtifact(request: DeleteArtifactRequest, context: ServerContext) async throws -> DeleteArtifactResponse {
        throw RPCError(code: .unimplemented, message: "DeleteArtifact is not implemented yet")
    }
}
