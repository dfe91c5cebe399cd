import Foundation
public import TallyProto
public import TallyRPC
import TallyStore

extension ExperimentsProvider {
    public func createJob(request: CreateJobRequest, context: ServerContext) async throws -> Job {
        switch request.config {
        case .classification(let config)?:
            let (normalized, total) = try await validate(config, caller: context.caller)
            var stored = CreateJobRequest()
            stored.config = .classification(normalized)
            let record = try await mapStoreErrors {
                try await store.createJob(kind: ClassificationEvalExecutor.kind, config: try stored.serializedBytes(), progressTotal: Int64(total))
            }
            await jobs.submitNew(record)
            return try Job(record)
        case .sweep(let config)?:
            let plan = try await mapStoreErrors { try SweepPlan(config) }
            var stored = CreateJobRequest()
            stored.config = .sweep(plan.config)
            let record = try await mapStoreErrors {
                try await store.createJob(kind: SweepExecutor.kind, config: try stored.serializedBytes(), progressTotal: Int64(plan.maxTrials ?? 0))
            }
            await jobs.submitNew(record)
            return try Job(record)
        case .crossValidation(let config)?:
            let (checked, _) = try await mapStoreErrors { try CrossValidationExecutor.plan(config) }
            var stored = CreateJobRequest()
            stored.config = .crossValidation(checked)
            let record = try await mapStoreErrors {
                try await store.createJob(kind: CrossValidationExecutor.kind, config: try stored.serializedBytes(), progressTotal: Int64(checked.folds))
            }
            await jobs.submitNew(record)
            return try Job(record)
        case nil:
            throw invalid("a job needs a configuration (classification, sweep or cross_validation)", field: "config")
        }
    }

    /// Checks a classification configuration against the store and fills in defaults and the
    /// label snapshot. Returns it with the job's total item count.
    /// A command provider runs its command as the daemon's user: only that user may use one.
    func validate(_ config: ClassificationEvalConfig, caller: Caller) async throws -> (ClassificationEvalConfig, Int) {
        var config = config
        let dataset = try await mapStoreErrors { try await store.dataset(config.dataset) }
        let provider = try await mapStoreErrors { try await store.provider(config.provider) }
        guard provider.isActive else {
            throw StoreError(code: .failedPrecondition, message: "provider \(provider.name) is not active", field: "provider").rpcError
        }
        if ProviderKind(rawValue: Int32(provider.kind)) == .command {
            try caller.require(.admin, for: "an evaluation with command provider \(provider.name) (it runs a command as the daemon's user)")
        }
        guard !config.models.isEmpty else { throw invalid("name at least one model", field: "models") }
        guard Set(config.models).count == config.models.count else { throw invalid("models must not repeat", field: "models") }
        for model in config.models where model.isEmpty || model.count > 256 {
            throw invalid("model names must be 1 to 256 characters", field: "models")
        }
        if config.sampleSize == 0 { config.sampleSize = UInt32(clamping: dataset.itemCount) }
        guard Int64(config.sampleSize) <= dataset.itemCount else {
            throw invalid(
                "sample_size \(config.sampleSize) is larger than dataset \(dataset.name), which has \(dataset.itemCount) items",
                field: "sample_size"
            )
        }
        if config.sampling == .unspecified { config.sampling = .random }
        if config.concurrency == 0 { config.concurrency = 4 }
        guard config.concurrency <= 64 else { throw invalid("concurrency must be at most 64", field: "concurrency") }
        if config.requestTimeoutMs == 0 { config.requestTimeoutMs = 30_000 }
        guard config.requestTimeoutMs <= 600_000 else { throw invalid("request_timeout_ms must be at most 600000", field: "request_timeout_ms") }
        if config.retries == nil { config.retries = 2 }
        guard (config.retries ?? 0) <= 10 else { throw invalid("retries must be at most 10", field: "retries") }
        guard config.timeLimitMs <= Self.maxTimeLimitMs else {
            throw invalid("time_limit_ms must be at most \(Self.maxTimeLimitMs) (30 days)", field: "time_limit_ms")
        }
        if !config.promptTemplate.isEmpty, !config.promptTemplate.contains("{{text}}") {
            throw invalid("prompt_template must contain {{text}}", field: "prompt_template")
        }
        if config.experiment.isEmpty { config.experiment = "eval-\(dataset.name)" }
        config.dataset = dataset.name
        config.datasetId = dataset.id
        config.labels = dataset.labels.map(Label.init)
        return (config, Int(config.sampleSize) * config.models.count)
    }

