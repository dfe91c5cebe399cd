/// Which method chose a trial's parameters, recorded with every trial so that a fall-back from
/// TPE to random sampling is visible.
public struct MethodUsed: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The next point of the grid.
    public static let grid = MethodUsed(rawValue: "grid")
    /// Random search, or one of the bayesian sampler's planned startup trials.
    public static let random = MethodUsed(rawValue: "random")
    /// The tree-structured Parzen estimator.
    public static let tpe = MethodUsed(rawValue: "tpe")
    /// The bayesian sampler is past its startup trials but TPE could not run (too few completed
    /// trials, for example because trials failed or are still running), so it sampled at random.
    public static let randomFallback = MethodUsed(rawValue: "random-fallback")

    public var description: String { rawValue }
}
