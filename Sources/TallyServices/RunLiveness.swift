import Logging
import Synchronization
import TallyProto
import TallyRPC
import TallyStore

/// Finds crashed runs: runs whose writer went away without ending them.
///
/// A run has a writer once a client streams metrics to it with a `writer_id` (a batch, or an
/// empty batch as a heartbeat). It is marked `crashed` when every connection its writer used
/// has closed, or when nothing has been heard from the writer for ``timeout``. Hearing from the
/// writer again makes a crashed run running again (in the store, on the next contact).
///
/// The bookkeeping is ``State``, a value type; this class owns it, asks the store to mark runs,
/// and runs the timeout check as a long-lived child task of the daemon (``run()``).
final class RunLiveness: Sendable {
    /// What is known of the writers of runs, and the decisions it leads to.
    struct State {
        struct Entry {
            var lastContactMs: Int64
            /// Connections the writer sent from that are still open.
            var connections: Set<UInt64>
            /// The contact time last written to the store.
            var recordedMs: Int64
        }

        private(set) var entries: [String: Entry] = [:]
        /// Runs not watched here (sweep trials' runs, watched by their sweep).
        private(set) var ignored: Set<String> = []
        let timeoutMs: Int64

        init(timeoutMs: Int64) {
            self.timeoutMs = timeoutMs
        }

        /// The writer of `runID` was heard from on `connection`. Returns true when the run was
        /// not being watched: the store should record the writer (and revive the run if it had
        /// been marked crashed).
        mutating func contact(runID: String, connection: UInt64, nowMs: Int64) -> Bool {
            if ignored.contains(runID) { return false }
            if var entry = entries[runID] {
                entry.lastContactMs = max(entry.lastContactMs, nowMs)
                entry.connections.insert(connection)
                entries[runID] = entry
                return false
            }
            entries[runID] = Entry(lastContactMs: nowMs, connections: [connection], recordedMs: nowMs)
            return true
        }

        /// Runs whose writer was heard from before a restart: watched from `nowMs`, with no
        /// connection yet, so that the writer has a whole timeout to come back.
        mutating func adopt(runIDs: [String], nowMs: Int64) {
            for id in runIDs where entries[id] == nil {
                entries[id] = Entry(lastContactMs: nowMs, connections: [], recordedMs: 0)
            }
        }

        /// A connection closed. Returns the runs whose writer has no connection left; they stop
        /// being watched (their writer, if alive, starts again with its next contact).
        mutating func connectionClosed(_ connection: UInt64) -> [(id: String, lastContactMs: Int64)] {
            var orphaned: [(id: String, lastContactMs: Int64)] = []
            for (id, var entry) in entries where entry.connections.contains(connection) {
                entry.connections.remove(connection)
                if entry.connections.isEmpty {
                    orphaned.append((id, entry.lastContactMs))
                    entries[id] = nil
                } else {
                    entries[id] = entry
                }
            }
            return orphaned.sorted { $0.id < $1.id }
        }

        /// The runs not heard from for longer than the timeout; they stop being watched.
        mutating func expired(nowMs: Int64) -> [(id: String, lastContactMs: Int64)] {
            var stale: [(id: String, lastContactMs: Int64)] = []
            for (id, entry) in entries where nowMs - entry.lastContactMs > timeoutMs {
                stale.append((id, entry.lastContactMs))
                entries[id] = nil
            }
            return stale.sorted { $0.id < $1.id }
        }

        /// Contact times newer than what the store has, by at least `resolutionMs`; they count
        /// as recorded from now on.
        mutating func contactsToRecord(resolutionMs: Int64) -> [(id: String, lastContactMs: Int64)] {
            var due: [(id: String, lastContactMs: Int64)] = []
            for (id, entry) in entries where entry.lastContactMs - entry.recordedMs >= resolutionMs {
                due.append((id, entry.lastContactMs))
                entries[id]?.recordedMs = entry.lastContactMs
            }
            return due.sorted { $0.id < $1.id }
        }

        /// The run ended (or was deleted): it is no longer watched.
        mutating func forget(_ runID: String) {
            entries[runID] = nil
            ignored.remove(runID)
        }

        /// The run is watched by someone else (its sweep): contacts for it are ignored.
        mutating func ignore(_ runID: String) {
            entries[runID] = nil
            ignored.insert(runID)
        }
    }

