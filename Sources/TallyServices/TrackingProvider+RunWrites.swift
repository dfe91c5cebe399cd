public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    /// Most writes committed in one transaction.
    static let runWritesPerCommit = 64

    /// Applies a run's writes in order. The writes are taken and checked as they arrive; those
    /// that arrived together (while more are buffered behind the last one taken, up to
    /// ``runWritesPerCommit``) are applied in one transaction (docs/tracking.md, "A run on one
    /// stream") and answered in order. Writes that arrive during a commit wait in the call's
    /// buffer (bounded by its flow-control window) and go into the next one. The first write
    /// refused (by its check or by the store) ends the call with its status, after the writes
    /// before it are committed and answered; nothing after it is applied.
    public func writeRun(
        requests: RequestStream<RunWrite>,
        response: ResponseWriter<RunWriteResult>,
        context: ServerContext
    ) async throws {
        var operations: [RunWriteOperation] = []
        var iterator = requests.makeAsyncIterator()
        do {
            while let request = try await iterator.next() {
                let operation = try runWriteOperation(request, caller: context.caller)
                if case .metrics(let batch)? = request.write, !batch.writerId.isEmpty,
                   liveness.noteContact(runID: batch.runId, connection: context.connectionID) {
                    // A new writer is recorded in the transaction of its batch.
                    operations.append(.writerContact(runID: batch.runId, contactMs: Self.nowMs()))
                }
                operations.append(operation)
                if !requests.hasBufferedMessages || operations.count >= Self.runWritesPerCommit {
                    let group = operations
                    operations.removeAll(keepingCapacity: true)
                    try await commit(group, response: response)
                }
            }
        } catch {
            // A refused check (or the call failing): what came before it is committed first.
            if !operations.isEmpty { try await commit(operations, response: response) }
            throw error
        }
        if !operations.isEmpty { try await commit(operations, response: response) }
    }

    /// Applies writes in one transaction, answers them, and tells watchers and the writer
    /// tracking; throws the refusal that stopped them.
    private func commit(_ operations: [RunWriteOperation], response: ResponseWriter<RunWriteResult>) async throws {
        let (outcomes, refusal) = try await mapStoreErrors { try await store.applyRunWrites(operations, maxTags: limits.maxTags) }
        let now = Self.nowMs()
        for (operation, outcome) in zip(operations, outcomes) {
            var result = RunWriteResult()
            switch outcome {
            case .writer(let contact):
                if case .writerContact(let id, _) = operation { liveness.recorded(contact, runID: id) }
                continue
            case .run(let record):
                let run = Run(record, nowMs: now)
                result.result = .run(run)
                switch operation {
                case .end:
                    liveness.forget(record.id)
                    hub.publish(status: run)
                case .resume:
                    hub.publish(status: run)
                default:
                    break
                }
            case .params(let stored):
                var answer = LogParamsResponse()
                answer.stored = UInt32(stored)
                result.result = .params(answer)
                if stored > 0, case .params(let id, let params) = operation {
                    var request = LogParamsRequest()
                    request.runId = id
                    request.params = params.mapValues(ParamValue.init)
                    hub.publish(params: request)
                }
            case .metrics(let points):
                var answer = LogMetricsResponse()
                if case .metrics(let batch) = operation { answer.sequence = batch.sequence }
                answer.duplicate = points.duplicate
                answer.accepted = points.duplicate ? 0 : UInt64(points.values.count)
                result.result = .metrics(answer)
                if !points.duplicate { hub.publish(points: points) }
            }
            try await response.write(result)
        }
        if let refusal {
            throw refusal.rpcError
        }
    }

    /// A checked write, as the store applies it.
    func runWriteOperation(_ request: RunWrite, caller: Caller) throws -> RunWriteOperation {
        switch request.write {
        case .startRun(let start):
            return .start(try newRun(start, caller: caller))
        case .resumeRun(let resume):
            try validateID(resume.runId, field: "run_id")
            return .resume(runID: resume.runId)
        case .params(let params):
            try validateID(params.runId, field: "run_id")
            return .params(runID: params.runId, params: try paramRecords(params.params))
        case .tags(let tags):
            try validateTagChange(tags)
            return .tags(runID: tags.runId, set: tags.tags, remove: tags.removeKeys)
        case .metrics(let batch):
            return .metrics(try validate(batch))
        case .endRun(let end):
            return .end(runID: end.runId, state: try endState(end), error: end.error)
        case nil:
            throw Self.invalid("a RunWrite needs one of start_run, metrics, params, tags, end_run, resume_run", field: "write")
        }
    }
}
