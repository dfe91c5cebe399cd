import Foundation
import Logging
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func startRun(request: StartRunRequest, context: ServerContext) async throws -> Run {
        let run = try newRun(request, caller: context.caller)
        let record = try await mapStoreErrors { try await store.startRun(run) }
        return Run(record, nowMs: Self.nowMs())
    }

    /// A checked StartRun request, as the store takes it.
    func newRun(_ request: StartRunRequest, caller: Caller) throws -> Store.NewRun {
        let (id, name) = try experimentRef(request.experiment)
        if let name { try validateName(name, kind: "experiment", required: true) }
        try validateName(request.name, kind: "run", required: false)
        try validateTags(request.tags)
        let params = try paramRecords(request.params)
        if !request.runId.isEmpty {
            guard request.runId.utf8.count == 16, request.runId.utf8.allSatisfy({
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }) else {
                throw Self.invalid("run_id must be 16 lower-case hex characters (or empty: the daemon makes one)", field: "run_id")
            }
        }
        return Store.NewRun(
            experimentID: id,
            experimentName: name,
            createExperiment: request.createExperiment,
            name: request.name,
            tags: request.tags,
            parentRunID: request.parentRunId.isEmpty ? nil : request.parentRunId,
            params: params,
            id: request.runId.isEmpty ? nil : request.runId,
            experimentCreatedBy: caller.userName,
            createdBy: caller.userName
        )
    }

    public func resumeRun(request: ResumeRunRequest, context: ServerContext) async throws -> Run {
        try validateID(request.runId, field: "run_id")
        let record = try await mapStoreErrors { try await store.resumeRun(id: request.runId) }
        let run = Run(record, nowMs: Self.nowMs())
        hub.publish(status: run)
        return run
    }

    public func endRun(request: EndRunRequest, context: ServerContext) async throws -> Run {
        let state = try endState(request)
        // Points acknowledged before EndRun was sent are committed: the ingestor answers only
        // after commit, so nothing is waiting for this run here.
        let record = try await mapStoreErrors { try await store.endRun(id: request.runId, state: state, error: request.error) }
        liveness.forget(request.runId)
        let run = Run(record, nowMs: Self.nowMs())
        hub.publish(status: run)
        return run
    }

    /// The state a checked EndRun request ends its run in.
    func endState(_ request: EndRunRequest) throws -> RunState {
        try validateID(request.runId, field: "run_id")
        let state: RunState
        switch request.status {
        case .completed: state = .completed
        case .failed: state = .failed
        case .killed: state = .killed
        default:
            throw Self.invalid("status must be COMPLETED, FAILED or KILLED, got \(request.status)", field: "status")
        }
        guard request.error.count <= limits.maxParamValueLength else {
            throw Self.invalid("error is longer than \(limits.maxParamValueLength) characters", field: "error")
        }
        return state
    }

    public func getRun(request: GetRunRequest, context: ServerContext) async throws -> Run {
        try validateID(request.runId, field: "run_id")
        let record = try await mapStoreErrors { try await store.run(id: request.runId) }
        var run = Run(record, nowMs: Self.nowMs())
        run.artifacts = try await runArtifacts(runID: request.runId)
        return run
    }

    public func deleteRun(request: DeleteRunRequest, context: ServerContext) async throws -> DeleteRunResponse {
        try validateID(request.runId, field: "run_id")
        let blobs = self.blobs
        let deletion = try await mapStoreErrors {
            try await store.deleteRun(id: request.runId, force: request.force, blobs: blobs)
        }
        hub.end(runID: request.runId)
        liveness.forget(request.runId)
        var response = DeleteRunResponse()
        response.deletedRuns = UInt64(deletion.runs)
        response.deletedArtifacts = UInt64(deletion.artifacts)
        return response
    }

    public func setRunTags(request: SetRunTagsRequest, context: ServerContext) async throws -> Run {
        try validateTagChange(request)
        let record = try await mapStoreErrors {
            try await store.setRunTags(id: request.runId, set: request.tags, remove: request.removeKeys, maxTags: limits.maxTags)
        }
        return Run(record, nowMs: Self.nowMs())
    }

    public func setRunNote(request: SetRunNoteRequest, context: ServerContext) async throws -> Run {
        try validateID(request.runId, field: "run_id")
        guard request.note.utf8.count <= limits.maxDescriptionBytes else {
            throw Self.invalid("note is longer than \(limits.maxDescriptionBytes) bytes", field: "note")
        }
        let record = try await mapStoreErrors { try await store.setRunNote(id: request.runId, note: request.note) }
        return Run(record, nowMs: Self.nowMs())
    }

    public func listRuns(request: ListRunsRequest, context: ServerContext) async throws -> ListRunsResponse {
        let page = try await mapStoreErrors {
            try await store.listRuns(
                experimentIDs: request.experimentIds,
                parentRunID: request.parentRunId.isEmpty ? nil : request.parentRunId,
                pageSize: Int(request.pageSize),
                pageToken: request.pageToken
            )
        }
        let now = Self.nowMs()
        var response = ListRunsResponse()
        response.runs = page.items.map { Run($0, nowMs: now) }
        response.nextPageToken = page.nextPageToken
        response.totalCount = UInt64(page.totalCount)
        return response
    }

    func validateTagChange(_ request: SetRunTagsRequest) throws {
        try validateID(request.runId, field: "run_id")
        try validateTags(request.tags)
        for key in request.removeKeys { try validateKey(key, kind: "tag") }
    }

    public func logParams(request: LogParamsRequest, context: ServerContext) async throws -> LogParamsResponse {
        try validateID(request.runId, field: "run_id")
        let params = try paramRecords(request.params)
        let stored = try await mapStoreErrors {
            try await store.logParams(runID: request.runId, params: params, requireRunning: true)
        }
        if stored > 0 { hub.publish(params: request) }
        var response = LogParamsResponse()
        response.stored = UInt32(stored)
        return response
    }

    static func nowMs() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    /// The artifact versions a run produced.
    func runArtifacts(runID: String) async throws -> [Artifact] {
        var request = ListArtifactsRequest()
        request.runId = runID
        return try await listArtifacts(request: request, context: Self.internalContext(logger)).artifacts
    }
}
