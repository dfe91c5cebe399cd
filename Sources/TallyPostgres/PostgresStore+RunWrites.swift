import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// As ``Store/applyRunWrites(_:maxTags:)``: the writes in order in one transaction, each in a
    /// savepoint of its own; the first refused (a ``StoreError``) is rolled back to its savepoint
    /// and stops the others, and the ones before it commit. Any other error rolls back all.
    package func applyRunWrites(_ writes: [RunWriteOperation], maxTags: Int) async throws -> (outcomes: [RunWriteOutcome], refusal: StoreError?) {
        try await retryingTransaction { connection in
            var outcomes: [RunWriteOutcome] = []
            outcomes.reserveCapacity(writes.count)
            for write in writes {
                try await connection.query("SAVEPOINT run_write", logger: self.logger)
                let outcome: RunWriteOutcome
                do {
                    outcome = try await self.apply(connection, write, maxTags: maxTags)
                } catch let error as StoreError {
                    try await connection.query("ROLLBACK TO SAVEPOINT run_write", logger: self.logger)
                    return (outcomes, error)
                }
                try await connection.query("RELEASE SAVEPOINT run_write", logger: self.logger)
                outcomes.append(outcome)
            }
            return (outcomes, nil)
        }
    }

    private func apply(_ connection: PostgresConnection, _ write: RunWriteOperation, maxTags: Int) async throws -> RunWriteOutcome {
        switch write {
        case .start(let run):
            return .run(try await Self.startRun(connection, run, logger: logger))
        case .resume(let id):
            return .run(try await Self.resumeRun(connection, id: id, logger: logger))
        case .params(let id, let params):
            return .params(stored: try await Self.logParams(connection, runID: id, params: params, requireRunning: true, logger: logger))
        case .tags(let id, let set, let remove):
            return .run(try await Self.setRunTags(connection, id: id, set: set, remove: remove, maxTags: maxTags, logger: logger))
        case .metrics(let batch):
            return .metrics(try await Self.commitRunWriteBatch(connection, batch, logger: logger).get())
        case .end(let id, let state, let error):
            return .run(try await Self.endRun(connection, id: id, state: state, error: error, logger: logger))
        case .writerContact(let id, let contactMs):
            return .writer(try await Self.recordWriter(connection, id: id, contactMs: contactMs, logger: logger))
        }
    }

    /// One metrics batch of a run's writes, in the writes' transaction, as ``commitMetrics(_:)``
    /// commits it.
    static func commitRunWriteBatch(_ connection: PostgresConnection, _ batch: MetricPointBatch, logger: Logger) async throws -> Result<CommittedPoints, StoreError> {
        try await commitMetricBatches(connection, [batch], logger: logger)[0]
    }
}
