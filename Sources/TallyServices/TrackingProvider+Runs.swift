import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func startRun(request: StartRunRequest, context: ServerContext) async throws -> Run {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func endRun(request: EndRunRequest, context: ServerContext) async throws -> Run {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func getRun(request: GetRunRequest, context: ServerContext) async throws -> Run {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func deleteRun(request: DeleteRunRequest, context: ServerContext) async throws -> DeleteRunResponse {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func listRuns(request: ListRunsRequest, context: ServerContext) async throws -> ListRunsResponse {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func logParams(request: LogParamsRequest, context: ServerContext) async throws -> LogParamsResponse {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }
}
