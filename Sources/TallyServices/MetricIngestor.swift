import Logging
import TallyStore

/// Commits metric batches from every connection in shared transactions (group commit).
final class MetricIngestor: Sendable {
    let store: Store
    let hub: RunEventHub
    let logger: Logger

    init(store: Store, hub: RunEventHub, logger: Logger) {
        self.store = store
        self.hub = hub
        self.logger = logger
    }
}
