// Benchmark: the bayesian (TPE) sampler against random search on standard test functions.
// Run with `swift run -c release tally-bench-sweeps [seeds]`; prints a Markdown table.
import Foundation
import TallySweeps

/// Runs one sweep and returns the noise-free value of its incumbent (the trial with the best
/// observed value).
func run(_ function: TestFunction, method: SweepMethod, seed: UInt64) throws -> Double {
    var sampler = try function.space.makeSampler(method, objective: .minimize, seed: seed)
    var history: [CompletedTrial] = []
    var best: (observed: Double, params: Params)?
    for trial in 0..<function.budget {
        guard let sampled = sampler.next(history: history, pending: []) else { break }
        let value = function.observe(sampled.params, seed, trial)
        history.append(.completed(sampled.params, value: value))
        if best == nil || value < best!.observed { best = (value, sampled.params) }
    }
    return function.trueValue(best!.params)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func format(_ value: Double) -> String { String(format: "%.4f", value) }

let seedCount = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 50
let functions = try [
    TestFunction.branin(budget: 50),
    TestFunction.branin(budget: 100),
    TestFunction.hartmann6(budget: 100),
    TestFunction.noisyQuadratic(budget: 60),
    TestFunction.noisyQuadratic(budget: 100),
]
let start = Date()
print("| function | budget | seeds | random median best | TPE median best | known optimum | TPE win rate |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for function in functions {
    var randomBests: [Double] = []
    var tpeBests: [Double] = []
    var wins = 0.0
    for seed in 1...UInt64(seedCount) {
        let random = try run(function, method: .random, seed: seed)
        let tpe = try run(function, method: .bayesian(), seed: seed)
        randomBests.append(random)
        tpeBests.append(tpe)
        wins += tpe < random ? 1 : (tpe == random ? 0.5 : 0)
    }
    let winRate = Int((100 * wins / Double(seedCount)).rounded())
    print("| \(function.name) | \(function.budget) | \(seedCount) | \(format(median(randomBests))) | "
        + "\(format(median(tpeBests))) | \(format(function.knownOptimum)) | \(winRate)% |")
}
FileHandle.standardError.write(Data(String(format: "finished in %.1f s\n", Date().timeIntervalSince(start)).utf8))
