/// How a sweep chooses its trials.
public enum SweepMethod: Sendable, Hashable {
    /// Every combination, in grid order.
    case grid
    /// Independent random draws.
    case random
    /// The tree-structured Parzen estimator after random startup trials.
    case bayesian(TPEConfiguration = .init())

    /// The method's name: `grid`, `random` or `bayesian`.
    public var name: String {
        switch self {
        case .grid: "grid"
        case .random: "random"
        case .bayesian: "bayesian"
        }
    }
}