    /// How long a writer may stay silent before its run is crashed.
    let timeout: Duration
    private let state: Mutex<State>
    private let store: any StoreEngine
    private let hub: RunEventHub
    private let logger: Logger
    private let clock: any Clock<Duration>
    private let nowMs: @Sendable () -> Int64
    /// Ids of the runs marked crashed, in order, for whoever waits on them (tests).
    let crashes: AsyncStream<String>
    private let crashesContinuation: AsyncStream<String>.Continuation

    init(
        timeout: Duration,
        store: any StoreEngine,
        hub: RunEventHub,
        logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(),
        nowMs: @escaping @Sendable () -> Int64
    ) {
        self.timeout = timeout
        self.state = Mutex(State(timeoutMs: max(1, timeout.wholeMilliseconds)))
        self.store = store
        self.hub = hub
        self.logger = logger
        self.clock = clock
        self.nowMs = nowMs
        (crashes, crashesContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// The writer of `runID` was heard from on `connection` (a batch or a heartbeat).
    func contact(runID: String, connection: UInt64) async throws {
        let now = nowMs()
        let isNew = state.withLock { $0.contact(runID: runID, connection: connection, nowMs: now) }
        guard isNew else { return }
        recorded(try await store.recordWriter(id: runID, contactMs: now), runID: runID)
    }

    /// The writer of `runID` was heard from on `connection`, in memory only. Returns true when
    /// the run was not being watched: the caller records the writer in the store (in the
    /// transaction of its write) and reports the outcome with ``recorded(_:runID:)``.
    func noteContact(runID: String, connection: UInt64) -> Bool {
        let now = nowMs()
        return state.withLock { $0.contact(runID: runID, connection: connection, nowMs: now) }
    }

    /// What recording a new writer found (see ``noteContact(runID:connection:)``).
    func recorded(_ contact: Store.WriterContact, runID: String) {
        switch contact {
        case .missing:
            // No such run: nothing to watch (the write itself is refused as NOT_FOUND).
            state.withLock { $0.forget(runID) }
        case .recorded:
            break
        case .ownedBySweep:
            // A sweep trial's run: its sweep watches the trial's worker and ends the run.
            state.withLock { $0.ignore(runID) }
        case .revived(let record):
            logger.info("run is running again: its writer is back", metadata: ["run": "\(runID)"])
            hub.publish(status: Run(record, nowMs: nowMs()))
        }
    }

    /// A connection closed: the runs its writers leave without a connection are crashed now.
    func connectionClosed(_ connection: UInt64) async {
        let orphaned = state.withLock { $0.connectionClosed(connection) }
        await crash(orphaned, reason: "its writer's connection closed")
    }

    /// The run ended: stop watching it.
    func forget(_ runID: String) {
        state.withLock { $0.forget(runID) }
    }

    /// Checks for silent writers every quarter of the timeout (at most every 5 s) until the task
    /// is cancelled; runs that had writers before a restart are watched from the start.
    func run() async {
        defer { crashesContinuation.finish() }
        do {
            let adopted = try await store.runsWithWriters().map(\.id)
            let now = nowMs()
            state.withLock { $0.adopt(runIDs: adopted, nowMs: now) }
            if !adopted.isEmpty {
                logger.info("waiting for the writers of running runs", metadata: ["runs": "\(adopted.count)", "timeout": "\(timeout)"])
            }
        } catch {
            logger.error("cannot list the runs that had writers", metadata: ["error": "\(error)"])
        }
        let interval = min(timeout / 4, .seconds(5))
        while !Task.isCancelled {
            do {
                try await clock.sleep(for: interval)
            } catch {
                return
            }
            let now = nowMs()
            let (stale, due) = state.withLock { ($0.expired(nowMs: now), $0.contactsToRecord(resolutionMs: 1000)) }
            await crash(stale, reason: "nothing heard from its writer for \(timeout)")
            do {
                try await store.recordContacts(due)
            } catch {
                logger.error("recording contact times failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func crash(_ runs: [(id: String, lastContactMs: Int64)], reason: String) async {
        guard !runs.isEmpty else { return }
        do {
            let marked = try await store.markCrashed(runs)
            let now = nowMs()
            for id in marked {
                logger.notice("run crashed: \(reason)", metadata: ["run": "\(id)"])
                if let record = try? await store.run(id: id) {
                    hub.publish(status: Run(record, nowMs: now))
                }
                crashesContinuation.yield(id)
            }
        } catch {
            logger.error("marking runs crashed failed", metadata: ["error": "\(error)", "runs": "\(runs.map(\.id))"])
        }
    }
}
