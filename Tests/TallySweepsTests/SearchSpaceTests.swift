import Testing
@testable import TallySweeps

@Suite("Search space")
struct SearchSpaceTests {
    @Test(
        "invalid definitions are refused with a message naming the parameter",
        arguments: [
            (ParameterSpec.float("lr", low: 1, high: 0.1), "lr", "low"),
            (.int("layers", low: 8, high: 2), "layers", "low"),
            (.categorical("optimizer", []), "optimizer", "no values"),
            (.categorical("optimizer", ["adam", "adam"]), "optimizer", "repeated"),
            (.float("lr", low: 0, high: 1, log: true), "lr", "low > 0"),
            (.float("lr", low: -1, high: 1, log: true), "lr", "low > 0"),
            (.int("units", low: 0, high: 64, log: true), "units", "low > 0"),
            (.int("units", low: 1, high: 64, step: 2, log: true), "units", "step 1"),
            (.int("units", low: 1, high: 64, step: 0), "units", "step"),
            (.float("dropout", low: 0, high: 1, step: -0.1), "dropout", "step"),
            (.float("lr", low: 1e-4, high: 1, log: true, step: 0.1), "lr", "step"),
            (.float("x", low: 0, high: .infinity), "x", "finite"),
            // Int64.max + 1 values: counting them overflowed (a trap in the daemon).
            (.int("n", low: 0, high: Int.max), "n", "range too wide"),
            (.int("n", low: -1, high: Int.max - 1), "n", "range too wide"),
        ]
    )
    func invalid(spec: ParameterSpec, name: String, fragment: String) {
        #expect {
            _ = try SearchSpace([spec])
        } throws: { error in
            guard let error = error as? SweepError else { return false }
            return error.code == .invalidSearchSpace && error.message.contains("'\(name)'") && error.message.contains(fragment)
        }
    }

    @Test("duplicated names and names both searched and fixed are refused")
    func names() {
        #expect(throws: SweepError.self) { try SearchSpace([.int("a", low: 0, high: 1), .int("a", low: 0, high: 1)]) }
        #expect(throws: SweepError.self) { try SearchSpace([.int("a", low: 0, high: 1)], fixed: ["a": 3]) }
        #expect(throws: SweepError.self) { try SearchSpace([.int("", low: 0, high: 1)]) }
    }

    @Test("a grid over a continuous float is refused, naming it")
    func gridWithContinuous() throws {
        let space = try SearchSpace([.int("layers", low: 1, high: 3), .float("lr", low: 1e-4, high: 1e-1, log: true)])
        #expect {
            _ = try space.makeSampler(.grid, objective: .minimize, seed: 0)
        } throws: { error in
            let error = error as? SweepError
            return error?.code == .continuousParameterInGrid && error!.message.contains("'lr'")
        }
        #expect(throws: SweepError.self) { try space.totalCombinations() }
    }

    @Test("totalCombinations is the product of the value counts")
    func combinations() throws {
        let space = try SearchSpace([
            .categorical("optimizer", ["adam", "sgd", 3, 0.5, true]),
            .int("layers", low: 1, high: 10, step: 3),     // 1 4 7 10
            .int("units", low: 16, high: 20, log: true),   // 16…20
            .float("dropout", low: 0, high: 0.5, step: 0.1), // 0 … 0.5
        ])
        #expect(try space.totalCombinations() == 5 * 4 * 5 * 6)
        #expect(try SearchSpace([]).totalCombinations() == 1)
        #expect(try SearchSpace([.int("n", low: 0, high: 9, step: 4)]).totalCombinations() == 3) // 0 4 8
    }

    @Test("float step values are on the grid and rounded")
    func floatStep() throws {
        let domain = ParameterDomain.float(low: 0, high: 1, step: 0.1)
        #expect(domain.valueCount == 11)
        #expect((0..<11).map { domain.value(at: $0) } == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0].map(ParamValue.double))
        #expect(domain.contains(.double(0.3)))
        #expect(!domain.contains(.double(0.35)))
        #expect(!domain.contains(.int(0)))
    }
}
