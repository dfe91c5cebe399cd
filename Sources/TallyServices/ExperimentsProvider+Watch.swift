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
        let job = try Job(try await mapStoreErrors { try await store.job(request.jobId) })
        if let replay {
            for event in replay {
                try await response.write(event)
                if event.isTerminal { return }
            }
        } else {
            var snapshot = JobEvent()
            snapshot.seq = hub.nextSeq
            snapshot.jobId = job.id
            snapshot.jobKind = job.kind
            snapshot.timeMs = Int64(Date().timeIntervalSince1970 * 1000)
            snapshot.event = .snapshot(job)
            try await response.write(snapshot)
        }
        if var terminal = job.terminalEvent {
            terminal.seq = hub.nextSeq
            try await response.write(terminal)
            return
        }
        while let event = await hub.next(watcher) {
            try await response.write(event)
            if event.isTerminal { return }
        }
        try Task.checkCancellation()
    }

    public func watchJobs(request: WatchJobsRequest, response: ResponseWriter<JobEvent>, context: ServerContext) async throws {
        let filter = JobEventHub.Filter(jobID: nil, kind: request.kind, itemResults: request.itemResults)
        let (watcher, replay) = hub.subscribe(filter, fromSeq: request.fromSeq)
        defer { hub.unsubscribe(watcher) }
        if let replay {
            for event in replay { try await response.write(event) }
        } else {
            // Start with the jobs that are not finished.
            let open = try await mapStoreErrors {
                try await store.listJobs(statuses: [JobRecord.pending, JobRecord.running], kind: request.kind, pageSize: PageToken.maximumSize, pageToken: "")
            }
            for record in open.items.reversed() {
                var snapshot = JobEvent()
                snapshot.seq = hub.nextSeq
                snapshot.jobId = record.id
                snapshot.jobKind = record.kind
                snapshot.timeMs = Int64(Date().timeIntervalSince1970 * 1000)
                snapshot.event = .snapshot(try Job(record))
                try await response.write(snapshot)
            }
        }
        while let event = await hub.next(watcher) {
            try await response.write(event)
        }
        try Task.checkCancellation()
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
