import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices

@Suite("Tracking: runs and params")
struct RunTests {
    @Test("a run starts running, ends once, and derives its times")
    func lifecycle() async throws {
        let h = try TrackingHarness()
        let experiment = try await h.experiment()
        let run = try await h.run(in: experiment, name: "trial-1", params: ["lr": .double(3e-4), "batch": .int(128)])
        #expect(run.status == .running)
        #expect(run.completedAtMs == 0)
        #expect(run.params == ["lr": .double(3e-4), "batch": .int(128)])
        try await Task.sleep(for: .milliseconds(20))
        let ended = try await h.end(run, .failed, error: "CUDA out of memory")
        #expect(ended.status == .failed)
        #expect(ended.error == "CUDA out of memory")
        #expect(ended.completedAtMs >= ended.startedAtMs + 20)
        #expect(ended.durationMs == ended.completedAtMs - ended.startedAtMs)
        let again = await #expect(throws: RPCError.self) { _ = try await h.end(run) }
        #expect(again?.code == .failedPrecondition)
        #expect(again?.message.contains("failed") == true)
        var end = EndRunRequest()
        end.runId = run.id
        end.status = .running
        #expect(await statusCode { _ = try await h.client.endRun(end) } == .invalidArgument)
    }

    @Test("a run's note is set, shown with the run, cleared; too long a note is refused and a missing run is NOT_FOUND")
    func note() async throws {
        let h = try TrackingHarness()
        let experiment = try await h.experiment()
        let run = try await h.run(in: experiment, name: "noted")
        #expect(run.note.isEmpty)
        var request = SetRunNoteRequest()
        request.runId = run.id
        request.note = "baseline with the old augmentation\nsecond line"
        #expect(try await h.client.setRunNote(request).note == request.note)
        var get = GetRunRequest()
        get.runId = run.id
        #expect(try await h.client.getRun(get).note == request.note)
        _ = try await h.end(run)
        request.note = ""
        #expect(try await h.client.setRunNote(request).note.isEmpty)  // also once ended
        request.note = String(repeating: "x", count: 65_537)
        #expect(await statusCode { _ = try await h.client.setRunNote(request) } == .invalidArgument)
        request.runId = "00000000000000ff"
        request.note = "x"
        #expect(await statusCode { _ = try await h.client.setRunNote(request) } == .notFound)
    }

    @Test("start a run by experiment name, creating it when asked")
    func byName() async throws {
        let h = try TrackingHarness()
        var request = StartRunRequest()
        request.experiment = .name("fresh")
        #expect(await statusCode { _ = try await h.client.startRun(request) } == .notFound)
        request.createExperiment = true
        let run = try await h.client.startRun(request)
        var get = GetExperimentRequest()
        get.experiment = .name("fresh")
        let experiment = try await h.client.getExperiment(get)
        #expect(run.experimentId == experiment.id)
        #expect(experiment.runCount == 1)
        #expect(try await h.client.startRun(request).experimentId == experiment.id)
    }

    @Test("lineage: a parent in another experiment is allowed, a missing one is not; children are listed")
    func lineage() async throws {
        let h = try TrackingHarness()
        let a = try await h.experiment("a")
        let b = try await h.experiment("b")
        let parent = try await h.run(in: a)
        let child1 = try await h.run(in: a, parent: parent.id)
        let child2 = try await h.run(in: b, parent: parent.id)
        _ = try await h.run(in: b, parent: child2.id)
        #expect(child1.parentRunId == parent.id)
        #expect(await statusCode { _ = try await h.run(in: a, parent: "ffffffffffffffff") } == .notFound)
        var list = ListRunsRequest()
        list.parentRunId = parent.id
        let children = try await h.client.listRuns(list)
        #expect(Set(children.runs.map(\.id)) == [child1.id, child2.id])
        var get = GetRunRequest()
        get.runId = parent.id
        #expect(try await h.client.getRun(get).childCount == 2)

        // Deleting the parent removes its whole tree (forced: they are running).
        var delete = DeleteRunRequest()
        delete.runId = parent.id
        #expect(await statusCode { _ = try await h.client.deleteRun(delete) } == .failedPrecondition)
        delete.force = true
        #expect(try await h.client.deleteRun(delete).deletedRuns == 4)
        #expect(try await h.client.listRuns(ListRunsRequest()).totalCount == 0)
    }

