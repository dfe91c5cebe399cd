import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func logMetrics(request: MetricBatch, context: ServerContext) async throws -> LogMetricsResponse {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func streamMetrics(requests: RequestStream<MetricBatch>, response: ResponseWriter<LogMetricsResponse>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func getMetricHistory(request: GetMetricHistoryRequest, response: ResponseWriter<MetricHistoryChunk>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }

    public func watchRun(request: WatchRunRequest, response: ResponseWriter<RunEvent>, context: ServerContext) async throws {
        throw RPCError(code: .unimplemented, message: "not implemented yet")
    }
}
