import Foundation
import TallyStore
import Testing

@Suite("Store engines: runs")
struct EngineRunTests {
    static let everyType: [String: ParamValueRecord] = [
        "s": .string("x"), "empty": .string(""), "i": .int(-3), "max": .int(.max), "min": .int(.min), "d": .double(0.25),
        "inf": .double(.infinity), "ninf": .double(-.infinity), "big": .double(1e308), "t": .bool(true), "f": .bool(false),
        "unicode": .string("é ✓ \u{1F600}"),
    ]

    @Test("a start returns the run as stored: params of every type, tags, parent, readable names", arguments: Engine.available)
    func startReturnsStored(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let parent = try await f.store.startRun(NewRun(experimentName: "as-stored", createExperiment: true, experimentCreatedBy: "ada"))
            #expect(try await f.store.experiment(name: "as-stored").createdBy == "ada")
            var params = Self.everyType
            params["nan"] = .double(.nan)
            let started = try await f.store.startRun(NewRun(
                experimentName: "as-stored", createExperiment: true, name: "child", tags: ["a": "1", "b": ""], parentRunID: parent.id, params: params
            ))
            #expect(started.state == .running && started.completedAtMs == 0 && started.error == "" && started.lastContactMs == 0)
            #expect(started.parentID == parent.id && started.experimentID == parent.experimentID && started.experimentPK == parent.experimentPK)
            var stored = try await f.store.run(id: started.id)
            if case .double(let value) = stored.params["nan"] { #expect(value.isNaN) } else { Issue.record("nan: \(String(describing: stored.params["nan"]))") }
            stored.params["nan"] = nil
            var returned = started
            returned.params["nan"] = nil
            #expect(returned == stored)
            #expect(stored.params["max"] == .int(Int64.max) && stored.params["min"] == .int(Int64.min))
            #expect(try await f.store.run(id: parent.id).childCount == 1)
            #expect(try await f.store.experiment(name: "as-stored").runCount == 2)

            let unnamed = try await f.store.startRun(NewRun(experimentName: "as-stored", id: "00112233445566ff"))
            #expect(unnamed.name == RunNames.make(id: "00112233445566ff"))
            #expect(try await f.store.run(id: unnamed.id).name == unnamed.name)
        }
    }

