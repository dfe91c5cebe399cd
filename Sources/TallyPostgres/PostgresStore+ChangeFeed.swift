import Logging
import PostgresNIO
package import TallyStore

extension PostgresStore: StoreChangeFeed {
    /// The channel every daemon of a database listens on.
    static let changeChannel = "tally_changes"

    /// One `pg_notify` per change, in one statement; PostgreSQL folds identical notifications of
    /// a transaction into one.
    package func announce(_ changes: [StoreChange]) async throws {
        guard !changes.isEmpty else { return }
        let payloads = changes.map(\.payload)
        try await read { connection in
            _ = try await connection.query(
                "SELECT pg_notify(\(Self.changeChannel), p) FROM unnest(\(payloads)::text[]) AS p", logger: self.logger
            )
        }
    }

    /// Holds one connection of the pool listening on the channel; after a failure (the server
    /// restarted), waits a second and listens again, starting with a resync.
    package func follow(_ deliver: @escaping @Sendable (StoreChangeDelivery) async -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.changeChannel) { notifications in
                        await deliver(.resync)
                        for try await notification in notifications {
                            if let change = StoreChange(payload: notification.payload) {
                                await deliver(.changes([change]))
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("lost the store's change feed; listening again", metadata: ["error": "\(Self.describe(error))"])
            }
            do {
                try await Task.sleep(for: .seconds(1))
            } catch {
                return
            }
        }
    }
}
