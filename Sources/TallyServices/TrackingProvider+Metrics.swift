import Foundation
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    public func logMetrics(request: MetricBatch, context: ServerContext) async throws -> LogMetricsResponse {
        let batch = try validate(request)
        try await heardFromWriter(request, context: context)
        var response = LogMetricsResponse()
        response.sequence = request.sequence
        if batch.count > 0 {
            let committed = try await mapStoreErrors { try await ingestor.commit(batch) }
            response.duplicate = committed.duplicate
            response.accepted = committed.duplicate ? 0 : UInt64(batch.count)
        }
        return response
    }

    /// A batch with a writer id is a sign of life from the run's writer (docs/journal.md).
    func heardFromWriter(_ request: MetricBatch, context: ServerContext) async throws {
        guard !request.writerId.isEmpty else { return }
        try await mapStoreErrors { try await liveness.contact(runID: request.runId, connection: context.connectionID) }
    }

    public func streamMetrics(
        requests: RequestStream<MetricBatch>,
        response: ResponseWriter<LogMetricsResponse>,
        context: ServerContext
    ) async throws {
        // Batches are committed by the ingestor's run loop and cannot be stopped half-way; the
        // call ends only once every batch it queued has been committed or refused, so that
        // nothing it received is stored after it (when the client went away with batches still
        // unacknowledged, for example).
        let commits = CommitTracker()
        do {
            try await commitAndAcknowledge(requests, response: response, commits: commits, context: context)
        } catch {
            await commits.idle()
            throw error
        }
        await commits.idle()
    }

    /// A batch on its way to acknowledgement: its commit ticket (none for an empty batch).
    private struct QueuedBatch: Sendable {
        let ticket: CommitTicket?
        let accepted: UInt64
        let sequence: UInt64
    }

    private func commitAndAcknowledge(
        _ requests: RequestStream<MetricBatch>,
        response: ResponseWriter<LogMetricsResponse>,
        commits: CommitTracker,
        context: ServerContext
    ) async throws {
        // Batches are queued for commit as they arrive (several may share a commit) and
        // acknowledged in order; at most `inFlight` are between arrival and acknowledgement.
        let inFlight = FlowWindow(initial: 8)
        let (pending, pendingContinuation) = AsyncStream<QueuedBatch>.makeStream()
        // Two children: one reads and queues batches, one acknowledges them in order. The first
        // failure (a refused batch, a bad request) ends both, and the call, at once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await queued in pending {
                    var ack = LogMetricsResponse()
                    ack.accepted = queued.accepted
                    if let ticket = queued.ticket {
                        let committed = try await mapStoreErrors { try await ticket.value }
                        if committed.duplicate {
                            ack.duplicate = true
                            ack.accepted = 0
                        }
                    }
                    ack.sequence = queued.sequence
                    try await response.write(ack)
                    inFlight.release(1)
                }
            }
            group.addTask {
                defer { pendingContinuation.finish() }
                for try await request in requests {
                    let batch = try validate(request)
                    try await heardFromWriter(request, context: context)
                    try await inFlight.acquire(1)
                    var ticket: CommitTicket?
                    if batch.count > 0 {
                        commits.started()
                        let queued = ingestor.submit(batch)
                        ticket = queued
                        queued.whenDone { commits.finished() }
                    }
                    pendingContinuation.yield(QueuedBatch(ticket: ticket, accepted: UInt64(batch.count), sequence: request.sequence))
                }
            }
            while try await group.next() != nil {}
        }
    }

    /// Checks a batch's shape, keys and numbers, and stamps its receive time.
    func validate(_ request: MetricBatch) throws -> MetricPointBatch {
        try validateID(request.runId, field: "run_id")
        let count = request.values.count
        guard count <= limits.maxPointsPerBatch else {
            throw Self.invalid("a batch holds at most \(limits.maxPointsPerBatch) points, got \(count)", field: "values")
        }
        guard request.keys.count <= limits.maxKeysPerBatch else {
            throw Self.invalid("a batch holds at most \(limits.maxKeysPerBatch) keys, got \(request.keys.count)", field: "keys")
        }
        guard request.keyIndex.count == count else {
            throw Self.invalid("key_index has \(request.keyIndex.count) entries for \(count) values", field: "key_index")
        }
        guard request.steps.isEmpty || request.steps.count == count else {
            throw Self.invalid("steps has \(request.steps.count) entries for \(count) values (send none or one per value)", field: "steps")
        }
        guard request.timestampsMs.isEmpty || request.timestampsMs.count == count else {
            throw Self.invalid("timestamps_ms has \(request.timestampsMs.count) entries for \(count) values (send none or one per value)", field: "timestamps_ms")
        }
        var seen = Set<String>()
        for key in request.keys {
            try validateKey(key, kind: "metric")
            guard seen.insert(key).inserted else {
                throw Self.invalid("metric key \"\(key)\" appears twice in keys", field: key)
            }
        }
        let keyCount = UInt32(request.keys.count)
        if let bad = request.keyIndex.firstIndex(where: { $0 >= keyCount }) {
            throw Self.invalid("key_index[\(bad)] = \(request.keyIndex[bad]) is out of range (\(keyCount) keys)", field: "key_index")
        }
        if let bad = request.steps.firstIndex(where: { $0 < 0 }) {
            throw Self.invalid("steps[\(bad)] = \(request.steps[bad]) is negative", field: "steps")
        }
        if let bad = request.timestampsMs.firstIndex(where: { $0 < 0 }) {
            throw Self.invalid("timestamps_ms[\(bad)] = \(request.timestampsMs[bad]) is negative", field: "timestamps_ms")
        }
        if !request.writerId.isEmpty {
            guard request.writerId.utf8.count <= 64, request.writerId.utf8.allSatisfy(Self.isWriterIDByte) else {
                throw Self.invalid("writer_id must be 1 to 64 letters, digits, '-' or '_'", field: "writer_id")
            }
        }
        return MetricPointBatch(
            runID: request.runId,
            keys: request.keys,
            keyIndex: request.keyIndex,
            values: request.values,
            steps: request.steps,
            timestampsMs: request.timestampsMs,
            receivedAtMs: Self.nowMs(),
            writerID: request.writerId,
            sequence: request.sequence
        )
    }

    static func isWriterIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    /// Points per history chunk: about 1.2 MB of payload, well inside the frame limit.
    static let historyChunkPoints = 50_000

    public func getMetricHistory(
        request: GetMetricHistoryRequest,
        response: ResponseWriter<MetricHistoryChunk>,
        context: ServerContext
    ) async throws {
        try validateID(request.runId, field: "run_id")
        guard request.minStep >= 0, request.maxStep >= 0 else {
            throw Self.invalid("min_step and max_step must not be negative", field: "min_step")
        }
        guard request.maxStep == 0 || request.maxStep >= request.minStep else {
            throw Self.invalid("max_step \(request.maxStep) is below min_step \(request.minStep)", field: "max_step")
        }
        // Read page by page (at most about `historyChunkPoints` points held at a time, whatever
        // the series' length), each page sent before the next is read.
        let plans = try await mapStoreErrors {
            try await store.metricHistoryPlans(
                runID: request.runId,
                keys: request.keys,
                minStep: request.minStep,
                maxStep: request.maxStep == 0 ? nil : request.maxStep,
                maxPoints: Int(request.maxPoints)
            )
        }
        for plan in plans {
            var sent = false
            func send(_ points: ArraySlice<MetricPointRecord>) async throws {
                var start = points.startIndex
                repeat {
                    let end = min(start + Self.historyChunkPoints, points.endIndex)
                    var chunk = MetricHistoryChunk()
                    chunk.key = plan.key
                    chunk.totalPoints = UInt64(plan.totalPoints)
                    chunk.downsampled = plan.downsampledPoints != nil
                    let slice = points[start..<end]
                    chunk.steps = slice.map(\.step)
                    chunk.values = slice.map(\.value)
                    chunk.timestampsMs = slice.map(\.timestampMs)
                    try await response.write(chunk)
                    sent = true
                    start = end
                } while start < points.endIndex
            }
            if let points = plan.downsampledPoints {
                try await send(points[...])
            }
            for page in 0..<plan.pageCount {
                let points = try await mapStoreErrors { try await store.metricHistoryPage(plan, page: page) }
                if !points.isEmpty { try await send(points[...]) }
            }
            // A key with no point in the range still gets one (empty) chunk.
            if !sent { try await send([]) }
        }
    }

    public func watchRun(request: WatchRunRequest, response: ResponseWriter<RunEvent>, context: ServerContext) async throws {
        try validateID(request.runId, field: "run_id")
        // Subscribe before reading the snapshot so that nothing committed in between is missed.
        let events = hub.subscribe(runID: request.runId)
        let record = try await mapStoreErrors { try await store.run(id: request.runId) }
        hub.watching(record)
        let run = Run(record, nowMs: Self.nowMs())
        var snapshot = RunEvent()
        snapshot.event = .snapshot(run)
        try await response.write(snapshot)
        if request.includeHistory {
            let plans = try await mapStoreErrors {
                try await store.metricHistoryPlans(runID: request.runId, keys: [], minStep: 0, maxStep: nil, maxPoints: 0)
            }
            for plan in plans {
                for page in 0..<plan.pageCount {
                    let history = try await mapStoreErrors { try await store.metricHistoryPage(plan, page: page) }
                    for start in stride(from: 0, to: history.count, by: Self.historyChunkPoints) {
                        let slice = history[start..<min(start + Self.historyChunkPoints, history.count)]
                        var points = MetricPoints()
                        points.keys = [plan.key]
                        points.keyIndex = [UInt32](repeating: 0, count: slice.count)
                        points.values = slice.map(\.value)
                        points.steps = slice.map(\.step)
                        points.timestampsMs = slice.map(\.timestampMs)
                        var event = RunEvent()
                        event.event = .points(points)
                        try await response.write(event)
                    }
                }
            }
        }
        if run.status != .running {
            var status = RunEvent()
            status.event = .status(run)
            try await response.write(status)
            return
        }
        do {
            for try await event in events {
                try await response.write(event)
            }
        } catch is RunEventHub.Overflow {
            throw RPCError(
                code: .resourceExhausted,
                message: "the watcher fell more than \(hub.bufferLimit) events or \(hub.pointLimit) points behind and was dropped; watch again to resume"
            )
        }
    }
}
