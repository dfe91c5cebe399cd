import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func createExperiment(request: CreateExperimentRequest, context: ServerContext) async throws -> Experiment {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func getExperiment(request: GetExperimentRequest, context: ServerContext) async throws -> Experiment {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func updateExperiment(request: UpdateExperimentRequest, context: ServerContext) async throws -> Experiment {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func deleteExperiment(request: DeleteExperimentRequest, context: ServerContext) async throws -> DeleteExperimentResponse {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func listExperiments(request: ListExperimentsRequest, context: ServerContext) async throws -> ListExperimentsResponse {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }
}
