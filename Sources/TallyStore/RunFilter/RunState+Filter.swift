extension RunState {
    /// States by their lower-case filter name.
    static let byName: [String: RunState] = [
        "running": .running, "completed": .completed, "failed": .failed, "killed": .killed, "crashed": .crashed,
    ]
}
