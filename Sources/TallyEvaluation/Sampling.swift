/// How a sample is drawn from a dataset.
public enum Sampling: String, Sendable, Codable, CaseIterable {
    /// A uniform random subset.
    case random
    /// A random subset with each label's share proportional to its share of the dataset.
    case stratified
}
