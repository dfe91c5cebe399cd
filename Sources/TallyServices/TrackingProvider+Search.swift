import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func searchRuns(request: SearchRunsRequest, context: ServerContext) async throws -> ListRunsResponse {
        throw RPCError(code: .unimplemented, message: "SearchRuns is not implemented yet")
    }
}
