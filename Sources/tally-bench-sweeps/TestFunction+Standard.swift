import Foundation
import TallySweeps

extension TestFunction {
    /// Branin–Hoo on [−5, 10] × [0, 15]; minimum 0.397887 at three points.
    static func branin(budget: Int) throws -> TestFunction {
        let space = try SearchSpace([
            .float("x1", low: -5, high: 10),
            .float("x2", low: 0, high: 15),
        ])
        let f: @Sendable (Params) -> Double = { p in
            let x1 = p["x1"]!.doubleValue!, x2 = p["x2"]!.doubleValue!
            let b = 5.1 / (4 * Double.pi * Double.pi), c = 5 / Double.pi, t = 1 / (8 * Double.pi)
            let a = x2 - b * x1 * x1 + c * x1 - 6
            return a * a + 10 * (1 - t) * cos(x1) + 10
        }
        return TestFunction(name: "Branin (2-D)", space: space, budget: budget, knownOptimum: 0.397887,
                            observe: { p, _, _ in f(p) }, trueValue: f)
    }

    /// Hartmann-6 on [0, 1]^6; minimum −3.32237.
    static func hartmann6(budget: Int) throws -> TestFunction {
        let space = try SearchSpace((1...6).map { .float("x\($0)", low: 0, high: 1) })
        let alpha = [1.0, 1.2, 3.0, 3.2]
        let a: [[Double]] = [
            [10, 3, 17, 3.5, 1.7, 8],
            [0.05, 10, 17, 0.1, 8, 14],
            [3, 3.5, 1.7, 10, 17, 8],
            [17, 8, 0.05, 10, 0.1, 14],
        ]
        let p: [[Double]] = [
            [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
            [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
            [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
            [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
        ]
        let f: @Sendable (Params) -> Double = { params in
            let x = (1...6).map { params["x\($0)"]!.doubleValue! }
            var total = 0.0
            for i in 0..<4 {
                var inner = 0.0
                for j in 0..<6 { inner += a[i][j] * (x[j] - p[i][j]) * (x[j] - p[i][j]) }
                total += alpha[i] * exp(-inner)
            }
            return -total
        }
        return TestFunction(name: "Hartmann-6", space: space, budget: budget, knownOptimum: -3.32237,
                            observe: { p, _, _ in f(p) }, trueValue: f)
    }

    /// A noisy quadratic over a float, a log-scaled learning rate, an int and a categorical:
    /// `(x − 1)² + (log10 lr + 3)² / 2 + 0.1 (layers − 6)² + offset(optimizer)` plus Gaussian
    /// noise with σ = 0.1; the noise-free minimum is 0 (x = 1, lr = 1e-3, layers = 6, adam).
    static func noisyQuadratic(budget: Int) throws -> TestFunction {
        let space = try SearchSpace([
            .float("x", low: -5, high: 5),
            .float("lr", low: 1e-5, high: 1, log: true),
            .int("layers", low: 1, high: 16),
            .categorical("optimizer", ["sgd", "momentum", "adam", "rmsprop"]),
        ], fixed: ["epochs": 10])
        let offsets: [String: Double] = ["sgd": 2, "momentum": 1, "adam": 0, "rmsprop": 0.5]
        let f: @Sendable (Params) -> Double = { p in
            let x = p["x"]!.doubleValue!, lr = p["lr"]!.doubleValue!
            let layers = Double(p["layers"]!.intValue!)
            let l = log10(lr) + 3
            return (x - 1) * (x - 1) + l * l / 2 + 0.1 * (layers - 6) * (layers - 6)
                + offsets[p["optimizer"]!.stringValue!]!
        }
        return TestFunction(name: "Noisy quadratic + categorical (4-D)", space: space, budget: budget, knownOptimum: 0,
                            observe: { p, seed, trial in f(p) + 0.1 * BenchRandom.normal(seed: seed, index: trial) },
                            trueValue: f)
    }
}
