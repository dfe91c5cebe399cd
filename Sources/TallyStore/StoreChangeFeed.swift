/// Something a daemon changed in a store other daemons share: a run (points, params, status),
/// a job (progress, status), or the access tokens. Only ids travel; the data is read from the store (docs/teams.md).
public struct StoreChange: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case run = "r"
        case job = "j"
        /// The access tokens (made or revoked); the id is "-".
        case tokens = "t"
    }

    public var kind: Kind
    public var id: String
    /// The daemon that made the change (its ``StoreChangeFeed`` origin id).
    public var origin: String

    public init(kind: Kind, id: String, origin: String) {
        self.kind = kind
        self.id = id
        self.origin = origin
    }

    /// "origin kind id", as announced.
    public var payload: String { "\(origin) \(kind.rawValue) \(id)" }

    /// Parses a payload; `nil` for anything else.
    public init?(payload: String) {
        let parts = payload.split(separator: " ")
        guard parts.count == 3, let kind = Kind(rawValue: String(parts[1])) else { return nil }
        self.init(kind: kind, id: String(parts[2]), origin: String(parts[0]))
    }
}

/// What a follower of a ``StoreChangeFeed`` receives.
public enum StoreChangeDelivery: Sendable {
    /// Changes announced, in order.
    case changes([StoreChange])
    /// The feed (re)connected: changes made meanwhile were not delivered, so whatever the
    /// follower shows may be stale.
    case resync
}

/// Tells the daemons sharing a store what each changed, so that a watcher connected to one
/// daemon sees what is committed through another (PostgreSQL `LISTEN`/`NOTIFY`). Engines that a
/// single daemon owns (SQLite) have none.
package protocol StoreChangeFeed: Sendable {
    /// Announces changes, already committed, to every daemon following the feed (this one too).
    func announce(_ changes: [StoreChange]) async throws
    /// Delivers announcements until the task is cancelled, reconnecting after failures (each
    /// connection starts with ``StoreChangeDelivery/resync``).
    func follow(_ deliver: @escaping @Sendable (StoreChangeDelivery) async -> Void) async
}

extension StoreEngine {
    /// The engine's change feed; `nil` unless several daemons can share it.
    package var changeFeed: (any StoreChangeFeed)? {
        self as? any StoreChangeFeed
    }
}
