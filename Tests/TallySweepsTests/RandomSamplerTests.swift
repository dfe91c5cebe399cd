import Foundation
import Testing
@testable import TallySweeps

@Suite("Random sampler")
struct RandomSamplerTests {
    static func draw(_ space: SearchSpace, count: Int, seed: UInt64) -> [Params] {
        var sampler = RandomSampler(space: space, seed: seed)
        var history: [CompletedTrial] = []
        return (0..<count).map { _ in
            let params = sampler.next(history: history, pending: [])!.params
            history.append(.completed(params, value: 0))
            return params
        }
    }

    @Test("values stay within bounds and on their steps")
    func bounds() throws {
        let space = try SearchSpace([
            .float("x", low: -2, high: 3),
            .float("lr", low: 1e-5, high: 1e-1, log: true),
            .int("layers", low: 2, high: 11, step: 3),   // 2 5 8 11
            .int("units", low: 8, high: 512, log: true),
            .float("dropout", low: 0.1, high: 0.5, step: 0.1),
            .categorical("opt", ["adam", 1, 2.5, false]),
        ], fixed: ["seed": 7])
        let points = Self.draw(space, count: 2000, seed: 11)
        for p in points {
            for parameter in space.parameters {
                #expect(parameter.domain.contains(p[parameter.name]!), "\(parameter.name) = \(p[parameter.name]!)")
            }
            #expect(p["seed"] == 7)
        }
        #expect(Set(points.map { $0["layers"]! }) == [2, 5, 8, 11])
        #expect(Set(points.map { $0["dropout"]! }) == [0.1, 0.2, 0.3, 0.4, 0.5])
        #expect(Set(points.map { $0["opt"]! }).count == 4)
        let units = points.map { $0["units"]!.intValue! }
        #expect(units.min() == 8)
        #expect(units.max() == 512)
    }

    @Test("uniform floats: mean and quartiles match the uniform distribution")
    func uniform() throws {
        let space = try SearchSpace([.float("x", low: 0, high: 10)])
        let xs = Self.draw(space, count: 4000, seed: 3).map { $0["x"]!.doubleValue! }
        let mean = xs.reduce(0, +) / Double(xs.count)
        #expect(abs(mean - 5) < 0.15)   // σ of the mean ≈ 0.046
        let belowQuarter = Double(xs.count { $0 < 2.5 }) / Double(xs.count)
        #expect(abs(belowQuarter - 0.25) < 0.03)
    }

    @Test("log scales are log-uniform: each decade gets an equal share", arguments: [UInt64(1), 2, 3])
    func logScale(seed: UInt64) throws {
        let space = try SearchSpace([.float("lr", low: 1e-6, high: 1e-2, log: true)])
        let lrs = Self.draw(space, count: 4000, seed: seed).map { $0["lr"]!.doubleValue! }
        for decade in -6 ..< -2 {
            let share = Double(lrs.count { $0 >= pow(10, Double(decade)) && $0 < pow(10, Double(decade + 1)) }) / 4000
            #expect(abs(share - 0.25) < 0.03, "decade 1e\(decade): \(share)")
        }
        // On a linear scale the top decade would hold 99.99%; here the median is near 1e-4.
        let median = lrs.sorted()[2000]
        #expect(median > 5e-5 && median < 2e-4)
    }

    @Test("log ints: small values are much more frequent than on a linear scale")
    func logInt() throws {
        let space = try SearchSpace([.int("units", low: 1, high: 1000, log: true)])
        let units = Self.draw(space, count: 3000, seed: 5).map { $0["units"]!.intValue! }
        let belowTen = Double(units.count { $0 < 10 }) / 3000
        // log-uniform over [0.5, 1000.5]: P(x < 9.5) = ln(19)/ln(2001) ≈ 0.387
        #expect(abs(belowTen - 0.387) < 0.04)
    }

    @Test("the same seed gives the same trials, another seed others")
    func reproducible() throws {
        let space = try SearchSpace([.float("x", low: 0, high: 1), .categorical("c", ["a", "b", "c"]), .int("n", low: 0, high: 100)])
        #expect(Self.draw(space, count: 50, seed: 42) == Self.draw(space, count: 50, seed: 42))
        #expect(Self.draw(space, count: 50, seed: 42) != Self.draw(space, count: 50, seed: 43))
    }
}
