/// What the services need of a store, in the domain's terms: experiments, runs, params, metric
/// points, artifacts, jobs, sweeps, datasets and providers. No SQL and no type of a database
/// library appears here, so that an engine can stand behind it: SQLite (``Store``, the default,
/// one file next to the daemon) and PostgreSQL (`TallyPostgres.PostgresStore`, for teams).
///
/// Every engine keeps the same behaviour, which one suite checks against both
/// (Tests/StoreEngineTests): the same records, orders, page tokens, errors (``StoreError`` with
/// the same codes and fields) and atomicity. Blob garbage collection belongs to the store: the
/// deletions that can orphan a blob take the ``BlobStore`` and remove what nothing references
/// once their transaction commits.
package protocol StoreEngine: AnyObject, Sendable {
    /// A short name of the engine and where it keeps its data, for logs and `tally status`.
    var engineDescription: String { get }

    /// Names of the applied migrations, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Releases the engine's connections; nothing may be called afterwards.
    func close() async throws

    // MARK: Experiments
    func createExperiment(_ experiment: NewExperiment, getIfExists: Bool) async throws -> ExperimentRecord
    func experiment(id: String?, name: String?) async throws -> ExperimentRecord
    func updateExperiment(id: String, _ update: ExperimentUpdate) async throws -> ExperimentRecord
    func deleteExperiment(id: String, force: Bool, blobs: (any BlobStore)?) async throws -> Deletion
    func listExperiments(_ query: ExperimentQuery) async throws -> Page<ExperimentRecord>

    // MARK: Runs
    func startRun(_ run: NewRun) async throws -> RunRecord
    func setRunNote(id: String, note: String) async throws -> RunRecord
    func endRun(id: String, state: RunState, error: String) async throws -> RunRecord
    func resumeRun(id: String) async throws -> RunRecord
    func markCrashed(_ runs: [(id: String, lastContactMs: Int64)]) async throws -> [String]
    func recordWriter(id: String, contactMs: Int64) async throws -> WriterContact
    func recordContacts(_ runs: [(id: String, lastContactMs: Int64)]) async throws
    func runsWithWriters() async throws -> [(id: String, lastContactMs: Int64)]
    func run(id: String) async throws -> RunRecord
    func runState(id: String) async throws -> (pk: Int64, state: RunState)
    func deleteRun(id: String, force: Bool, blobs: (any BlobStore)?) async throws -> Deletion
    func setRunTags(id: String, set tags: [String: String], remove keys: [String], maxTags: Int) async throws -> RunRecord
    func listRuns(experimentIDs: [String], parentRunID: String?, pageSize: Int, pageToken: String) async throws -> Page<RunRecord>
    func logParams(runID: String, params: [String: ParamValueRecord], requireRunning: Bool) async throws -> Int
    func applyRunWrites(_ writes: [RunWriteOperation], maxTags: Int) async throws -> (outcomes: [RunWriteOutcome], refusal: StoreError?)
    func searchRuns(experimentIDs: [String], filter: String, orderBy: [String], pageSize: Int, pageToken: String) async throws -> Page<RunRecord>

    // MARK: Metrics
    func commitMetrics(_ batches: [MetricPointBatch]) async throws -> [Result<CommittedPoints, StoreError>]
    func metricHistory(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryRecord]
    func metricHistoryPlans(runID: String, keys: [String], minStep: Int64, maxStep: Int64?, maxPoints: Int) async throws -> [MetricHistoryPlan]
    func metricHistoryPage(_ plan: MetricHistoryPlan, page: Int) async throws -> [MetricPointRecord]

    // MARK: Artifacts
    func checkArtifactUpload(runID: String) async throws
    func createArtifact(_ artifact: NewArtifact, content: PendingBlob, files: [ArtifactFolderFile], blobs: any BlobStore) async throws -> ArtifactRecord
    func artifact(_ reference: ArtifactReference) async throws -> ArtifactRecord
    func artifactWithFiles(_ reference: ArtifactReference) async throws -> (ArtifactRecord, [ArtifactFileRecord])
    func artifacts(runID: String, name: String?) async throws -> [ArtifactRecord]
    func artifacts(experimentID: String, name: String?) async throws -> [ArtifactRecord]
    func setArtifactAlias(_ reference: ArtifactReference, alias: String) async throws -> ArtifactRecord
    func deleteArtifact(_ reference: ArtifactReference, blobs: any BlobStore) async throws -> DeletedArtifact

    // MARK: Jobs and sweeps
    func createJob(kind: String, config: [UInt8], progressTotal: Int64) async throws -> JobRecord
    func job(_ id: String) async throws -> JobRecord
    func listJobs(statuses: [Int], kind: String, pageSize: Int, pageToken: String) async throws -> Page<JobRecord>
    func markJobRunning(_ id: String, progressTotal: Int64, experimentID: String) async throws -> JobRecord
    func finishJob(_ id: String, status: Int, error: String, results: [UInt8]?) async throws -> JobRecord
    func recordJobItem(jobPK: Int64, _ item: JobItemRecord, progressCurrent: Int64) async throws
    func jobItems(jobPK: Int64) async throws -> [JobItemRecord]
    func listJobItems(jobID: String, model: String, errorsOnly: Bool, pageSize: Int, pageToken: String) async throws -> Page<JobItemRecord>
    func deleteJob(_ id: String) async throws
    func jobsToResume() async throws -> [JobRecord]
    /// Claims for `owner`, until `untilMs`, every unfinished job (pending or running) whose
    /// lease has expired by `nowMs`, and with `reclaimingOwn` those `owner` holds already (a
    /// daemon restarted in place): each is set pending and returned, oldest first. Several
    /// daemons claiming at once each get different jobs.
    func claimJobs(owner: String, nowMs: Int64, untilMs: Int64, reclaimingOwn: Bool) async throws -> [JobRecord]
    /// Takes or extends one job's lease for `owner`; false when another owner's lease on it has
    /// not expired, or it does not exist.
    func leaseJob(_ id: String, owner: String, nowMs: Int64, untilMs: Int64) async throws -> Bool
    /// Extends `owner`'s leases on these jobs to `untilMs`; returns the ids it still holds.
    func renewJobLeases(_ ids: [String], owner: String, untilMs: Int64) async throws -> Set<String>
    /// Gives up every lease of `owner`, so that another daemon may take its jobs at once.
    func releaseJobLeases(owner: String) async throws
    func saveSweepTrial(jobPK: Int64, _ trial: SweepTrialRecord) async throws
    func setJobProgress(jobPK: Int64, current: Int64) async throws
    func sweepTrials(jobPK: Int64) async throws -> [SweepTrialRecord]
    func sweepJobID(trialID: String) async throws -> String

    // MARK: Datasets
    func createDataset(name: String, description: String, labels: [LabelRecord], items: [DatasetItemRecord]) async throws -> DatasetRecord
    func dataset(_ reference: String) async throws -> DatasetRecord
    func datasetItems(_ reference: String) async throws -> [DatasetItemRecord]
    func listDatasets(pageSize: Int, pageToken: String) async throws -> Page<DatasetRecord>
    func updateDatasetLabels(_ reference: String, labels: [LabelRecord]) async throws -> DatasetRecord
    func deleteDataset(_ reference: String) async throws

    // MARK: Access tokens
    func createAccessToken(_ token: AccessTokenRecord) async throws -> AccessTokenRecord
    func accessTokens() async throws -> [AccessTokenRecord]
    func revokeAccessToken(name: String) async throws -> AccessTokenRecord

    // MARK: Providers
    func createProvider(_ provider: NewProvider) async throws -> ProviderRecord
    func provider(_ reference: String) async throws -> ProviderRecord
    func listProviders() async throws -> [ProviderRecord]
    func updateProvider(_ reference: String, _ update: ProviderUpdate) async throws -> ProviderRecord
    func deleteProvider(_ reference: String) async throws
}

