import Foundation
public import TallyProto
public import TallyRPC
import TallyStore

extension ExperimentsProvider {
    public func nextTrial(request: NextTrialRequest, context: ServerContext) async throws -> NextTrialResponse {
        if let run = sweeps.run(request.jobId) {
            return try await run.next(worker: request.worker)
        }
        let job = try await mapStoreErrors { try await store.job(request.jobId) }
        guard job.kind == SweepExecutor.kind || job.kind == CrossValidationExecutor.kind else {
            throw invalid("job \(request.jobId) is a \(job.kind) job, not a sweep or a cross-validation", field: "job_id")
        }
        var response = NextTrialResponse()
        if job.isFinished {
            response.next = .finished(true)
        } else {
            // Queued, or starting: the sweep hands out trials once it runs.
            response.wait = true
        }
        return response
    }

    public func reportTrial(request: ReportTrialRequest, context: ServerContext) async throws -> ReportTrialResponse {
        try await sweepRun(trialID: request.trialId).report(request)
    }

    public func heartbeat(request: HeartbeatRequest, context: ServerContext) async throws -> HeartbeatResponse {
        try await sweepRun(trialID: request.trialId).heartbeat(request.trialId)
        return HeartbeatResponse()
    }

    public func crossValidate(request: CrossValidateRequest, context: ServerContext) async throws -> CrossValidationResult {
        try await mapStoreErrors {
            try CrossValidationResult.summarize(scores: request.scores, fitTimes: request.fitTimes, scoreTimes: request.scoreTimes, field: "scores")
        }
    }

    /// The running sweep a trial belongs to.
    /// - Throws: NOT_FOUND for an unknown trial, FAILED_PRECONDITION when its sweep has ended.
    private func sweepRun(trialID: String) async throws -> SweepRun {
        let jobID = try await mapStoreErrors { try await store.sweepJobID(trialID: trialID) }
        guard let run = sweeps.run(jobID) else {
            throw StoreError(code: .failedPrecondition, message: "the sweep of trial \(trialID) is not running", field: "trial_id").rpcError
        }
        return run
    }
}
