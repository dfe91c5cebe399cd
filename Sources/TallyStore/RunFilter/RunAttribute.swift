/// Columns of a run a filter can use.
public enum RunAttribute: String, Sendable, Hashable, CaseIterable {
    /// "running", "completed", "failed", "killed" or "crashed".
    case status
    case name
    case id
    case experimentID = "experiment_id"
    /// Missing for a root run.
    case parentRunID = "parent_run_id"
    /// Unix milliseconds.
    case startedAt = "started_at"
    /// Unix milliseconds; missing while the run is running.
    case completedAt = "completed_at"
    /// Milliseconds from start to end, or to now while running.
    case duration

    /// The kind of value the attribute holds.
    var kind: FilterValueKind {
        switch self {
        case .status, .name, .id, .experimentID, .parentRunID: .string
        case .startedAt, .completedAt, .duration: .number
        }
    }
}
