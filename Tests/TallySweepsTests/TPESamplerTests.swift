import Foundation
import Testing
@testable import TallySweeps

@Suite("TPE sampler")
struct TPESamplerTests {
    /// Runs a sequential sweep and returns every trial with its value.
    static func sweep(
        _ space: SearchSpace, method: SweepMethod = .bayesian(), objective: Objective = .minimize, seed: UInt64, trials: Int,
        _ f: (Params) -> Double?
    ) throws -> [(trial: SampledTrial, value: Double?)] {
        var sampler = try space.makeSampler(method, objective: objective, seed: seed)
        var history: [CompletedTrial] = []
        var out: [(SampledTrial, Double?)] = []
        for _ in 0..<trials {
            let trial = sampler.next(history: history, pending: [])!
            let value = f(trial.params)
            history.append(value.map { .completed(trial.params, value: $0) } ?? .failed(trial.params))
            out.append((trial, value))
        }
        return out
    }

    static let line = try! SearchSpace([.float("x", low: -10, high: 10)])
    static func quadratic(_ p: Params) -> Double { let x = p["x"]!.doubleValue!; return (x - 2) * (x - 2) }

    /// How many of trials 21–40 lie within ±2 of x = 2, a fifth of the range (uniform: 4 of 20).
    static func nearOptimum(_ trials: [(trial: SampledTrial, value: Double?)]) -> Int {
        trials.prefix(40).suffix(20).count { abs($0.trial.params["x"]!.doubleValue! - 2) < 2 }
    }

    // Optuna's TPE stays exploratory (the prior kernel and the magic clip keep l(x) wide while the
    // good group is small), so "concentrates" means: far more mass near the optimum than random.
    @Test("on a 1-D quadratic it concentrates near the optimum after 40 trials", arguments: [UInt64(1), 2, 3, 4, 5])
    func concentrates(seed: UInt64) throws {
        let trials = try Self.sweep(Self.line, seed: seed, trials: 40, Self.quadratic)
        let near = Self.nearOptimum(trials)
        #expect(near >= 8, "\(near) of trials 21–40 within ±2 of the optimum")
        #expect(trials.compactMap(\.value).min()! < 0.05)
        let random = try Self.sweep(Self.line, method: .random, seed: seed, trials: 40, Self.quadratic)
        #expect(near > Self.nearOptimum(random))
    }

    @Test("maximizing concentrates near the maximum")
    func maximize() throws {
        let trials = try Self.sweep(Self.line, objective: .maximize, seed: 9, trials: 40) { -Self.quadratic($0) }
        #expect(Self.nearOptimum(trials) >= 8)
        #expect(trials.compactMap(\.value).max()! > -0.05)
    }

    @Test("a clearly best category is chosen most of the time after startup")
    func categorical() throws {
        let space = try SearchSpace([.categorical("opt", ["sgd", "adam", "rmsprop", "adagrad"]), .float("x", low: 0, high: 1)])
        let offsets: [ParamValue: Double] = ["sgd": 3, "adam": 0, "rmsprop": 2, "adagrad": 2.5]
        let trials = try Self.sweep(space, seed: 4, trials: 50) { offsets[$0["opt"]!]! + $0["x"]!.doubleValue! }
        let late = trials.suffix(20)
        #expect(late.count { $0.trial.params["opt"] == "adam" } >= 14)
    }

    @Test("a categorical value whose trials always fail is proposed less and less: failed trials count as worse than any completed one",
          arguments: [UInt64(1), 2, 3])
    func failingCategoryIsAvoided(seed: UInt64) throws {
        // "crash" always fails; the others complete with nearly the same value, so only the
        // failures can tell TPE to avoid "crash".
        let space = try SearchSpace([.categorical("kernel", ["linear", "rbf", "poly", "crash"]), .float("c", low: 0, high: 1)])
        let trials = try Self.sweep(space, seed: seed, trials: 60) { params in
            params["kernel"] == "crash" ? nil : 1 + 0.01 * params["c"]!.doubleValue!
        }
        let late = trials.suffix(30)
        let crashes = late.count { $0.trial.params["kernel"] == "crash" }
        #expect(crashes <= 4, "\(crashes) of the last 30 trials chose the failing value")
    }

