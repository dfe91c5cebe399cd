import Logging
import Synchronization
import TallyRPC
import TallyStore

/// Commits metric batches from every connection together (group commit).
///
/// Batches queue while a commit is in progress; the next commit takes everything queued, up to
/// `maxPointsPerCommit`, in one transaction. A caller resumes only after its batch is committed,
/// so an acknowledged point is on disk. Committed points are published to run watchers.
///
/// Commits happen in ``run()``, a long-lived loop that the daemon runs as a child task of its
/// service group: shutdown waits for the commits by construction. ``stop()`` ends the loop once
/// the batches queued before it are committed; batches submitted after it are refused.
final class MetricIngestor: Sendable {
    private struct Pending {
        let batch: MetricPointBatch
        let ticket: CommitTicket
    }

    private struct State {
        var queue: [Pending] = []
        var stopped = false
    }

    let store: any StoreEngine
    let hub: RunEventHub
    let logger: Logger
    let maxPointsPerCommit: Int
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: any StoreEngine, hub: RunEventHub, logger: Logger, maxPointsPerCommit: Int = 200_000) {
        self.store = store
        self.hub = hub
        self.logger = logger
        self.maxPointsPerCommit = maxPointsPerCommit
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a batch and waits until it is committed.
    /// - Returns: The points as stored, with resolved steps and times.
    /// - Throws: ``StoreError`` when the batch's run is missing or ended, or the commit failed;
    ///   UNAVAILABLE once the ingestor has stopped.
    func commit(_ batch: MetricPointBatch) async throws -> CommittedPoints {
        try await submit(batch).value
    }

    /// Queues a batch for the run loop.
    /// - Returns: The ticket that completes when the batch's commit has ended.
    func submit(_ batch: MetricPointBatch) -> CommitTicket {
        let ticket = CommitTicket()
        let accepted = state.withLock { state in
            guard !state.stopped else { return false }
            state.queue.append(Pending(batch: batch, ticket: ticket))
            return true
        }
        if accepted {
            wake.yield()
        } else {
            ticket.complete(.failure(RPCError(code: .unavailable, message: "the daemon is shutting down; the batch was not stored")))
        }
        return ticket
    }

    /// Commits queued batches until ``stop()`` (or cancellation), then commits what is still
    /// queued and returns.
    func run() async {
        for await _ in wakeups {
            await drain()
        }
        state.withLock { $0.stopped = true }
        await drain()
    }

    /// Refuses new batches and lets ``run()`` return once the queued ones are committed.
    func stop() {
        state.withLock { $0.stopped = true }
        wake.finish()
    }

    private func drain() async {
        while true {
            let group: [Pending] = state.withLock { state in
                var points = 0
                var taken = 0
                for pending in state.queue {
                    if taken > 0 && points + pending.batch.count > maxPointsPerCommit { break }
                    points += pending.batch.count
                    taken += 1
                }
                let group = Array(state.queue.prefix(taken))
                state.queue.removeFirst(taken)
                return group
            }
            if group.isEmpty { return }
            do {
                let results = try await store.commitMetrics(group.map(\.batch))
                for (pending, result) in zip(group, results) {
                    finish(pending, result)
                }
            } catch where group.count > 1 {
                // One batch can fail the grouped transaction for everyone in it. Retry each batch
                // in a transaction of its own, so that only a batch that fails alone gets an error.
                logger.warning("grouped metric commit failed; committing its batches one by one", metadata: [
                    "error": "\(error)", "batches": "\(group.count)",
                ])
                for pending in group {
                    await commitAlone(pending)
                }
            } catch {
                fail(group[0], error)
            }
        }
    }

    private func commitAlone(_ pending: Pending) async {
        do {
            let results = try await store.commitMetrics([pending.batch])
            finish(pending, results[0])
        } catch {
            fail(pending, error)
        }
    }

    private func finish(_ pending: Pending, _ result: Result<CommittedPoints, StoreError>) {
        switch result {
        case .success(let points):
            if !points.duplicate { hub.publish(points: points) }
            pending.ticket.complete(.success(points))
        case .failure(let error):
            pending.ticket.complete(.failure(error))
        }
    }

    private func fail(_ pending: Pending, _ error: any Error) {
        logger.error("metric commit failed", metadata: ["error": "\(error)", "run": "\(pending.batch.runID)", "points": "\(pending.batch.count)"])
        pending.ticket.complete(.failure(error))
    }
}
