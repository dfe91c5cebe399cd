import Foundation
import Synchronization
import TallyProto

/// Sequences job events and fans them out to watchers.
///
/// Every event gets the next daemon-wide sequence number (starting from the daemon's start time
/// in microseconds, so numbers keep increasing across restarts). The most recent events are kept
/// so that a watcher that reconnects with `from_seq` gets what it missed.
///
/// A watcher never slows a job: its queue coalesces progress events to the latest per job, and
/// when it holds more than `queueLimit` other events the oldest item results are dropped first.
/// Terminal events (completed, failed, cancelled) are never dropped.
final class JobEventHub: Sendable {
    struct Filter: Sendable {
        var jobID: String?
        var kind: String?
        var itemResults: Bool

        func matches(_ event: JobEvent) -> Bool {
            matches(event, isItemResult: event.isItemResult)
        }

        /// `matches(_:)` with the event's kind worked out once for all watchers.
        func matches(_ event: JobEvent, isItemResult: Bool) -> Bool {
            if isItemResult && !itemResults { return false }
            if let jobID, event.jobId != jobID { return false }
            if let kind, !kind.isEmpty, event.jobKind != kind { return false }
            return true
        }
    }

    /// An event as delivered to watchers: the message, and its encoding, made once for all of
    /// them (`nil` if it could not be encoded; the watcher then encodes it and reports the error).
    struct Published: Sendable {
        var event: JobEvent
        var serialized: [UInt8]?
    }

    private struct Watcher {
        let filter: Filter
        var queue: [Published] = []
        var waiting: CheckedContinuation<Published?, Never>?
        var closed = false
    }

    private struct State {
        /// The first number this daemon gave out.
        let initialSeq: UInt64
        var nextSeq: UInt64
        var recent: [JobEvent] = []
        var watchers: [UInt64: Watcher] = [:]
        var nextWatcherID: UInt64 = 0
        /// Watchers that asked for item results: when there are none, an item result (one per
        /// item of a job) is kept for replay without visiting every watcher.
        var itemResultWatchers = 0
    }

    private let state: Mutex<State>
    let retained: Int
    let queueLimit: Int

    init(retained: Int = 10_000, queueLimit: Int = 1_000) {
        self.retained = retained
        self.queueLimit = queueLimit
        let start = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        self.state = Mutex(State(initialSeq: start, nextSeq: start))
    }

    /// The sequence number the next event will get.
    var nextSeq: UInt64 { state.withLock { $0.nextSeq } }

    /// Told of every job whose event is published here (the ``ChangeRelay`` of a daemon sharing
    /// its store).
    private let changed = RelayHooks<@Sendable (String) -> Void>()

    /// Sets what is told of changed jobs.
    func onChange(_ hook: @escaping @Sendable (String) -> Void) {
        changed.set(hook)
    }

    /// Whether any watcher is subscribed.
    var hasWatchers: Bool {
        state.withLock { !$0.watchers.isEmpty }
    }

    /// Publishes an event; its `seq` is assigned here.
    /// - Parameter announce: Whether other daemons are told (not for what they told this one).
    func publish(_ event: JobEvent, announce: Bool = true) {
        if announce, !event.jobId.isEmpty { changed.current?(event.jobId) }
        var event = event
        let wake: [(CheckedContinuation<Published?, Never>, Published)] = state.withLock { state in
            event.seq = state.nextSeq
            state.nextSeq += 1
            state.recent.append(event)
            if state.recent.count > retained + retained / 10 {
                state.recent.removeFirst(state.recent.count - retained)
            }
            var wake: [(CheckedContinuation<Published?, Never>, Published)] = []
            let isItemResult = event.isItemResult
            if isItemResult && state.itemResultWatchers == 0 { return wake }
            var published: Published?
            // Walked by index and changed in place: a loop over the dictionary that assigned to
            // it would copy all of it on the first assignment.
            var index = state.watchers.values.startIndex
            while index != state.watchers.values.endIndex {
                defer { state.watchers.values.formIndex(after: &index) }
                guard !state.watchers.values[index].closed,
                      state.watchers.values[index].filter.matches(event, isItemResult: isItemResult)
                else { continue }
                if published == nil {
                    published = Published(event: event, serialized: try? event.serializedBytes())
                }
                if let waiting = state.watchers.values[index].waiting {
                    state.watchers.values[index].waiting = nil
                    wake.append((waiting, published!))
                } else {
                    Self.enqueue(published!, into: &state.watchers.values[index].queue, limit: queueLimit)
                }
            }
            return wake
        }
        for (continuation, event) in wake { continuation.resume(returning: event) }
    }