    /// The longest time limit of an evaluation job: 30 days.
    static let maxTimeLimitMs: UInt64 = 30 * 86_400_000

    public func getJob(request: GetJobRequest, context: ServerContext) async throws -> Job {
        var job = try Job(try await mapStoreErrors { try await store.job(request.jobId) })
        // A running sweep answers with its results so far: trials, counts and the best one.
        if job.status == .running, let run = sweeps.run(job.id) {
            var results = JobResults()
            if case .crossValidation(let config)? = job.config {
                let trials = await run.results().trials
                results.crossValidation = try CrossValidationExecutor.results(
                    trials, config: config, parentRunID: job.id, startedAtMs: job.startedAtMs)
            } else {
                results.sweep = await run.results()
            }
            job.results = results
        }
        return job
    }

    public func listJobs(request: ListJobsRequest, context: ServerContext) async throws -> ListJobsResponse {
        let page = try await mapStoreErrors {
            try await store.listJobs(statuses: request.statuses.map { Int($0.rawValue) }, kind: request.kind, pageSize: Int(request.pageSize), pageToken: request.pageToken)
        }
        var response = ListJobsResponse()
        response.jobs = try page.items.map(Job.init)
        response.nextPageToken = page.nextPageToken
        response.totalCount = UInt64(page.totalCount)
        return response
    }

    public func cancelJob(request: CancelJobRequest, context: ServerContext) async throws -> Job {
        let current = try await mapStoreErrors { try await store.job(request.jobId) }
        guard !current.isFinished else {
            throw StoreError(code: .failedPrecondition, message: "job \(request.jobId) has already ended", field: "job_id").rpcError
        }
        try await mapStoreErrors { try await sweeps.run(request.jobId)?.cancel() }
        return try Job(try await mapStoreErrors { try await jobs.cancel(request.jobId) })
    }

    public func deleteJob(request: DeleteJobRequest, context: ServerContext) async throws -> DeleteJobResponse {
        if jobs.isRunning(request.jobId) {
            throw StoreError(code: .failedPrecondition, message: "job \(request.jobId) is running; cancel it first", field: "job_id").rpcError
        }
        let job = try await mapStoreErrors { try await store.job(request.jobId) }
        if job.status == JobRecord.pending {
            throw StoreError(code: .failedPrecondition, message: "job \(request.jobId) is pending; cancel it first", field: "job_id").rpcError
        }
        try await mapStoreErrors { try await store.deleteJob(request.jobId) }
        return DeleteJobResponse()
    }

    public func listJobItems(request: ListJobItemsRequest, context: ServerContext) async throws -> ListJobItemsResponse {
        let page = try await mapStoreErrors {
            try await store.listJobItems(jobID: request.jobId, model: request.model, errorsOnly: request.errorsOnly, pageSize: Int(request.pageSize), pageToken: request.pageToken)
        }
        var response = ListJobItemsResponse()
        response.items = try page.items.map { try ItemResult(serializedBytes: $0.result) }
        response.nextPageToken = page.nextPageToken
        response.totalCount = UInt64(page.totalCount)
        return response
    }
}

extension Job {
    init(_ record: JobRecord) throws {
        self.init()
        id = record.id
        kind = record.kind
        status = JobStatus(rawValue: Int32(record.status))
        createdAtMs = record.createdAtMs
        startedAtMs = record.startedAtMs
        completedAtMs = record.completedAtMs
        updatedAtMs = record.updatedAtMs
        error = record.error
        let request = try CreateJobRequest(serializedBytes: record.config)
        switch request.config {
        case .classification(let config)?: self.config = .classification(config)
        case .sweep(let config)?: self.config = .sweep(config)
        case .crossValidation(let config)?: self.config = .crossValidation(config)
        case nil: self.config = nil
        }
        progressCurrent = UInt64(record.progressCurrent)
        progressTotal = UInt64(record.progressTotal)
        if let results = record.results {
            self.results = try JobResults(serializedBytes: results)
        }
        experimentId = record.experimentID
    }

    /// The terminal event of a finished job, or nil while it runs.
    var terminalEvent: JobEvent? {
        var event = JobEvent()
        switch status {
        case .completed:
            var completed = JobCompleted()
            completed.results = results ?? JobResults()
            event.event = .completed(completed)
        case .failed:
            var failed = JobFailed()
            failed.error = error
            event.event = .failed(failed)
        case .cancelled:
            event.event = .cancelled(JobCancelled())
        default:
            return nil
        }
        event.jobId = id
        event.jobKind = kind
        event.timeMs = completedAtMs
        return event
    }
}