    @Test("starts refuse missing experiments and parents; a client id is started once", arguments: Engine.available)
    func startRefusals(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let missing = await storeRefusal { try await f.store.startRun(NewRun(experimentName: "none")) }
            #expect(missing?.code == .notFound)
            #expect(missing?.message == "experiment named \"none\" not found")
            let missingID = await storeRefusal { try await f.store.startRun(NewRun(experimentID: "00000000000000aa")) }
            #expect(missingID?.code == .notFound)
            #expect(missingID?.field == "experiment")
            let neither = await storeRefusal { try await f.store.startRun(NewRun()) }
            #expect(neither?.code == .invalidArgument)
            let a = try await f.store.createExperiment(NewExperiment(name: "a"))
            let b = try await f.store.createExperiment(NewExperiment(name: "b"))
            let noParent = await storeRefusal { try await f.store.startRun(NewRun(experimentID: a.id, parentRunID: "00000000000000bb")) }
            #expect(noParent?.code == .notFound)
            #expect(noParent?.message == "run 00000000000000bb not found")
            #expect(noParent?.field == "parent_run_id")
            #expect(try await f.store.listRuns(experimentIDs: [], parentRunID: nil, pageSize: 0, pageToken: "").totalCount == 0)

            let first = try await f.store.startRun(NewRun(experimentID: a.id, name: "one", tags: ["k": "v"], id: "0000000000000001"))
            _ = try await f.store.endRun(id: first.id, state: .completed, error: "")
            let again = try await f.store.startRun(NewRun(experimentID: a.id, name: "other", id: "0000000000000001"))
            #expect(again.name == "one" && again.state == .completed && again.tags == ["k": "v"])
            #expect(again == (try await f.store.run(id: first.id)))
            let elsewhere = await storeRefusal { try await f.store.startRun(NewRun(experimentID: b.id, id: "0000000000000001")) }
            #expect(elsewhere?.code == .alreadyExists)
            #expect(elsewhere?.message == "run 0000000000000001 exists in another experiment")
            #expect(elsewhere?.field == "run_id")

            // The same client id started concurrently: one run.
            let store = f.store
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await store.startRun(NewRun(experimentID: a.id, id: "00000000000000cc")).pk }
                }
                return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
        }
    }

    @Test("ending, again, otherwise, and resuming", arguments: Engine.available)
    func lifecycle(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await f.store.startRun(NewRun(experimentName: "life", createExperiment: true))
            let failed = try await f.store.endRun(id: run.id, state: .failed, error: "boom")
            #expect(failed.state == .failed && failed.error == "boom" && failed.completedAtMs >= run.startedAtMs)
            try await Task.sleep(for: .milliseconds(3))
            #expect(try await f.store.endRun(id: run.id, state: .failed, error: "boom") == failed)
            let otherwise = await storeRefusal { try await f.store.endRun(id: run.id, state: .completed, error: "") }
            #expect(otherwise?.code == .failedPrecondition)
            #expect(otherwise?.message == "run \(run.id) has already ended (failed)")
            #expect(otherwise?.field == "run_id")
            let otherError = await storeRefusal { try await f.store.endRun(id: run.id, state: .failed, error: "other") }
            #expect(otherError?.code == .failedPrecondition)

            let resumed = try await f.store.resumeRun(id: run.id)
            #expect(resumed.state == .running && resumed.error == "" && resumed.completedAtMs == 0)
            #expect(try await f.store.resumeRun(id: run.id) == resumed)
            // The error is kept only for a failure.
            let completed = try await f.store.endRun(id: run.id, state: .completed, error: "ignored")
            #expect(completed.state == .completed && completed.error == "")
            #expect(try await f.store.endRun(id: run.id, state: .completed, error: "again ignored") == completed)
            let state = try await f.store.runState(id: run.id)
            #expect(state.pk == run.pk && state.state == .completed)
            _ = try await f.store.resumeRun(id: run.id)
            #expect(try await f.store.endRun(id: run.id, state: .killed, error: "").state == .killed)

            for call in [
                { _ = try await f.store.endRun(id: "00000000000000aa", state: .completed, error: "") },
                { _ = try await f.store.resumeRun(id: "00000000000000aa") },
                { _ = try await f.store.run(id: "00000000000000aa") },
                { _ = try await f.store.runState(id: "00000000000000aa") },
                { _ = try await f.store.setRunNote(id: "00000000000000aa", note: "x") },
                { _ = try await f.store.setRunTags(id: "00000000000000aa", set: [:], remove: [], maxTags: 10) },
                { _ = try await f.store.logParams(runID: "00000000000000aa", params: ["a": .int(1)]) },
                { _ = try await f.store.deleteRun(id: "00000000000000aa", force: true) },
            ] as [() async throws -> Void] {
                let error = await storeRefusal(call)
                #expect(error?.code == .notFound)
                #expect(error?.message == "run 00000000000000aa not found")
                #expect(error?.field == "run_id")
            }
        }
    }

    @Test("notes are set and cleared", arguments: Engine.available)
    func notes(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await f.store.startRun(NewRun(experimentName: "notes", createExperiment: true))
            #expect(run.note == "")
            #expect(try await f.store.setRunNote(id: run.id, note: "worth a look ✓").note == "worth a look ✓")
            #expect(try await f.store.run(id: run.id).note == "worth a look ✓")
            #expect(try await f.store.setRunNote(id: run.id, note: "").note == "")
        }
    }

    @Test("crashes, writer contacts and revivals", arguments: Engine.available)
    func crashesAndContacts(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let a = try await f.store.startRun(NewRun(experimentName: "crash", createExperiment: true))
            let b = try await f.store.startRun(NewRun(experimentName: "crash"))
            let ended = try await f.store.startRun(NewRun(experimentName: "crash"))
            _ = try await f.store.endRun(id: ended.id, state: .completed, error: "")
            #expect(try await f.store.runsWithWriters().isEmpty)

            guard case .missing = try await f.store.recordWriter(id: "00000000000000aa", contactMs: 5) else { Issue.record("missing"); return }
            // A contact never goes before the run's start.
            guard case .recorded = try await f.store.recordWriter(id: a.id, contactMs: a.startedAtMs - 5) else { Issue.record("recorded"); return }
            #expect(try await f.store.run(id: a.id).lastContactMs == a.startedAtMs)
            guard case .recorded = try await f.store.recordWriter(id: b.id, contactMs: b.startedAtMs + 100) else { Issue.record("recorded"); return }
            let writers = try await f.store.runsWithWriters()
            #expect(writers.map(\.id) == [a.id, b.id])
            #expect(writers.map(\.lastContactMs) == [a.startedAtMs, b.startedAtMs + 100])

            // Contacts never move back.
            try await f.store.recordContacts([(id: a.id, lastContactMs: a.startedAtMs + 50), (id: b.id, lastContactMs: b.startedAtMs + 10), (id: "00000000000000aa", lastContactMs: 9)])
            #expect(try await f.store.run(id: a.id).lastContactMs == a.startedAtMs + 50)
            #expect(try await f.store.run(id: b.id).lastContactMs == b.startedAtMs + 100)
            try await f.store.recordContacts([])

            let marked = try await f.store.markCrashed([
                (id: a.id, lastContactMs: a.startedAtMs + 70), (id: b.id, lastContactMs: 1), (id: ended.id, lastContactMs: 1), (id: "00000000000000aa", lastContactMs: 1),
            ])
            #expect(marked == [a.id, b.id])
            #expect(try await f.store.markCrashed([]) == [])
            let crashedA = try await f.store.run(id: a.id)
            #expect(crashedA.state == .crashed && crashedA.lastContactMs == a.startedAtMs + 70)
            #expect(try await f.store.run(id: b.id).lastContactMs == b.startedAtMs + 100)
            #expect(try await f.store.run(id: ended.id).state == .completed)
            #expect(try await f.store.markCrashed([(id: a.id, lastContactMs: 1)]) == [])
            #expect(try await f.store.runsWithWriters().isEmpty)

            guard case .revived(let revived) = try await f.store.recordWriter(id: a.id, contactMs: a.startedAtMs + 90) else { Issue.record("revived"); return }
            #expect(revived.state == .running && revived.lastContactMs == a.startedAtMs + 90)
            #expect(try await f.store.run(id: a.id) == revived)
            // A crashed run may still be ended, or take params.
            #expect(try await f.store.logParams(runID: b.id, params: ["p": .int(1)], requireRunning: true) == 1)
            #expect(try await f.store.endRun(id: b.id, state: .failed, error: "gone").state == .failed)
            #expect(try await f.store.runsWithWriters().map(\.id) == [a.id])
        }
    }

    @Test("tags are set, replaced and removed up to a limit", arguments: Engine.available)
    func tags(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await f.store.startRun(NewRun(experimentName: "tags", createExperiment: true, tags: ["a": "1", "b": "2"]))
            #expect(try await f.store.setRunTags(id: run.id, set: ["b": "3", "c": ""], remove: ["a", "none"], maxTags: 3).tags == ["b": "3", "c": ""])
            // Removing and setting one key: set wins.
            #expect(try await f.store.setRunTags(id: run.id, set: ["c": "x"], remove: ["c"], maxTags: 3).tags == ["b": "3", "c": "x"])
            #expect(try await f.store.setRunTags(id: run.id, set: ["d": "4"], remove: [], maxTags: 3).tags.count == 3)
            let over = await storeRefusal { try await f.store.setRunTags(id: run.id, set: ["e": "5", "f": "6"], remove: ["b"], maxTags: 3) }
            #expect(over?.code == .invalidArgument)
            #expect(over?.message == "a run holds at most 3 tags; this would make 4")
            #expect(over?.field == "tags")
            #expect(try await f.store.run(id: run.id).tags == ["b": "3", "c": "x", "d": "4"])
            // Concurrent additions keep the limit.
            let store = f.store
            let added = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<6 {
                    group.addTask { (try? await store.setRunTags(id: run.id, set: ["k\(index)": "v"], remove: [], maxTags: 5)) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(added == 2)
            #expect(try await f.store.run(id: run.id).tags.count == 5)
        }
    }

    @Test("runs list newest first, by experiment or parent, in pages", arguments: Engine.available)
    func listing(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let a = try await f.store.createExperiment(NewExperiment(name: "a"))
            let b = try await f.store.createExperiment(NewExperiment(name: "b"))
            var runs: [RunRecord] = []
            for index in 0..<5 {
                runs.append(try await f.store.startRun(NewRun(experimentID: index.isMultiple(of: 2) ? a.id : b.id, name: "r\(index)", parentRunID: index > 2 ? runs[0].id : nil)))
            }
            func ids(_ experiments: [String], _ parent: String? = nil, size: Int = 0, token: String = "") async throws -> Page<RunRecord> {
                try await f.store.listRuns(experimentIDs: experiments, parentRunID: parent, pageSize: size, pageToken: token)
            }
            #expect(try await ids([]).items.map(\.name) == ["r4", "r3", "r2", "r1", "r0"])
            #expect(try await ids([a.id]).items.map(\.name) == ["r4", "r2", "r0"])
            #expect(try await ids([b.id, a.id]).totalCount == 5)
            #expect(try await ids([], runs[0].id).items.map(\.name) == ["r4", "r3"])
            #expect(try await ids([b.id], runs[0].id).items.map(\.name) == ["r3"])
            let listed = try await ids([a.id]).items
            #expect(listed.last == (try await f.store.run(id: runs[0].id)))
            #expect(listed.last?.childCount == 2)

            let first = try await ids([], size: 2)
            #expect(first.items.map(\.name) == ["r4", "r3"] && first.nextPageToken == "o2" && first.totalCount == 5)
            let last = try await ids([], size: 2, token: "o4")
            #expect(last.items.map(\.name) == ["r0"] && last.nextPageToken == "")

            let missing = await storeRefusal { try await ids(["00000000000000aa"]) }
            #expect(missing?.code == .notFound)
            #expect(missing?.message == "experiment 00000000000000aa not found")
            let noParent = await storeRefusal { try await ids([], "00000000000000aa") }
            #expect(noParent?.code == .notFound)
            #expect(noParent?.field == "parent_run_id")
            #expect(await storeRefusal { try await ids([], size: 1001) }?.code == .invalidArgument)
            #expect(await storeRefusal { try await ids([], token: "o-1") }?.code == .invalidArgument)
        }
    }

    @Test("params round-trip every type and are immutable", arguments: Engine.available)
    func params(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await f.store.startRun(NewRun(experimentName: "params", createExperiment: true, params: ["given": .int(1)]))
            var params = Self.everyType
            params["nan"] = .double(.nan)
            #expect(try await f.store.logParams(runID: run.id, params: params) == params.count)
            let stored = try await f.store.run(id: run.id).params
            for (key, value) in Self.everyType {
                #expect(stored[key] == value, "\(key)")
            }
            if case .double(let value) = stored["nan"] { #expect(value.isNaN) } else { Issue.record("nan") }
            #expect(stored["given"] == .int(1))
            // The same values again (NaN included) store nothing.
            #expect(try await f.store.logParams(runID: run.id, params: params) == 0)
            #expect(try await f.store.logParams(runID: run.id, params: ["given": .int(1), "new": .string("n")]) == 1)

            for (key, value, shown, tried) in [
                ("i", ParamValueRecord.int(-4), "-3", "-4"), ("i", .double(-3), "-3", "-3.0"), ("t", .bool(false), "true", "false"),
                ("t", .int(1), "true", "1"), ("s", .string("y"), "\"x\"", "\"y\""), ("nan", .double(1), "nan", "1.0"), ("d", .double(.nan), "0.25", "nan"),
                ("max", .int(.max - 1), "9223372036854775807", "9223372036854775806"),
            ] {
                let error = await storeRefusal { try await f.store.logParams(runID: run.id, params: ["a-new-key": .int(7), key: value]) }
                #expect(error?.code == .failedPrecondition, "\(key)")
                #expect(error?.message == "param \"\(key)\" is already logged with value \(shown); params are immutable (tried \(tried))")
                #expect(error?.field == key)
            }
            // A refused call stores none of its params.
            #expect(try await f.store.run(id: run.id).params["a-new-key"] == nil)

            _ = try await f.store.endRun(id: run.id, state: .completed, error: "")
            let ended = await storeRefusal { try await f.store.logParams(runID: run.id, params: ["late": .int(1)], requireRunning: true) }
            #expect(ended?.code == .failedPrecondition)
            #expect(ended?.message == "run \(run.id) has ended; params can only be logged to a running run")
            #expect(ended?.field == "run_id")
            #expect(try await f.store.run(id: run.id).params["late"] == nil)
            #expect(try await f.store.logParams(runID: run.id, params: ["given": .int(1)], requireRunning: true) == 0)
            #expect(try await f.store.logParams(runID: run.id, params: ["late": .int(1)]) == 1)
        }
    }

    @Test("concurrent logs of one param store one value", arguments: Engine.available)
    func concurrentParams(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await f.store.startRun(NewRun(experimentName: "race", createExperiment: true))
            let store = f.store
            let outcomes = await withTaskGroup(of: String.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        do {
                            return "stored \(try await store.logParams(runID: run.id, params: ["lr": .int(Int64(index))]))"
                        } catch let error as StoreError {
                            return error.code.rawValue
                        } catch {
                            return "other: \(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "stored 1" }.count == 1, "\(outcomes)")
            #expect(outcomes.filter { $0 == StoreError.Code.failedPrecondition.rawValue }.count == 5, "\(outcomes)")
        }
    }

    @Test("deleting a run takes its descendants, metrics and artifacts, and unreferenced blobs", arguments: Engine.available)
    func deletion(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let experiment = try await f.store.createExperiment(NewExperiment(name: "del"))
            let root = try await f.store.startRun(NewRun(experimentID: experiment.id))
            let child = try await f.store.startRun(NewRun(experimentID: experiment.id, parentRunID: root.id))
            let grandchild = try await f.store.startRun(NewRun(experimentID: experiment.id, parentRunID: child.id))
            let sibling = try await f.store.startRun(NewRun(experimentID: experiment.id))

            let batch = MetricPointBatch(runID: grandchild.id, keys: ["loss"], keyIndex: [0, 0], values: [1, 0.5], steps: [0, 1], timestampsMs: [1, 2], receivedAtMs: 3)
            _ = try await f.store.commitMetrics([batch])
            #expect(try await f.store.run(id: grandchild.id).metrics.map(\.count) == [2])
            let (own, shared) = try await logOwnAndSharedArtifacts(
                f, own: (grandchild.id, "m", "grandchild's"), shared: (child.id, "d"), keeperRunID: sibling.id
            )
            _ = try await f.store.endRun(id: root.id, state: .completed, error: "")
            _ = try await f.store.endRun(id: child.id, state: .completed, error: "")
            let running = await storeRefusal { try await f.store.deleteRun(id: root.id, force: false, blobs: f.blobs) }
            #expect(running?.code == .failedPrecondition)
            #expect(running?.message == "run \(root.id) or one of its children is running; end it first or delete with force")
            #expect(running?.field == "run_id")
            let before = try await f.store.experiment(id: experiment.id).updatedAtMs
            try await Task.sleep(for: .milliseconds(3))

            let deletion = try await f.store.deleteRun(id: child.id, force: true, blobs: f.blobs)
            #expect(deletion == Deletion(runs: 2, artifacts: 2, blobCandidates: [own.sha256, shared.sha256]))
            #expect(!f.blobs.contains(sha256: own.sha256))
            #expect(f.blobs.contains(sha256: shared.sha256))
            #expect(await storeRefusal { try await f.store.run(id: grandchild.id) }?.code == .notFound)
            #expect(try await f.store.run(id: root.id).childCount == 0)
            #expect(try await f.store.experiment(id: experiment.id).updatedAtMs > before)
            #expect(try await f.store.experiment(id: experiment.id).runCount == 2)
            #expect(try await f.store.artifacts(experimentID: experiment.id).map(\.runID) == [sibling.id])
            // The metric data went with the run: a run of the same id starts empty.
            let reborn = try await f.store.startRun(NewRun(experimentID: experiment.id, id: grandchild.id))
            #expect(reborn.metrics.isEmpty)
            #expect(try await f.store.run(id: grandchild.id).metrics.isEmpty)

            #expect(try await f.store.deleteRun(id: root.id, force: false, blobs: nil) == Deletion(runs: 1, artifacts: 0, blobCandidates: []))
        }
    }

    @Test("a child started while its parent is deleted: one of them is refused with a store error", arguments: Engine.available)
    func startWhileDeleting(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let experiment = try await f.store.createExperiment(NewExperiment(name: "race"))
            let store = f.store
            for _ in 0..<8 {
                let parent = try await store.startRun(NewRun(experimentID: experiment.id))
                _ = try await store.endRun(id: parent.id, state: .completed, error: "")
                async let started: StoreError.Code? = {
                    do { _ = try await store.startRun(NewRun(experimentID: experiment.id, parentRunID: parent.id)); return nil }
                    catch let error as StoreError { return error.code }
                    catch { return StoreError.Code(rawValue: "other: \(error)") }
                }()
                async let deleted: StoreError.Code? = {
                    do { _ = try await store.deleteRun(id: parent.id, force: false, blobs: nil); return nil }
                    catch let error as StoreError { return error.code }
                    catch { return StoreError.Code(rawValue: "other: \(error)") }
                }()
                let outcome = await (started, deleted)
                #expect(outcome == (nil, .failedPrecondition) || outcome == (.notFound, nil), "\(outcome)")
            }
        }
    }

    @Test("run records carry metric summaries by key, NaN where undefined", arguments: Engine.available)
    func metricSummaries(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let run = try await f.store.startRun(NewRun(experimentName: "summaries", createExperiment: true))
            let batch = MetricPointBatch(
                runID: run.id, keys: ["loss", "acc", "blank"], keyIndex: [0, 1, 0, 1, 2, 0], values: [2, 0.5, 1, .nan, .nan, 4],
                steps: [0, 0, 1, 1, 0, 2], timestampsMs: [10, 10, 11, 11, 12, 13], receivedAtMs: 14
            )
            _ = try await f.store.commitMetrics([batch])[0].get()
            let stored = try await f.store.run(id: run.id)
            #expect(stored.metrics.map(\.key) == ["acc", "blank", "loss"])
            guard stored.metrics.count == 3 else { return }
            let (acc, blank, loss) = (stored.metrics[0], stored.metrics[1], stored.metrics[2])
            #expect(loss.count == 3 && loss.finiteCount == 3 && loss.min == 1 && loss.max == 4 && loss.sum == 7)
            #expect(loss.lastValue == 4 && loss.lastStep == 2 && loss.lastTimestampMs == 13 && loss.firstStep == 0)
            #expect(acc.count == 2 && acc.finiteCount == 1 && acc.min == 0.5 && acc.max == 0.5 && acc.sum == 0.5)
            #expect(acc.lastValue.isNaN && acc.lastStep == 1)
            #expect(blank.count == 1 && blank.finiteCount == 0 && blank.min == nil && blank.max == nil && blank.lastValue.isNaN && blank.mean.isNaN)
            let listed = try await f.store.listRuns(experimentIDs: [], parentRunID: nil, pageSize: 0, pageToken: "").items
            #expect(listed.count == 1)
            #expect(listed.first?.metrics.map(\.key) == ["acc", "blank", "loss"])
            #expect(listed.first?.metrics.last == loss)
        }
    }
}
