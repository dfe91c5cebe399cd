import TallyProto
import TallyStore

/// Runs jobs of one kind.
protocol JobExecutor: Sendable {
    /// Runs a job to its results, reporting through `context`. Throws `CancellationError` when
    /// cancelled; any other error fails the job with its description.
    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults

    /// Whether a job of this kind takes one of the manager's bounded workers while it runs. A
    /// job that only coordinates work done elsewhere (a sweep, whose trials run in its workers'
    /// processes) does not, so it never keeps other jobs waiting.
    var usesWorker: Bool { get }

    /// Called once the job's end is recorded in the store (or given up on), whatever the
    /// outcome: what ``run(_:context:)`` left for readers of the running job (a sweep's live
    /// results) stays until then, so that no reader sees the job running without it.
    func ended(_ job: JobRecord)
}

extension JobExecutor {
    var usesWorker: Bool { true }

    func ended(_ job: JobRecord) {}
}
