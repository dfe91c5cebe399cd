import TallyProto
import TallyStore

extension JobEvent {
    /// The event that ends a job's streams, for a job whose end is recorded: completed with
    /// `results`, failed with the recorded error, or cancelled.
    static func end(of record: JobRecord, results: JobResults?) -> JobEvent {
        var event = JobEvent()
        switch record.status {
        case JobRecord.completed:
            var completed = JobCompleted()
            completed.results = results ?? JobResults()
            event.event = .completed(completed)
        case JobRecord.failed:
            var failed = JobFailed()
            failed.error = record.error
            event.event = .failed(failed)
        default:
            event.event = .cancelled(JobCancelled())
        }
        event.jobId = record.id
        event.jobKind = record.kind
        event.timeMs = Identifiers.nowMs()
        return event
    }
}
