/// One confidence interval of a reliability diagram.
public struct CalibrationBin: Sendable, Hashable, Codable {
    /// The interval's lower bound (inclusive).
    public var lower: Double
    /// The interval's upper bound (exclusive, except 1.0 for the last bin).
    public var upper: Double
    /// How many results have their confidence in the interval.
    public var count: Int
    /// Their mean confidence; 0 for an empty bin.
    public var meanConfidence: Double
    /// The share of them that are correct; 0 for an empty bin.
    public var accuracy: Double

    /// Creates a bin.
    public init(lower: Double, upper: Double, count: Int, meanConfidence: Double, accuracy: Double) {
        self.lower = lower
        self.upper = upper
        self.count = count
        self.meanConfidence = meanConfidence
        self.accuracy = accuracy
    }
}
