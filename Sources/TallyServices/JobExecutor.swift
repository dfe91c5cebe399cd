import TallyProto
import TallyStore

/// Runs jobs of one kind.
protocol JobExecutor: Sendable {
    /// Runs a job to its results, reporting through `context`. Throws `CancellationError` when
    /// cancelled; any other error fails the job with its description.
    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults
}
