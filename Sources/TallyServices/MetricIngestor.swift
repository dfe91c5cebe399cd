import Logging
import Synchronization
import TallyRPC
import TallyStore

/// Commits metric batches from every connection together (group commit).
///
/// Batches queue while a commit is in progress; the next commit takes everything queued, up to
/// `maxPointsPerCommit`, in one transaction. A caller resumes only after its batch is committed,
/// so an acknowledged point is on disk. Committed points are published to run watchers.
final class MetricIngestor: Sendable {
    private struct Pending {
        let batch: MetricPointBatch
        let continuation: CheckedContinuation<CommittedPoints, any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var committing = false
    }

    let store: Store
    let hub: RunEventHub
    let logger: Logger
    let maxPointsPerCommit: Int
    private let state = Mutex(State())

    init(store: Store, hub: RunEventHub, logger: Logger, maxPointsPerCommit: Int = 200_000) {
        self.store = store
        self.hub = hub
        self.logger = logger
        self.maxPointsPerCommit = maxPointsPerCommit
    }

    /// Queues a batch and waits until it is committed.
    /// - Returns: The points as stored, with resolved steps and times.
    /// - Throws: ``StoreError`` when the batch's run is missing or ended, or the commit failed.
    func commit(_ batch: MetricPointBatch) async throws -> CommittedPoints {
        try await withCheckedThrowingContinuation { continuation in
            let startCommitting = state.withLock { state in
                state.queue.append(Pending(batch: batch, continuation: continuation))
                if state.committing { return false }
                state.committing = true
                return true
            }
            if startCommitting {
                Task { await self.drain() }
            }
        }
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
                if group.isEmpty { state.committing = false }
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
            hub.publish(points: points)
            pending.continuation.resume(returning: points)
        case .failure(let error):
            pending.continuation.resume(throwing: error)
        }
    }

    private func fail(_ pending: Pending, _ error: any Error) {
        logger.error("metric commit failed", metadata: ["error": "\(error)", "run": "\(pending.batch.runID)", "points": "\(pending.batch.count)"])
        pending.continuation.resume(throwing: error)
    }
}
