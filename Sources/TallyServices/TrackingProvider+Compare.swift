import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func compareRuns(request: CompareRunsRequest, context: ServerContext) async throws -> CompareRunsResponse {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }
}
