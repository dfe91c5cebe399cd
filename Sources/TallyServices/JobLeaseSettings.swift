import Foundation

/// How a daemon leases the jobs it runs, so that several daemons can share one store
/// (docs/teams.md).
public struct JobLeaseSettings: Sendable, Hashable {
    /// Who holds the leases: stable across restarts of the same daemon (its host and socket), so
    /// that a daemon restarted after a crash resumes its own jobs without waiting for their
    /// leases to expire.
    public var owner: String
    /// How long a lease lasts without renewal; renewed every third of it (default 30 s). A job of
    /// a daemon that died is taken over by another daemon once its lease expires.
    public var duration: Duration

    /// Creates settings; the default owner is unique to this process.
    public init(owner: String? = nil, duration: Duration = .seconds(30)) {
        self.owner = owner ?? "\(ProcessInfo.processInfo.hostName):\(UUID().uuidString)"
        self.duration = duration
    }
}
