/// Fans run events (new points, params, status changes) out to the watchers of each run.
final class RunEventHub: Sendable {
    init() {}
}