    private static func enqueue(_ published: Published, into queue: inout [Published], limit: Int) {
        let event = published.event
        if case .progress? = event.event,
           let index = queue.lastIndex(where: { if case .progress? = $0.event.event { $0.event.jobId == event.jobId } else { false } }) {
            queue.remove(at: index)
        }
        queue.append(published)
        while queue.count > limit, let index = queue.firstIndex(where: { if case .itemResult? = $0.event.event { true } else { false } }) {
            queue.remove(at: index)
        }
    }

    /// Registers a watcher. With `fromSeq` > 0, also returns the retained events after it, or
    /// `nil` when some of them are no longer retained (the caller then starts from a snapshot).
    func subscribe(_ filter: Filter, fromSeq: UInt64) -> (id: UInt64, replay: [JobEvent]?) {
        state.withLock { state in
            state.nextWatcherID += 1
            let id = state.nextWatcherID
            state.watchers[id] = Watcher(filter: filter)
            if filter.itemResults { state.itemResultWatchers += 1 }
            guard fromSeq > 0, fromSeq < state.nextSeq else { return (id, nil) }
            let firstRetained = state.recent.first?.seq ?? state.nextSeq
            // Covered: everything after fromSeq is still held. That includes a watcher of an
            // earlier daemon (fromSeq below this daemon's first number) when nothing this daemon
            // numbered has been dropped yet: what happened after fromSeq in the earlier daemon
            // is gone, but the jobs carry on here and their events since are all held.
            let covered = fromSeq + 1 >= firstRetained || (fromSeq < state.initialSeq && firstRetained == state.initialSeq)
            guard covered else { return (id, nil) }
            return (id, state.recent.filter { $0.seq > fromSeq && filter.matches($0) })
        }
    }

    /// The next event for a watcher; `nil` once it is closed.
    func next(_ id: UInt64) async -> JobEvent? {
        await nextPublished(id)?.event
    }

    /// The next event for a watcher with its shared encoding; `nil` once it is closed.
    func nextPublished(_ id: UInt64) async -> Published? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Published?, Never>) in
                let ready: Published?? = state.withLock { state in
                    guard var watcher = state.watchers[id], !watcher.closed, !Task.isCancelled else { return .some(nil) }
                    if !watcher.queue.isEmpty {
                        let event = watcher.queue.removeFirst()
                        state.watchers[id] = watcher
                        return .some(event)
                    }
                    watcher.waiting = continuation
                    state.watchers[id] = watcher
                    return .none
                }
                if case .some(let event) = ready { continuation.resume(returning: event) }
            }
        } onCancel: {
            unsubscribe(id)
        }
    }

    /// Removes a watcher, ending a pending `next`.
    func unsubscribe(_ id: UInt64) {
        let waiting = state.withLock { state in
            let watcher = state.watchers.removeValue(forKey: id)
            if watcher?.filter.itemResults == true { state.itemResultWatchers -= 1 }
            return watcher?.waiting
        }
        waiting?.resume(returning: nil)
    }

    /// Ends every watcher (the daemon is shutting down).
    func closeAll() {
        let waiting: [CheckedContinuation<Published?, Never>] = state.withLock { state in
            var waiting: [CheckedContinuation<Published?, Never>] = []
            for (id, var watcher) in state.watchers {
                watcher.closed = true
                if let continuation = watcher.waiting { waiting.append(continuation) }
                watcher.waiting = nil
                watcher.queue.removeAll()
                state.watchers[id] = watcher
            }
            return waiting
        }
        for continuation in waiting { continuation.resume(returning: nil) }
    }

    /// Number of registered watchers.
    var watcherCount: Int { state.withLock { $0.watchers.count } }
}

extension JobEvent {
    /// Whether this is the result of one item.
    var isItemResult: Bool {
        if case .itemResult? = event { true } else { false }
    }
}
