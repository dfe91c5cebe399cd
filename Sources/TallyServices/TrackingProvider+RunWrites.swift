import Synchronization
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    /// Most writes of one call between arrival and acknowledgement.
    static let runWritesInFlight = 256

    /// Applies a run's writes in order. A reader takes the requests as they arrive and checks
    /// them; a committer applies everything that arrived since its last commit in one transaction
    /// (docs/tracking.md, "A run on one stream") and answers each write in order. The first write
    /// refused (by its check or by the store) ends the call with its status, after the writes
    /// before it are committed and answered; nothing after it is applied.
    public func writeRun(
        requests: RequestStream<RunWrite>,
        response: ResponseWriter<RunWriteResult>,
        context: ServerContext
    ) async throws {
        let queue = RunWriteQueue()
        let inFlight = FlowWindow(initial: Self.runWritesInFlight)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await request in requests {
                        let operation = try runWriteOperation(request)
                        if case .metrics(let batch)? = request.write, !batch.writerId.isEmpty,
                           liveness.noteContact(runID: batch.runId, connection: context.connectionID) {
                            // A new writer is recorded in the transaction of its batch.
                            try await inFlight.acquire(1)
                            queue.push(.writerContact(runID: batch.runId, contactMs: Self.nowMs()), more: true)
                        }
                        try await inFlight.acquire(1)
                        // Writes that arrived together are committed together: the committer
                        // waits while more of them are buffered.
                        queue.push(operation, more: requests.hasBufferedMessages)
                    }
                    queue.finish(nil)
                } catch {
                    queue.finish(error)
                }
            }
            group.addTask {
                while let (operations, ending) = await queue.take() {
                    if !operations.isEmpty {
                        try await commit(operations, response: response)
                        inFlight.release(operations.count)
                    }
                    if let ending { throw ending }
                }
            }
            try await group.next()
            try await group.next()
        }
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
    func runWriteOperation(_ request: RunWrite) throws -> RunWriteOperation {
        switch request.write {
        case .startRun(let start):
            return .start(try newRun(start))
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

/// The writes of one WriteRun call between its reader and its committer: the committer takes
/// everything queued at once, so writes that arrive together share a transaction. While the
/// reader says more writes have arrived behind the last one pushed, the committer waits for them
/// (up to ``burstLimit`` writes).
final class RunWriteQueue: Sendable {
    /// Most writes the committer waits to group while more are arriving.
    static let burstLimit = 64

    private struct State {
        var items: [RunWriteOperation] = []
        var more = false
        var finished = false
        var ending: (any Error)?
        var waiter: CheckedContinuation<Void, Never>?

        /// The committer has something to take.
        var isReady: Bool {
            finished || (!items.isEmpty && (!more || items.count >= RunWriteQueue.burstLimit))
        }
    }

    private let state = Mutex(State())

    /// Whether ``take()`` would return now.
    var isReady: Bool { state.withLock { $0.isReady } }

    /// Queues a write; `more`: others have arrived behind it and are pushed next.
    func push(_ operation: RunWriteOperation, more: Bool = false) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.append(operation)
            state.more = more
            guard state.isReady else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// No more writes; `error` (a refused check, the call failing) ends the call once the
    /// writes before it are committed.
    func finish(_ error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            state.ending = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Every write queued (waiting for one), with the error that ends the call once they are
    /// applied; nil once finished and empty.
    func take() async -> ([RunWriteOperation], (any Error)?)? {
        while true {
            let (taken, done) = state.withLock { state in (Self.take(&state), state.finished) }
            if let taken { return taken }
            if done { return nil }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if state.isReady { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    private static func take(_ state: inout State) -> ([RunWriteOperation], (any Error)?)? {
        if state.items.isEmpty && state.ending == nil { return nil }
        if !state.finished && state.more && state.items.count < burstLimit { return nil }
        let items = state.items
        state.items = []
        let ending = state.finished ? state.ending : nil
        if state.finished { state.ending = nil }
        return (items, ending)
    }
}