    @Test("params are typed and immutable; re-logging the same value is fine")
    func params() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        var log = LogParamsRequest()
        log.runId = run.id
        log.params = ["lr": .double(0.01), "epochs": .int(10), "optimizer": .string("adam"), "amp": .bool(true), "nan": .double(.nan)]
        #expect(try await h.client.logParams(log).stored == 5)
        #expect(try await h.client.logParams(log).stored == 0)
        var get = GetRunRequest()
        get.runId = run.id
        let stored = try await h.client.getRun(get).params
        #expect(stored["lr"] == .double(0.01))
        #expect(stored["epochs"] == .int(10))  // an int stays an int
        #expect(stored["optimizer"] == .string("adam"))
        #expect(stored["amp"] == .bool(true))
        if case .doubleValue(let value)? = stored["nan"]?.kind { #expect(value.isNaN) } else { Issue.record("nan param lost") }

        log.params = ["lr": .double(0.02)]
        let error = await #expect(throws: RPCError.self) { _ = try await h.client.logParams(log) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("\"lr\"") == true)
        log.params = ["epochs": .double(10)]  // int 10 and double 10 are different values
        #expect(await statusCode { _ = try await h.client.logParams(log) } == .failedPrecondition)
    }

    @Test("param keys and values are bounded", arguments: [
        ("", "x"), (String(repeating: "k", count: 251), "x"), ("has\ttab", "x"), ("ok", String(repeating: "v", count: 6001)),
    ])
    func paramLimits(key: String, value: String) async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        var log = LogParamsRequest()
        log.runId = run.id
        log.params = [key: .string(value)]
        #expect(await statusCode { _ = try await h.client.logParams(log) } == .invalidArgument)
        log.params = ["k": ParamValue()]
        #expect(await statusCode { _ = try await h.client.logParams(log) } == .invalidArgument)
    }

    @Test("params and metrics are refused on an ended run")
    func endedRun() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        _ = try await h.end(run)
        var log = LogParamsRequest()
        log.runId = run.id
        log.params = ["a": .int(1)]
        #expect(await statusCode { _ = try await h.client.logParams(log) } == .failedPrecondition)
        #expect(await statusCode { _ = try await h.log(run, [("loss", 1, nil)]) } == .failedPrecondition)
    }
}

@Suite("Tracking: run tags")
struct RunTagTests {
    @Test("tags are set, overwritten and removed; the limit leaves the run unchanged")
    func tags() async throws {
        let h = try TrackingHarness(limits: { var l = TrackingLimits(); l.maxTags = 3; return l }())
        let run = try await h.run(in: try await h.experiment())
        var request = SetRunTagsRequest()
        request.runId = run.id
        request.tags = ["stage": "dev", "baseline": ""]
        #expect(try await h.client.setRunTags(request).tags == ["stage": "dev", "baseline": ""])
        request.tags = ["stage": "prod"]
        request.removeKeys = ["baseline"]
        #expect(try await h.client.setRunTags(request).tags == ["stage": "prod"])
        request.tags = ["a": "1", "b": "2", "c": "3"]
        request.removeKeys = []
        #expect(await statusCode { _ = try await h.client.setRunTags(request) } == .invalidArgument)
        var get = GetRunRequest()
        get.runId = run.id
        #expect(try await h.client.getRun(get).tags == ["stage": "prod"])
        request.runId = "ffffffffffffffff"
        request.tags = [:]
        #expect(await statusCode { _ = try await h.client.setRunTags(request) } == .notFound)
    }
}
