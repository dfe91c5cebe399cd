import Testing
@testable import TallySweeps

@Suite("Grid sampler")
struct GridSamplerTests {
    static func space() throws -> SearchSpace {
        try SearchSpace([
            .categorical("optimizer", ["adam", "sgd", "rmsprop"]),
            .int("layers", low: 1, high: 4),
            .float("dropout", low: 0, high: 0.2, step: 0.1),
            .categorical("bn", [true, false]),
        ], fixed: ["epochs": 5])
    }

    @Test("hands out every point once, in nested-loop order, then nil")
    func complete() throws {
        let space = try Self.space()
        var sampler = try GridSampler(space: space)
        #expect(sampler.totalCombinations == 72)
        var seen: [SampledTrial] = []
        while let trial = sampler.next(history: [], pending: seen.map(\.params)) { seen.append(trial) }
        try #require(seen.count == 72)
        #expect(Set(seen.map(\.params)).count == 72)
        #expect(seen.allSatisfy { $0.methodUsed == .grid && $0.params["epochs"] == 5 })
        #expect(seen.map(\.gridIndex) == Array(0..<72))
        #expect(seen[0].params == ["optimizer": "adam", "layers": 1, "dropout": 0.0, "bn": true, "epochs": 5])
        #expect(seen[1].params["bn"] == false)
        #expect(seen[2].params["dropout"] == 0.1)
        #expect(seen[71].params == ["optimizer": "rmsprop", "layers": 4, "dropout": 0.2, "bn": false, "epochs": 5])
        var expected = Set<Params>()
        for o in ["adam", "sgd", "rmsprop"] as [ParamValue] {
            for l in 1...4 { for d in [0.0, 0.1, 0.2] { for b in [true, false] {
                expected.insert(["optimizer": o, "layers": .int(l), "dropout": .double(d), "bn": .bool(b), "epochs": 5])
            } } }
        }
        #expect(Set(seen.map(\.params)) == expected)
        #expect(sampler.next(history: [], pending: []) == nil)
    }

    @Test("skips points already in the history or pending, so a recreated sampler does not repeat them")
    func resume() throws {
        let space = try SearchSpace([.int("a", low: 0, high: 4)])
        var sampler = try GridSampler(space: space)
        let history = [CompletedTrial.completed(["a": 0], value: 1), .failed(["a": 2])]
        let first = sampler.next(history: history, pending: [["a": 1]])
        #expect(first?.params == ["a": 3])
        #expect(sampler.next(history: history, pending: [["a": 1], ["a": 3]])?.params == ["a": 4])
        #expect(sampler.next(history: history, pending: [["a": 1], ["a": 3], ["a": 4]]) == nil)
        #expect(sampler.handedOutCount == 2)
    }

    @Test("many concurrent workers through the controller get every point exactly once", arguments: [1, 8, 64])
    func concurrent(workers: Int) async throws {
        let space = try Self.space()
        let controller = SweepController(sampler: try space.makeSampler(.grid, objective: .minimize, seed: 0))
        let points = await withTaskGroup(of: [Params].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var mine: [Params] = []
                    while let (id, trial) = await controller.nextTrial() {
                        mine.append(trial.params)
                        if id % 3 == 0 { await Task.yield() }
                        await controller.report(id: id, state: worker % 5 == 0 ? .failed : .completed, value: Double(id))
                    }
                    return mine
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(points.count == 72)
        #expect(Set(points).count == 72)
        #expect(await controller.history.count == 72)
        #expect(await controller.pending.isEmpty)
    }
}
