import Foundation
package import Logging
public import TallyAPI
import TallyProto
import TallyRPC
package import TallyStore

/// Serves `tally.v1.Experiments`: datasets, providers, background jobs and their progress
/// streams. The methods live in extensions by topic.
public final class ExperimentsProvider: ExperimentsServiceProtocol {
    let store: any StoreEngine
    let blobs: any BlobStore
    let secrets: SecretBox
    let hub: JobEventHub
    let jobs: JobManager
    let sweeps: SweepRegistry
    let logger: Logger

    /// Creates the provider; jobs do not run until ``start()``.
    /// - Parameters:
    ///   - store: The store.
    ///   - blobs: The artifact blob store (JSONL datasets, per-item results).
    ///   - keyFile: The file holding the key that encrypts provider API keys (created 0600).
    ///   - workers: Jobs running at once.
    ///   - logger: Logger for jobs.
    /// - Throws: When the key file cannot be read or created.
    ///   - leases: How jobs are leased when several daemons share the store.
    package convenience init(store: any StoreEngine, blobs: any BlobStore, keyFile: String, workers: Int = 2, leases: JobLeaseSettings = JobLeaseSettings(), logger: Logger) throws {
        let hub = JobEventHub()
        let executors: [String: any JobExecutor] = [
            ClassificationEvalExecutor.kind: ClassificationEvalExecutor(store: store, blobs: blobs, logger: logger),
        ]
        try self.init(store: store, blobs: blobs, keyFile: keyFile, hub: hub, executors: executors, workers: workers, leases: leases, logger: logger)
    }

    init(store: any StoreEngine, blobs: any BlobStore, keyFile: String, hub: JobEventHub, executors: [String: any JobExecutor], workers: Int, leases: JobLeaseSettings = JobLeaseSettings(), logger: Logger) throws {
        self.store = store
        self.blobs = blobs
        self.secrets = try SecretBox(keyFile: keyFile)
        self.hub = hub
        self.logger = logger
        let sweeps = SweepRegistry()
        self.sweeps = sweeps
        var executors = executors
        executors[SweepExecutor.kind] = executors[SweepExecutor.kind] ?? SweepExecutor(store: store, registry: sweeps)
        executors[CrossValidationExecutor.kind] = executors[CrossValidationExecutor.kind] ?? CrossValidationExecutor(store: store, registry: sweeps)
        if let classification = executors[ClassificationEvalExecutor.kind] as? ClassificationEvalExecutor {
            executors[ClassificationEvalExecutor.kind] = classification.with(secrets: secrets)
        }
        self.jobs = JobManager(store: store, hub: hub, executors: executors, workers: workers, leases: leases, logger: logger)
    }

    /// Resumes the jobs an earlier daemon left unfinished and starts taking new ones.
    public func start() async throws {
        try await jobs.resume()
    }

    /// Runs the jobs, each as a child task, until ``shutdown()``: a long-lived child task of
    /// whatever serves this provider (the daemon's service group). Jobs wait until it runs.
    public func run() async {
        await jobs.run()
    }

    /// Ends the job watchers' streams so that their calls end (the daemon is shutting down).
    public func closeWatchers() {
        hub.closeAll()
    }

    /// Ends the progress streams and interrupts running jobs (they resume at the next start);
    /// returns once ``run()`` has returned.
    public func shutdown() async {
        hub.closeAll()
        await jobs.shutdown()
    }
}
