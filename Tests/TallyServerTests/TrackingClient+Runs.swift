import TallyAPI
import TallyProto

extension TrackingClient {
    /// Starts a run in the experiment named `experiment`, creating the experiment if needed.
    func startRun(inExperiment experiment: String) async throws -> Run {
        var reference = ExperimentRef()
        reference.ref = .name(experiment)
        var start = StartRunRequest()
        start.experiment = reference
        start.createExperiment = true
        return try await startRun(start)
    }
}
