import Foundation

/// Noise for the noisy objective: a SplitMix64 stream per (seed, trial), so both samplers see
/// the same noise at the same trial number.
enum BenchRandom {
    static func normal(seed: UInt64, index: Int) -> Double {
        var state = seed &* 0x2545_F491_4F6C_DD1D ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
        }
        let u1 = max(next(), 1e-300), u2 = next()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
