extension StoreEngine {
    /// The whole history of a run's series, read as every engine answers
    /// `metricHistory(runID:keys:minStep:maxStep:maxPoints:)`: the engine's plans, then each
    /// plan's pages in order (or its downsampled points). Holds every point of the answer at once.
    /// - Throws: ``StoreError`` `notFound` for a missing run or key.
    package func metricHistoryReadingPlans(
        runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int
    ) async throws -> [MetricHistoryRecord] {
        var records: [MetricHistoryRecord] = []
        for plan in try await metricHistoryPlans(runID: runID, keys: keys, minStep: minStep, maxStep: maxStep, maxPoints: maxPoints) {
            var points = plan.downsampledPoints ?? []
            for page in 0..<plan.pageCount {
                points += try await metricHistoryPage(plan, page: page)
            }
            records.append(MetricHistoryRecord(key: plan.key, points: points, totalPoints: plan.totalPoints, downsampled: plan.downsampledPoints != nil))
        }
        return records
    }
}
