import TallyProto
@testable import TallyServices
import Testing

/// The defaults a sweep's configuration gets (docs/sweeps.md, "Configuration").
@Suite("Sweeps: configuration defaults")
struct SweepDefaultsTests {
    @Test("random and bayesian sweeps with neither max_trials nor a time limit run 10 trials", arguments: [SweepMethod.random, .bayesian])
    func tenTrials(method: SweepMethod) throws {
        let plan = try SweepPlan(sweepConfig([floatParam("x", 0, 1)], method: method))
        #expect(plan.maxTrials == 10)
        #expect(plan.config.maxTrials == 10)
    }

    @Test("a time limit alone bounds the sweep by time, with no count")
    func timeLimitAlone() throws {
        var config = sweepConfig([floatParam("x", 0, 1)], method: .random)
        config.timeLimitMs = 60_000
        let plan = try SweepPlan(config)
        #expect(plan.maxTrials == nil)
    }

    @Test("a count given is kept; a grid defaults to its size")
    func givenAndGrid() throws {
        #expect(try SweepPlan(sweepConfig([floatParam("x", 0, 1)], method: .random, maxTrials: 3)).maxTrials == 3)
        #expect(try SweepPlan(sweepConfig([intParam("n", 1, 4)], method: .grid)).maxTrials == 4)
    }
}
