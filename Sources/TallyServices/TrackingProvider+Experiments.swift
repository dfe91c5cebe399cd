public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func createExperiment(request: CreateExperimentRequest, context: ServerContext) async throws -> Experiment {
        try validateName(request.name, kind: "experiment", required: true)
        try validateTags(request.tags)
        guard request.description.utf8.count <= limits.maxDescriptionBytes else {
            throw Self.invalid("description is longer than \(limits.maxDescriptionBytes) bytes", field: "description")
        }
        for key in request.metricGoals.keys { try validateKey(key, kind: "metric") }
        let record = try await mapStoreErrors {
            try await store.createExperiment(
                Store.NewExperiment(
                    name: request.name,
                    description: request.description,
                    tags: request.tags,
                    // Who asked, by the connection's credentials: not the request's claim.
                    createdBy: context.caller.userName,
                    metricGoals: request.metricGoals.mapValues { Int($0.rawValue) }
                ),
                getIfExists: request.getIfExists
            )
        }
        return Experiment(record)
    }

    public func getExperiment(request: GetExperimentRequest, context: ServerContext) async throws -> Experiment {
        let (id, name) = try experimentRef(request.experiment)
        var experiment = Experiment(try await mapStoreErrors { try await store.experiment(id: id, name: name) })
        if request.runsPageSize > 0 {
            guard request.runsPageSize <= 1000 else {
                throw Self.invalid("runs_page_size must be at most 1000, got \(request.runsPageSize)", field: "runs_page_size")
            }
            let page = try await mapStoreErrors {
                try await store.listRuns(
                    experimentIDs: [experiment.id], parentRunID: nil,
                    pageSize: Int(request.runsPageSize), pageToken: request.runsPageToken)
            }
            let now = Self.nowMs()
            experiment.runs = page.items.map { Run($0, nowMs: now) }
            experiment.runsNextPageToken = page.nextPageToken
        }
        return experiment
    }

    func experimentRef(_ ref: ExperimentRef?) throws -> (id: String?, name: String?) {
        switch ref?.ref {
        case .id(let id)?: return (id, nil)
        case .name(let name)?: return (nil, name)
        case nil: throw Self.invalid("experiment (an id or a name) is required", field: "experiment")
        }
    }

    public func updateExperiment(request: UpdateExperimentRequest, context: ServerContext) async throws -> Experiment {
        try validateID(request.id, field: "id")
        if let name = request.name { try validateName(name, kind: "experiment", required: true) }
        if let description = request.description, description.utf8.count > limits.maxDescriptionBytes {
            throw Self.invalid("description is longer than \(limits.maxDescriptionBytes) bytes", field: "description")
        }
        try validateTags(request.tags)
        for key in request.metricGoals.keys { try validateKey(key, kind: "metric") }
        guard request.removeTags.count <= limits.maxTags else {
            throw Self.invalid("remove_tags has more than \(limits.maxTags) keys", field: "remove_tags")
        }
        let update = Store.ExperimentUpdate(
            name: request.name,
            description: request.description,
            tags: request.replaceTags ? request.tags.filter { !request.removeTags.contains($0.key) } : (request.tags.isEmpty ? nil : request.tags),
            metricGoals: request.metricGoals.mapValues { Int($0.rawValue) }
        )
        let record = try await mapStoreErrors {
            // Without replace_tags, given tags are merged into the existing ones, then
            // remove_tags are taken out.
            var update = update
            if !request.replaceTags, !request.tags.isEmpty || !request.removeTags.isEmpty {
                let current = try await store.experiment(id: request.id)
                update.tags = current.tags.merging(request.tags) { _, new in new }.filter { !request.removeTags.contains($0.key) }
                try validateTags(update.tags ?? [:])
            }
            return try await store.updateExperiment(id: request.id, update)
        }
        return Experiment(record)
    }

    public func deleteExperiment(request: DeleteExperimentRequest, context: ServerContext) async throws -> DeleteExperimentResponse {
        try validateID(request.id, field: "id")
        let runIDs = try await mapStoreErrors {
            try await store.listRuns(experimentIDs: [request.id], parentRunID: nil, pageSize: PageToken.maximumSize, pageToken: "").items.map(\.id)
        }
        let blobs = self.blobs
        let deletion = try await mapStoreErrors {
            try await store.deleteExperiment(id: request.id, force: request.force, blobs: blobs)
        }
        for id in runIDs { hub.end(runID: id) }
        var response = DeleteExperimentResponse()
        response.deletedRuns = UInt64(deletion.runs)
        response.deletedArtifacts = UInt64(deletion.artifacts)
        return response
    }

    public func listExperiments(request: ListExperimentsRequest, context: ServerContext) async throws -> ListExperimentsResponse {
        var query = Store.ExperimentQuery()
        query.nameContains = request.nameContains
        query.tagsAny = request.tagsAny
        query.tagsAll = request.tagsAll
        query.createdAfterMs = request.createdAfterMs
        query.createdBeforeMs = request.createdBeforeMs
        query.updatedAfterMs = request.updatedAfterMs
        query.updatedBeforeMs = request.updatedBeforeMs
        query.orderBy = request.orderBy
        query.pageSize = Int(request.pageSize)
        query.pageToken = request.pageToken
        let page = try await mapStoreErrors { try await store.listExperiments(query) }
        var response = ListExperimentsResponse()
        response.experiments = page.items.map(Experiment.init)
        response.nextPageToken = page.nextPageToken
        response.totalCount = UInt64(page.totalCount)
        return response
    }
}