    @Test("methodUsed: startup trials are random, then tpe")
    func methods() throws {
        let trials = try Self.sweep(Self.line, seed: 1, trials: 15, Self.quadratic)
        #expect(trials.map(\.trial.methodUsed) == Array(repeating: .random, count: 10) + Array(repeating: .tpe, count: 5))
        let short = try Self.sweep(Self.line, method: .bayesian(TPEConfiguration(startupTrials: 3)), seed: 1, trials: 5, Self.quadratic)
        #expect(short.map(\.trial.methodUsed) == [.random, .random, .random, .tpe, .tpe])
    }

    @Test("falls back to random, visibly, when too few trials completed")
    func fallback() throws {
        // Every other trial fails: after 10 trials only 5 completed.
        var n = 0
        let trials = try Self.sweep(Self.line, seed: 2, trials: 22) { p in
            n += 1
            return n % 2 == 0 ? nil : Self.quadratic(p)
        }
        let methods = trials.map(\.trial.methodUsed)
        #expect(methods.prefix(10).allSatisfy { $0 == .random })
        #expect(methods[10] == .randomFallback)
        #expect(trials[10].trial.note?.contains("5 failed") == true)
        #expect(methods.contains(.tpe))  // 10 completed after 20 trials

        // All failed: never TPE.
        let failing = try Self.sweep(Self.line, seed: 2, trials: 15) { _ in nil }
        #expect(failing.suffix(5).allSatisfy { $0.trial.methodUsed == .randomFallback })

        // Ten trials handed out, none finished yet: the eleventh cannot be TPE.
        var sampler = try TPESampler(space: Self.line, objective: .minimize, seed: 1)
        let pending: [Params] = (0..<10).map { ["x": .double(Double($0))] }
        #expect(sampler.next(history: [], pending: pending)?.methodUsed == .randomFallback)
    }

    @Test("the same seed and history give the same trials; another seed others")
    func reproducible() throws {
        let space = try SearchSpace([
            .float("x", low: -10, high: 10), .int("n", low: 1, high: 64, log: true),
            .categorical("c", ["a", "b", "c"]), .float("d", low: 0, high: 1, step: 0.25),
        ])
        func f(_ p: Params) -> Double {
            Self.quadratic(p) + Double(p["n"]!.intValue!) / 10 + (p["c"] == "b" ? 0 : 1) + p["d"]!.doubleValue!
        }
        let first = try Self.sweep(space, seed: 42, trials: 30, f).map(\.trial)
        let second = try Self.sweep(space, seed: 42, trials: 30, f).map(\.trial)
        let other = try Self.sweep(space, seed: 43, trials: 30, f).map(\.trial)
        #expect(first == second)
        #expect(first.suffix(20) != other.suffix(20))
        // Every value TPE proposes lies in its domain.
        for trial in first {
            for parameter in space.parameters { #expect(parameter.domain.contains(trial.params[parameter.name]!)) }
        }
    }

    @Test("pending trials with constant liar: concurrent proposals stay valid and use TPE")
    func pending() throws {
        var sampler = try TPESampler(space: Self.line, objective: .minimize, seed: 8)
        var history: [CompletedTrial] = []
        for _ in 0..<12 {
            let t = sampler.next(history: history, pending: [])!
            history.append(.completed(t.params, value: Self.quadratic(t.params)))
        }
        var pending: [Params] = []
        for _ in 0..<6 {
            let t = sampler.next(history: history, pending: pending)!
            #expect(t.methodUsed == .tpe)
            #expect(Self.line.parameters[0].domain.contains(t.params["x"]!))
            pending.append(t.params)
        }
        #expect(Set(pending).count == 6)
    }

    @Test("settings out of range are refused")
    func configuration() throws {
        #expect(throws: SweepError.self) { try TPESampler(space: Self.line, objective: .minimize, seed: 0, configuration: .init(candidates: 0)) }
        #expect(throws: SweepError.self) { try TPESampler(space: Self.line, objective: .minimize, seed: 0, configuration: .init(gammaFraction: 0)) }
    }

    @Test("gamma and observation weights follow Optuna's defaults")
    func defaults() {
        let configuration = TPEConfiguration()
        #expect([1, 9, 10, 11, 50, 100, 250, 1000].map(configuration.goodCount(of:)) == [1, 1, 1, 2, 5, 10, 25, 25])
        #expect(TPEConfiguration.observationWeights(3) == [1, 1, 1])
        let weights = TPEConfiguration.observationWeights(30)
        #expect(weights.count == 30)
        #expect(abs(weights[0] - 1.0 / 30) < 1e-12)
        #expect(weights[4] == 1 && weights[29] == 1)
        #expect(weights[0] < weights[1] && weights[1] < weights[2])
    }
}