extension StoreEngine {
    // The defaults of the SQLite store's methods, for every engine.
    package func createExperiment(_ experiment: NewExperiment) async throws -> ExperimentRecord {
        try await createExperiment(experiment, getIfExists: false)
    }

    package func experiment(id: String) async throws -> ExperimentRecord {
        try await experiment(id: id, name: nil)
    }

    package func experiment(name: String) async throws -> ExperimentRecord {
        try await experiment(id: nil, name: name)
    }

    package func deleteExperiment(id: String, force: Bool) async throws -> Deletion {
        try await deleteExperiment(id: id, force: force, blobs: nil)
    }

    package func deleteRun(id: String, force: Bool) async throws -> Deletion {
        try await deleteRun(id: id, force: force, blobs: nil)
    }

    package func logParams(runID: String, params: [String: ParamValueRecord]) async throws -> Int {
        try await logParams(runID: runID, params: params, requireRunning: false)
    }

    package func createArtifact(_ artifact: NewArtifact, content: PendingBlob, blobs: any BlobStore) async throws -> ArtifactRecord {
        try await createArtifact(artifact, content: content, files: [], blobs: blobs)
    }

    package func artifacts(runID: String) async throws -> [ArtifactRecord] {
        try await artifacts(runID: runID, name: nil)
    }

    package func artifacts(experimentID: String) async throws -> [ArtifactRecord] {
        try await artifacts(experimentID: experimentID, name: nil)
    }
}
