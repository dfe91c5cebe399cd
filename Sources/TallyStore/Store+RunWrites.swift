import GRDB

/// One write of a run, as ``Store/applyRunWrites(_:maxTags:)`` applies it.
public enum RunWriteOperation: Sendable {
    case start(Store.NewRun)
    case resume(runID: String)
    case params(runID: String, params: [String: ParamValueRecord])
    case tags(runID: String, set: [String: String], remove: [String])
    case metrics(MetricPointBatch)
    case end(runID: String, state: RunState, error: String)
    /// Not a client's write: the run's writer was heard from for the first time (recorded in the
    /// same transaction as its batch, see ``Store/recordWriter(id:contactMs:)``).
    case writerContact(runID: String, contactMs: Int64)
}

/// What one applied write produced.
public enum RunWriteOutcome: Sendable {
    /// The run after a start, resume, tags or end.
    case run(RunRecord)
    /// Params newly stored.
    case params(stored: Int)
    case metrics(CommittedPoints)
    case writer(Store.WriterContact)
}

extension Store {
    /// Applies a run's writes in order in one transaction (one commit, one sync to disk), each in
    /// a savepoint of its own. It stops at the first write refused: the writes before it commit,
    /// it is rolled back, and the ones after it are not applied.
    /// - Returns: The outcome of each write applied, and the refusal that stopped them, if any.
    public func applyRunWrites(_ writes: [RunWriteOperation], maxTags: Int) async throws -> (outcomes: [RunWriteOutcome], refusal: StoreError?) {
        try await pool.write { db in
            var outcomes: [RunWriteOutcome] = []
            outcomes.reserveCapacity(writes.count)
            var seriesCache: [String: [String: SeriesState]] = [:]
            for write in writes {
                var outcome: RunWriteOutcome?
                do {
                    try db.inSavepoint {
                        outcome = try Self.apply(db, write, maxTags: maxTags, seriesCache: &seriesCache)
                        return .commit
                    }
                } catch let error as StoreError {
                    // Series states cached from the rolled-back write would be ahead of the store.
                    if case .metrics(let batch) = write { seriesCache[batch.runID] = nil }
                    return (outcomes, error)
                }
                if let outcome { outcomes.append(outcome) }
            }
            return (outcomes, nil)
        }
    }

    private static func apply(
        _ db: Database,
        _ write: RunWriteOperation,
        maxTags: Int,
        seriesCache: inout [String: [String: SeriesState]]
    ) throws -> RunWriteOutcome {
        switch write {
        case .start(let run):
            return .run(try startRun(db, run))
        case .resume(let id):
            return .run(try resumeRun(db, id: id))
        case .params(let id, let params):
            return .params(stored: try logParams(db, runID: id, params: params, requireRunning: true))
        case .tags(let id, let set, let remove):
            return .run(try setRunTags(db, id: id, set: set, remove: remove, maxTags: maxTags))
        case .metrics(let batch):
            return .metrics(try commitBatch(db, batch, seriesCache: &seriesCache).get())
        case .end(let id, let state, let error):
            return .run(try endRun(db, id: id, state: state, error: error))
        case .writerContact(let id, let contactMs):
            return .writer(try recordWriter(db, id: id, contactMs: contactMs))
        }
    }
}
