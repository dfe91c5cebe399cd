import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func commitMetrics(_ batches: [MetricPointBatch]) async throws -> [Result<CommittedPoints, StoreError>] {
        throw Self.notYet(#function)
    }

    package func metricHistory(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryRecord] {
        throw Self.notYet(#function)
    }

    package func metricHistoryPlans(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryPlan] {
        throw Self.notYet(#function)
    }

    package func metricHistoryPage(_ plan: MetricHistoryPlan, page: Int) async throws -> [MetricPointRecord] {
        throw Self.notYet(#function)
    }
}
