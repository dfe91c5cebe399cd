public import Logging
public import TallyAPI
import TallyProto
import TallyRPC
public import TallyStore

/// Serves `tally.v1.Tracking` from the store. The methods live in extensions by topic:
/// experiments, runs, params, metrics, search, artifacts, comparison.
public struct TrackingProvider: TrackingServiceProtocol {
    let store: Store
    let blobs: BlobStore
    let ingestor: MetricIngestor
    let hub: RunEventHub
    let limits: TrackingLimits
    let logger: Logger

    /// Creates the provider.
    /// - Parameters:
    ///   - store: The SQLite store.
    ///   - blobs: The artifact blob store.
    ///   - limits: Size limits of records.
    ///   - logger: Logger for ingest and errors.
    public init(store: Store, blobs: BlobStore, limits: TrackingLimits = TrackingLimits(), logger: Logger) {
        self.store = store
        self.blobs = blobs
        self.limits = limits
        self.logger = logger
        let hub = RunEventHub()
        self.hub = hub
        self.ingestor = MetricIngestor(store: store, hub: hub, logger: logger)
    }

    /// Ends the run watchers' streams (the daemon is shutting down).
    /// Commits metric batches until ``finishIngest()``: a long-lived child task of whatever
    /// serves this provider (the daemon's service group). Metric calls wait until it runs.
    public func run() async {
        await ingestor.run()
    }

    /// Lets ``run()`` return once the batches queued so far are committed; batches that arrive
    /// later are refused with UNAVAILABLE. Called when no call can queue any more (the
    /// transport has stopped).
    public func finishIngest() {
        ingestor.stop()
    }

    public func shutdown() {
        hub.closeAll()
    }
}
