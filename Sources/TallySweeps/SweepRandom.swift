/// SplitMix64 (Steele, Lea and Flood 2014): a small seedable generator, so a sweep is the same for
/// the same seed on every platform and Swift version.
struct SweepRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for one trial: the sweep's seed mixed with the trial's number, so that a trial
    /// depends only on the seed, its number and what it is told, not on earlier calls.
    init(seed: UInt64, stream: UInt64) {
        var mixer = SweepRandom(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in `[0, 1)` with 53 random bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform double in `[low, high]`.
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    /// A uniform integer in `0..<bound` (Lemire's method).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let bound = UInt64(bound)
        let threshold = (0 &- bound) % bound
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= threshold { return Int(product.high) }
        }
    }

    /// An index drawn with probability proportional to `weights` (non-negative, positive sum).
    mutating func index(weightedBy weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var target = unit() * total
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 { return index }
        }
        return weights.lastIndex { $0 > 0 } ?? weights.count - 1
    }
}
