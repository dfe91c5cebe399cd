import Foundation
import TallyStore
import Testing

@Suite("Store engines: a run's writes")
struct EngineRunWriteTests {
    @Test("writes apply in order, each with its outcome", arguments: Engine.available)
    func outcomes(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let experiment = try await f.store.createExperiment(NewExperiment(name: "writes"))
            let id = "00000000000000a1"
            let batch = MetricPointBatch(runID: id, keys: ["loss"], keyIndex: [0], values: [0.5], steps: [1], timestampsMs: [10], receivedAtMs: 11)
            let (outcomes, refusal) = try await f.store.applyRunWrites([
                .start(NewRun(experimentID: experiment.id, name: "w", id: id)),
                .writerContact(runID: id, contactMs: 1),
                .params(runID: id, params: ["lr": .double(0.1), "n": .int(3)]),
                .tags(runID: id, set: ["t": "1"], remove: []),
                .metrics(batch),
                .end(runID: id, state: .completed, error: ""),
            ], maxTags: 10)
            #expect(refusal == nil)
            #expect(outcomes.count == 6)
            guard outcomes.count == 6 else { return }
            guard case .run(let started) = outcomes[0], case .writer(.recorded) = outcomes[1], case .params(stored: 2) = outcomes[2],
                  case .run(let tagged) = outcomes[3], case .metrics(let points) = outcomes[4], case .run(let ended) = outcomes[5] else {
                Issue.record("outcomes: \(outcomes)")
                return
            }
            #expect(started.id == id && started.name == "w" && started.state == .running)
            #expect(tagged.tags == ["t": "1"] && tagged.params == ["lr": .double(0.1), "n": .int(3)])
            #expect(points.values == [0.5] && points.steps == [1] && !points.duplicate)
            #expect(ended.state == .completed)
            #expect(ended.lastContactMs == started.startedAtMs)
            #expect(ended.metrics.map(\.key) == ["loss"])
            #expect(try await f.store.run(id: id) == ended)

            // Delivered again: the start answers the run, the same params store nothing, the same end is accepted.
            let (again, none) = try await f.store.applyRunWrites([
                .start(NewRun(experimentID: experiment.id, id: id)),
                .params(runID: id, params: ["lr": .double(0.1)]),
                .end(runID: id, state: .completed, error: ""),
            ], maxTags: 10)
            #expect(none == nil && again.count == 3)
            if case .params(stored: let stored) = again[1] { #expect(stored == 0) } else { Issue.record("params") }
            if case .run(let run) = again[2] { #expect(run == ended) } else { Issue.record("end") }
        }
    }

    @Test("the first refused write stops the others; the ones before it commit, it leaves nothing", arguments: Engine.available)
    func refusal(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let experiment = try await f.store.createExperiment(NewExperiment(name: "refusal"))
            let id = "00000000000000b1"
            let (outcomes, refusal) = try await f.store.applyRunWrites([
                .start(NewRun(experimentID: experiment.id, params: ["lr": .int(1)], id: id)),
                .tags(runID: id, set: ["a": "1"], remove: []),
                // Stores "b" then meets the conflicting "lr": the whole write is rolled back.
                .params(runID: id, params: ["b": .int(2), "lr": .int(5)]),
                .tags(runID: id, set: ["after": "1"], remove: []),
                .end(runID: id, state: .completed, error: ""),
            ], maxTags: 10)
            #expect(outcomes.count == 2)
            #expect(refusal?.code == .failedPrecondition)
            #expect(refusal?.field == "lr")
            let run = try await f.store.run(id: id)
            #expect(run.tags == ["a": "1"])
            #expect(run.params == ["lr": .int(1)])
            #expect(run.state == .running)

            // Tags over the limit: the write is refused whole, and a later one is not applied.
            let (more, overLimit) = try await f.store.applyRunWrites([
                .tags(runID: id, set: ["b": "2"], remove: ["a"]),
                .tags(runID: id, set: ["c": "3", "d": "4"], remove: []),
                .end(runID: id, state: .failed, error: "x"),
            ], maxTags: 2)
            #expect(more.count == 1)
            #expect(overLimit?.code == .invalidArgument)
            #expect(overLimit?.message == "a run holds at most 2 tags; this would make 3")
            #expect(try await f.store.run(id: id).tags == ["b": "2"])
            #expect(try await f.store.run(id: id).state == .running)

            // Params to an ended run, and a write to a missing run.
            _ = try await f.store.endRun(id: id, state: .completed, error: "")
            let (none, ended) = try await f.store.applyRunWrites([.params(runID: id, params: ["late": .int(1)])], maxTags: 10)
            #expect(none.isEmpty && ended?.code == .failedPrecondition)
            let (_, missing) = try await f.store.applyRunWrites([.resume(runID: "00000000000000ff")], maxTags: 10)
            #expect(missing?.code == .notFound)
            #expect(missing?.message == "run 00000000000000ff not found")
            let (_, noExperiment) = try await f.store.applyRunWrites([.start(NewRun(experimentName: "none", id: "00000000000000fe"))], maxTags: 10)
            #expect(noExperiment?.code == .notFound)
            // An end otherwise than it ended, then a resume: the resume comes after the refusal and is not applied.
            let (_, otherwise) = try await f.store.applyRunWrites([.end(runID: id, state: .killed, error: ""), .resume(runID: id)], maxTags: 10)
            #expect(otherwise?.code == .failedPrecondition)
            #expect(try await f.store.run(id: id).state == .completed)
            #expect(try await f.store.applyRunWrites([], maxTags: 10).outcomes.isEmpty)
        }
    }

    @Test("a writer's contact revives a crashed run in the writes' transaction", arguments: Engine.available)
    func writerContact(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await f.store.startRun(NewRun(experimentName: "contact", createExperiment: true))
            #expect(try await f.store.markCrashed([(id: run.id, lastContactMs: run.startedAtMs)]) == [run.id])
            let (outcomes, refusal) = try await f.store.applyRunWrites([
                .writerContact(runID: run.id, contactMs: run.startedAtMs + 5),
                .writerContact(runID: "00000000000000aa", contactMs: 1),
                .resume(runID: run.id),
            ], maxTags: 10)
            #expect(refusal == nil && outcomes.count == 3)
            guard outcomes.count == 3 else { return }
            if case .writer(.revived(let revived)) = outcomes[0] {
                #expect(revived.state == .running && revived.lastContactMs == run.startedAtMs + 5)
            } else {
                Issue.record("revived: \(outcomes[0])")
            }
            guard case .writer(.missing) = outcomes[1] else { Issue.record("missing"); return }
        }
    }
}
