import Logging
import TallyAPI
import TallyJournal
import TallyRPC

/// Delivers the journals that clients left in the daemon's data folder (`<home>/journal`,
/// docs/journal.md): at start, then every ``interval``, until ``stop()``. A journal a client
/// still has open is left to that client.
final class JournalCollector: Sendable {
    let folder: String
    let interval: Duration
    private let delivery: JournalDelivery
    private let logger: Logger
    private let clock: any Clock<Duration>
    private let stopSignal: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    init(folder: String, router: RPCRouter, interval: Duration = .seconds(60), clock: any Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.folder = folder
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.delivery = JournalDelivery(tracking: TrackingClient(transport: InProcessTransport(router: router, logger: logger)))
        (stopSignal, stopContinuation) = AsyncStream.makeStream()
    }

    /// Delivers journals until ``stop()``.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [stopSignal] in
                for await _ in stopSignal {}
            }
            group.addTask { await self.loop() }
            await group.next()
            group.cancelAll()
        }
    }

    func stop() {
        stopContinuation.finish()
    }

    private func loop() async {
        while !Task.isCancelled {
            await collectOnce()
            do {
                try await clock.sleep(for: interval)
            } catch {
                return
            }
        }
    }

    /// Delivers every journal in the folder that no client holds.
    func collectOnce() async {
        for path in JournalDelivery.journals(in: folder) {
            if Task.isCancelled { return }
            let report = await delivery.deliver(path: path)
            let metadata: Logger.Metadata = [
                "journal": "\(path)", "run": "\(report.runID)", "stored": "\(report.stored)",
                "duplicates": "\(report.duplicates)", "refused": "\(report.refused)",
            ]
            switch report.outcome {
            case .delivered:
                logger.notice("delivered a client's journal", metadata: metadata)
                if !report.refusals.isEmpty {
                    logger.warning("records of a journal were refused", metadata: metadata.merging(["refusals": "\(report.refusals)"]) { $1 })
                }
                if let torn = report.torn {
                    logger.warning("a journal's torn last record was dropped", metadata: metadata.merging(["torn": "\(torn)"]) { $1 })
                }
            case .inUse:
                logger.debug("journal in use by its client", metadata: metadata)
            case .pending(let reason):
                logger.warning("journal delivery stopped; it is kept for later", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            case .unreadable(let reason):
                logger.error("cannot deliver a journal; it is kept", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            }
        }
    }
}
