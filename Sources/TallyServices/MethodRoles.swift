import TallyAPI
public import TallyRPC

/// The least role each method needs (docs/teams.md, "Roles"): the one table the router enforces
/// before any handler runs (``RPCRouter/requireRoles(_:)``). A method missing from it needs
/// ``Role/admin``; a test checks that every method of every service descriptor is in it, and
/// calls every method as every role.
public enum MethodRoles {
    /// Reading, for anyone with access.
    private static let viewer: [MethodDescriptor] = [
        SystemService.Method.info, SystemService.Method.ping,
        DiagnosticsService.Method.echo, DiagnosticsService.Method.echoStream,
        DiagnosticsService.Method.echoCollect, DiagnosticsService.Method.echoBidi,
        TrackingService.Method.getExperiment, TrackingService.Method.listExperiments,
        TrackingService.Method.getRun, TrackingService.Method.listRuns, TrackingService.Method.searchRuns,
        TrackingService.Method.getMetricHistory, TrackingService.Method.watchRun,
        TrackingService.Method.downloadArtifact, TrackingService.Method.listArtifacts, TrackingService.Method.compareRuns,
        ExperimentsService.Method.getDataset, ExperimentsService.Method.listDatasets,
        ExperimentsService.Method.listProviders,
        ExperimentsService.Method.getJob, ExperimentsService.Method.listJobs, ExperimentsService.Method.listJobItems,
        ExperimentsService.Method.watchJob, ExperimentsService.Method.watchJobs,
    ]

    /// Doing the work: experiments, runs, logging, artifacts, datasets, jobs and sweep agents.
    private static let member: [MethodDescriptor] = [
        TrackingService.Method.createExperiment, TrackingService.Method.updateExperiment,
        TrackingService.Method.startRun, TrackingService.Method.endRun, TrackingService.Method.resumeRun,
        TrackingService.Method.setRunTags, TrackingService.Method.setRunNote,
        TrackingService.Method.logParams, TrackingService.Method.logMetrics,
        TrackingService.Method.streamMetrics, TrackingService.Method.writeRun,
        TrackingService.Method.uploadArtifact, TrackingService.Method.setArtifactAlias,
        ExperimentsService.Method.createDataset, ExperimentsService.Method.updateDatasetLabels,
        ExperimentsService.Method.createJob, ExperimentsService.Method.cancelJob,
        ExperimentsService.Method.nextTrial, ExperimentsService.Method.reportTrial,
        ExperimentsService.Method.heartbeat, ExperimentsService.Method.crossValidate,
    ]

    /// Managing: providers (API keys, commands the daemon runs, base URLs keys are sent to),
    /// tokens, and deleting what others made.
    private static let admin: [MethodDescriptor] = [
        SystemService.Method.createToken, SystemService.Method.listTokens, SystemService.Method.revokeToken,
        TrackingService.Method.deleteExperiment, TrackingService.Method.deleteRun, TrackingService.Method.deleteArtifact,
        ExperimentsService.Method.createProvider, ExperimentsService.Method.updateProvider,
        ExperimentsService.Method.deleteProvider,
        ExperimentsService.Method.deleteDataset, ExperimentsService.Method.deleteJob,
    ]

    /// The least role per method path ("/tally.v1.Tracking/StartRun").
    public static let table: [String: Role] = {
        var table: [String: Role] = [:]
        for (methods, role) in [(viewer, Role.viewer), (member, .member), (admin, .admin)] {
            for method in methods {
                precondition(table[method.path] == nil, "\(method.path) is listed twice")
                table[method.path] = role
            }
        }
        return table
    }()

    /// Every method of every service the daemon serves, from the generated descriptors.
    public static let allMethods: [MethodDescriptor] =
        SystemService.Method.all + DiagnosticsService.Method.all + TrackingService.Method.all + ExperimentsService.Method.all
}
