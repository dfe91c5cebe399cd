/// A broken invariant found by a fuzz target: stops the process the way a crash does, so that
/// libFuzzer saves the input and a replay reports it.
func fuzzFailure(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let input = FuzzInput.current.map { " (input \($0))" } ?? ""
    fatalError("fuzz invariant broken\(input): \(message())", file: file, line: line)
}

/// The input being replayed, for messages.
enum FuzzInput {
    nonisolated(unsafe) static var current: String?
}

/// A small deterministic generator (SplitMix64), so that a fuzz input fully decides what the
/// target does with it.
struct FuzzRandom {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `1...upper` (`upper` ≥ 1).
    mutating func next(upTo upper: Int) -> Int {
        Int(next() % UInt64(upper)) + 1
    }
}
