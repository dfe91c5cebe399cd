import Foundation
public import TallyProto
public import TallyRPC
import TallyStore

extension ExperimentsProvider {
    public func watchJob(request: WatchJobRequest, response: ResponseWriter<JobEvent>, context: ServerContext) async throws {
        let filter = JobEventHub.Filter(jobID: request.jobId, kind: nil, itemResults: request.itemResults)
        // Subscribe before reading the job, so that nothing in between is missed.
        let (watcher, replay) = hub.subscribe(filter, fromSeq: request.fromSeq)
        defer { hub.unsubscribe(watcher) }
        // Events numbered below this happened before the job is read: the snapshot covers them.
        let snapshotSeq = hub.nextSeq
        let job = try Job(try await mapStoreErrors { try await store.job(request.jobId) })
        var firstLiveSeq: UInt64 = 0
        if let replay {
            for event in replay {
                try await response.write(event)
                if event.isTerminal { return }
            }
        } else {
            firstLiveSeq = snapshotSeq
            var snapshot = JobEvent()
            snapshot.seq = snapshotSeq - 1
            snapshot.jobId = job.id
            snapshot.jobKind = job.kind
            snapshot.timeMs = Int64(Date().timeIntervalSince1970 * 1000)
            snapshot.event = .snapshot(job)
            try await response.write(snapshot)
        }
        if var terminal = job.terminalEvent {
            terminal.seq = snapshotSeq - 1
            try await response.write(terminal)
            return
        }
        while let published = await hub.nextPublished(watcher) {
            let event = published.event
            if event.seq < firstLiveSeq { continue }  // already in the snapshot
            try await response.write(published)
            if event.isTerminal { return }
        }
        try Task.checkCancellation()
    }

    public func watchJobs(request: WatchJobsRequest, response: ResponseWriter<JobEvent>, context: ServerContext) async throws {
        let filter = JobEventHub.Filter(jobID: nil, kind: request.kind, itemResults: request.itemResults)
        let (watcher, replay) = hub.subscribe(filter, fromSeq: request.fromSeq)
        defer { hub.unsubscribe(watcher) }
        let snapshotSeq = hub.nextSeq
        var firstLiveSeq: UInt64 = 0
        if let replay {
            for event in replay { try await response.write(event) }
        } else {
            firstLiveSeq = snapshotSeq
            // Start with the jobs that are not finished.
            let open = try await mapStoreErrors {
                try await store.listJobs(statuses: [JobRecord.pending, JobRecord.running], kind: request.kind, pageSize: PageToken.maximumSize, pageToken: "")
            }
            for record in open.items.reversed() {
                var snapshot = JobEvent()
                snapshot.seq = snapshotSeq - 1
                snapshot.jobId = record.id
                snapshot.jobKind = record.kind
                snapshot.timeMs = Int64(Date().timeIntervalSince1970 * 1000)
                snapshot.event = .snapshot(try Job(record))
                try await response.write(snapshot)
            }
        }
        while let published = await hub.nextPublished(watcher) {
            if published.event.seq < firstLiveSeq { continue }  // already in the snapshots
            try await response.write(published)
        }
        try Task.checkCancellation()
    }
}

extension ResponseWriter<JobEvent> {
    /// Sends a published event, with the encoding its hub made once for every watcher.
    func write(_ published: JobEventHub.Published) async throws {
        if let serialized = published.serialized {
            try await write(serialized: serialized)
        } else {
            try await write(published.event)
        }
    }
}

extension JobEvent {
    /// Whether this ends its job's stream: completed, failed or cancelled.
    var isTerminal: Bool {
        switch event {
        case .completed?, .failed?, .cancelled?: true
        default: false
        }
    }
}
