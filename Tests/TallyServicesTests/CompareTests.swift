import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices

@Suite("Tracking: comparison")
struct CompareTests {
    @Test("params side by side with differences; best and worst per metric by goal")
    func compare() async throws {
        let h = try TrackingHarness()
        var create = CreateExperimentRequest()
        create.name = "cmp"
        create.metricGoals = ["score": .minimize]
        let experiment = try await h.client.createExperiment(create)
        let a = try await h.run(in: experiment, name: "a", params: ["lr": .double(0.1), "opt": .string("sgd")])
        let b = try await h.run(in: experiment, name: "b", params: ["lr": .double(0.01), "opt": .string("sgd")])
        let c = try await h.run(in: experiment, name: "c", params: ["lr": .double(0.1), "opt": .string("sgd"), "warmup": .int(5)])
        _ = try await h.log(a, [("val_loss", 0.5, 0), ("acc", 0.7, 0), ("score", 3, 0)])
        _ = try await h.log(b, [("val_loss", 0.3, 0), ("acc", 0.9, 0), ("score", 1, 0)])
        _ = try await h.log(c, [("val_loss", 0.9, 0), ("acc", 0.6, 0), ("score", 2, 0), ("acc", .nan, 1)])

        var request = CompareRunsRequest()
        request.experimentIds = [experiment.id]
        let result = try await h.client.compareRuns(request)
        #expect(result.runs.map(\.name) == ["a", "b", "c"])
        let params = Dictionary(uniqueKeysWithValues: result.params.map { ($0.key, $0) })
        #expect(params["lr"]?.differs == true)
        #expect(params["opt"]?.differs == false)
        #expect(params["warmup"]?.differs == true)
        #expect(params["warmup"]?.values.map { $0.kind == nil } == [true, true, false])
        let metrics = Dictionary(uniqueKeysWithValues: result.metrics.map { ($0.key, $0) })
        #expect(metrics["val_loss"]?.goal == .minimize)
        #expect(metrics["val_loss"]?.bestRunId == b.id)
        #expect(metrics["val_loss"]?.worstRunId == c.id)
        #expect(metrics["acc"]?.goal == .maximize)
        #expect(metrics["acc"]?.bestRunId == b.id)
        #expect(metrics["acc"]?.runCount == 2)  // c's last acc is NaN
        #expect(metrics["score"]?.goal == .minimize)  // declared on the experiment
        #expect(metrics["score"]?.bestRunId == b.id && metrics["score"]?.worstRunId == a.id)

        var explicit = CompareRunsRequest()
        explicit.runIds = [c.id, a.id]
        #expect(try await h.client.compareRuns(explicit).runs.map(\.name) == ["c", "a"])
        #expect(await statusCode { _ = try await h.client.compareRuns(CompareRunsRequest()) } == .invalidArgument)
        explicit.runIds = ["ffffffffffffffff"]
        #expect(await statusCode { _ = try await h.client.compareRuns(explicit) } == .notFound)
    }
}
