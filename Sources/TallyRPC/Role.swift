/// What a caller may do (docs/teams.md): each role may do everything the roles below it may.
///
/// - ``viewer`` reads everything: experiments, runs, metrics, artifacts, jobs, sweeps.
/// - ``member`` also creates experiments and runs, logs, uploads artifacts, runs sweep agents and
///   evaluation jobs with the providers that exist.
/// - ``admin`` also manages providers (which hold API keys and commands the daemon runs), tokens
///   and deletions.
public enum Role: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case viewer = 1
    case member = 2
    case admin = 3

    /// Parses "viewer", "member" or "admin".
    public init?(name: String) {
        switch name {
        case "viewer": self = .viewer
        case "member": self = .member
        case "admin": self = .admin
        default: return nil
        }
    }

    /// "viewer", "member" or "admin".
    public var name: String {
        switch self {
        case .viewer: "viewer"
        case .member: "member"
        case .admin: "admin"
        }
    }

    public var description: String { name }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
}
