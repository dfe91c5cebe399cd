/// What ``recordWriter(id:contactMs:)`` found.
public enum WriterContact: Sendable {
    /// No such run.
    case missing
    /// The contact time is recorded.
    case recorded
    /// The run had been marked crashed; it is running again.
    case revived(RunRecord)
    /// The run is a sweep trial's: its sweep watches the trial's worker (trial heartbeats)
    /// and ends the run with the trial, so the run is not watched for its writer.
    case ownedBySweep
}
