package import Logging
public import TallyAPI
import TallyProto
public import TallyRPC
package import TallyStore

/// Serves `tally.v1.Tracking` from the store. The methods live in extensions by topic:
/// experiments, runs, params, metrics, search, artifacts, comparison.
public struct TrackingProvider: TrackingServiceProtocol {
    let store: any StoreEngine
    let blobs: any BlobStore
    let ingestor: MetricIngestor
    let hub: RunEventHub
    let limits: TrackingLimits
    let logger: Logger
    let liveness: RunLiveness

    /// Creates the provider.
    /// - Parameters:
    ///   - store: The SQLite store.
    ///   - blobs: The artifact blob store.
    ///   - limits: Size limits of records.
    ///   - heartbeatTimeout: How long a run's writer may stay silent before the run is crashed.
    ///   - clock: Paces the check for silent writers.
    ///   - logger: Logger for ingest and errors.
    package init(
        store: any StoreEngine,
        blobs: any BlobStore,
        limits: TrackingLimits = TrackingLimits(),
        heartbeatTimeout: Duration = .seconds(60),
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) {
        self.store = store
        self.blobs = blobs
        self.limits = limits
        self.logger = logger
        let hub = RunEventHub()
        self.hub = hub
        self.ingestor = MetricIngestor(store: store, hub: hub, logger: logger)
        self.liveness = RunLiveness(timeout: heartbeatTimeout, store: store, hub: hub, logger: logger, clock: clock, nowMs: { Self.nowMs() })
    }

    /// Registers the methods, and the connection observer that crashes the runs whose writer's
    /// connection closed.
    public func register(with router: inout RPCRouter) {
        registerMethods(with: &router)
        // A run's stream only checks, converts and awaits the store: it runs where its frames
        // are read (docs/decisions.md, "A run's life in one commit").
        router.markNonBlocking(TrackingService.Method.writeRun)
        let liveness = self.liveness
        router.connectionClosed.append { id in await liveness.connectionClosed(id) }
    }

    /// Ids of the runs found crashed, in order (for tests).
    public var crashedRuns: AsyncStream<String> { liveness.crashes }

    /// Commits metric batches until ``finishIngest()``, and watches runs' writers meanwhile: a
    /// long-lived child task of whatever serves this provider (the daemon's service group).
    /// Metric calls wait until it runs.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await liveness.run() }
            await ingestor.run()
            group.cancelAll()
        }
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
