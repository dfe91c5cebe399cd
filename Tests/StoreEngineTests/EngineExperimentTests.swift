import Foundation
import TallyStore
import Testing

@Suite("Store engines: experiments")
struct EngineExperimentTests {
    @Test("experiments are created and found by id or name; names are unique", arguments: Engine.available)
    func createAndFind(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let created = try await f.store.createExperiment(NewExperiment(
                name: "exp", description: "about", tags: ["team": "a", "empty": ""], createdBy: "ada", metricGoals: ["loss": 1, "acc": 2, "none": 0]
            ))
            #expect(created.id.count == 16)
            #expect(created.name == "exp" && created.description == "about" && created.createdBy == "ada")
            #expect(created.tags == ["team": "a", "empty": ""])
            #expect(created.metricGoals == ["loss": 1, "acc": 2])
            #expect(created.runCount == 0)
            #expect(created.createdAtMs > 0 && created.createdAtMs == created.updatedAtMs)
            #expect(try await f.store.experiment(id: created.id) == created)
            #expect(try await f.store.experiment(name: "exp") == created)
            #expect(try await f.store.experiment(id: created.id, name: "ignored") == created)
            #expect(try await f.store.createExperiment(NewExperiment(name: "exp", description: "other"), getIfExists: true) == created)

            let taken = await storeRefusal { try await f.store.createExperiment(NewExperiment(name: "exp")) }
            #expect(taken?.code == .alreadyExists)
            #expect(taken?.message == "an experiment named \"exp\" already exists")
            #expect(taken?.field == "name")

            let missing = await storeRefusal { try await f.store.experiment(id: "00000000000000aa") }
            #expect(missing?.code == .notFound)
            #expect(missing?.message == "experiment 00000000000000aa not found")
            #expect(missing?.field == "experiment")
            let missingName = await storeRefusal { try await f.store.experiment(name: "nope") }
            #expect(missingName?.code == .notFound)
            #expect(missingName?.message == "experiment named \"nope\" not found")
            #expect(missingName?.field == "experiment")
            let neither = await storeRefusal { try await f.store.experiment(id: nil, name: nil) }
            #expect(neither?.code == .invalidArgument)
            #expect(neither?.field == "experiment")
            // Names compare as bytes: another case is another name.
            #expect(try await f.store.createExperiment(NewExperiment(name: "EXP")).id != created.id)
        }
    }

    @Test("concurrent creations of one name give one experiment", arguments: Engine.available)
    func concurrentCreations(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let store = f.store
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await store.createExperiment(NewExperiment(name: "race"), getIfExists: true).id }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let outcomes = await withTaskGroup(of: StoreError.Code?.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        do {
                            _ = try await store.createExperiment(NewExperiment(name: "race-2"))
                            return nil
                        } catch let error as StoreError {
                            return error.code
                        } catch {
                            return StoreError.Code(rawValue: "other")
                        }
                    }
                }
                return await group.reduce(into: [StoreError.Code?]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == nil }.count == 1)
            #expect(outcomes.filter { $0 == .alreadyExists }.count == 5)
        }
    }

    @Test("updates rename, redescribe, replace tags and set or clear goals", arguments: Engine.available)
    func updates(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let created = try await f.store.createExperiment(NewExperiment(name: "a", tags: ["x": "1"], metricGoals: ["loss": 1, "acc": 2]))
            _ = try await f.store.createExperiment(NewExperiment(name: "b"))
            try await Task.sleep(for: .milliseconds(3))
            let updated = try await f.store.updateExperiment(
                id: created.id, ExperimentUpdate(name: "a2", description: "d", tags: ["y": "2"], metricGoals: ["loss": 0, "acc": 1, "f1": 2])
            )
            #expect(updated.name == "a2" && updated.description == "d")
            #expect(updated.tags == ["y": "2"])
            #expect(updated.metricGoals == ["acc": 1, "f1": 2])
            #expect(updated.updatedAtMs > created.updatedAtMs && updated.createdAtMs == created.createdAtMs)
            #expect(try await f.store.experiment(id: created.id) == updated)
            // Nothing given: only the update time moves; its own name is no conflict.
            let same = try await f.store.updateExperiment(id: created.id, ExperimentUpdate(name: "a2"))
            #expect(same.name == "a2" && same.tags == ["y": "2"] && same.metricGoals == updated.metricGoals)

            let taken = await storeRefusal { try await f.store.updateExperiment(id: created.id, ExperimentUpdate(name: "b", description: "lost")) }
            #expect(taken?.code == .alreadyExists)
            #expect(taken?.message == "an experiment named \"b\" already exists")
            #expect(taken?.field == "name")
            #expect(try await f.store.experiment(id: created.id).description == "d")
            let missing = await storeRefusal { try await f.store.updateExperiment(id: "00000000000000aa", ExperimentUpdate(description: "x")) }
            #expect(missing?.code == .notFound)
            #expect(missing?.message == "experiment 00000000000000aa not found")
        }
    }

    @Test("listing filters, orders and pages experiments", arguments: Engine.available)
    func listing(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            var created: [ExperimentRecord] = []
            for (name, tags) in [("Alpha", ["team": "a"]), ("beta", ["team": "b", "gpu": ""]), ("Gamma-alpha", ["gpu": "1"]), ("delta", [:]), ("ÉCOLE", [:])] {
                created.append(try await f.store.createExperiment(NewExperiment(name: name, tags: tags)))
                try await Task.sleep(for: .milliseconds(2))
            }
            _ = try await f.store.startRun(NewRun(experimentID: created[1].id))
            func names(_ configure: (inout ExperimentQuery) -> Void) async throws -> [String] {
                var query = ExperimentQuery()
                configure(&query)
                return try await f.store.listExperiments(query).items.map(\.name)
            }
            #expect(try await names { _ in } == ["ÉCOLE", "delta", "Gamma-alpha", "beta", "Alpha"])
            #expect(try await names { $0.orderBy = "created_at asc" } == ["Alpha", "beta", "Gamma-alpha", "delta", "ÉCOLE"])
            #expect(try await names { $0.orderBy = "name" } == ["Alpha", "Gamma-alpha", "beta", "delta", "ÉCOLE"])
            #expect(try await names { $0.orderBy = "NAME desc" } == ["ÉCOLE", "delta", "beta", "Gamma-alpha", "Alpha"])
            #expect(try await names { $0.nameContains = "ALPHA" } == ["Gamma-alpha", "Alpha"])
            // Case folds ASCII only.
            #expect(try await names { $0.nameContains = "école" } == [])
            #expect(try await names { $0.nameContains = "COLE" } == ["ÉCOLE"])
            #expect(try await names { $0.tagsAny = ["team=a", "gpu"] } == ["Gamma-alpha", "beta", "Alpha"])
            #expect(try await names { $0.tagsAll = ["team", "gpu="] } == ["beta"])
            #expect(try await names { $0.createdAfterMs = created[2].createdAtMs; $0.createdBeforeMs = created[4].createdAtMs } == ["delta", "Gamma-alpha"])
            #expect(try await names { $0.updatedAfterMs = created[4].createdAtMs + 10_000_000 } == [])

            let all = try await f.store.listExperiments(ExperimentQuery())
            #expect(all.totalCount == 5 && all.nextPageToken == "")
            #expect(all.items.first { $0.name == "beta" }?.runCount == 1)
            #expect(all.items.first { $0.name == "beta" }?.tags == ["team": "b", "gpu": ""])

            var query = ExperimentQuery()
            query.pageSize = 2
            var pages: [[String]] = []
            var tokens: [String] = []
            repeat {
                let page = try await f.store.listExperiments(query)
                #expect(page.totalCount == 5)
                pages.append(page.items.map(\.name))
                tokens.append(page.nextPageToken)
                query.pageToken = page.nextPageToken
            } while !query.pageToken.isEmpty
            #expect(pages == [["ÉCOLE", "delta"], ["Gamma-alpha", "beta"], ["Alpha"]])
            #expect(tokens == ["o2", "o4", ""])

            for configure in [{ (q: inout ExperimentQuery) in q.orderBy = "size" }, { $0.orderBy = "name up" }, { $0.pageSize = -1 }, { $0.pageSize = 1001 }, { $0.pageToken = "x" }] {
                var bad = ExperimentQuery()
                configure(&bad)
                #expect(await storeRefusal { try await f.store.listExperiments(bad) }?.code == .invalidArgument)
            }
            var beyond = ExperimentQuery()
            beyond.pageToken = "o9"
            let empty = try await f.store.listExperiments(beyond)
            #expect(empty.items.isEmpty && empty.totalCount == 5 && empty.nextPageToken == "")
        }
    }

    @Test("deleting an experiment takes its runs and artifacts, and the blobs nothing else references", arguments: Engine.available)
    func deletion(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let doomed = try await f.store.createExperiment(NewExperiment(name: "doomed"))
            let kept = try await f.store.createExperiment(NewExperiment(name: "kept"))
            let parent = try await f.store.startRun(NewRun(experimentID: doomed.id))
            let child = try await f.store.startRun(NewRun(experimentID: doomed.id, parentRunID: parent.id))
            let other = try await f.store.startRun(NewRun(experimentID: kept.id))

            let running = await storeRefusal { try await f.store.deleteExperiment(id: doomed.id, force: false, blobs: f.blobs) }
            #expect(running?.code == .failedPrecondition)
            #expect(running?.message == "experiment \(doomed.id) has 2 running run(s); end them first or delete with force")
            #expect(running?.field == "id")
            let missing = await storeRefusal { try await f.store.deleteExperiment(id: "00000000000000aa", force: true, blobs: f.blobs) }
            #expect(missing?.code == .notFound)
            #expect(missing?.message == "experiment 00000000000000aa not found")

            let (own, shared) = try await logOwnAndSharedArtifacts(
                f, own: (child.id, "model", "only the doomed experiment's"), shared: (parent.id, "data"), keeperRunID: other.id
            )
            #expect(f.blobs.contains(sha256: own.sha256) && f.blobs.contains(sha256: shared.sha256))

            _ = try await f.store.endRun(id: parent.id, state: .completed, error: "")
            let deletion = try await f.store.deleteExperiment(id: doomed.id, force: true, blobs: f.blobs)
            #expect(deletion.runs == 2)
            #expect(deletion.artifacts == 2)
            #expect(deletion.blobCandidates == [own.sha256, shared.sha256])
            #expect(!f.blobs.contains(sha256: own.sha256))
            #expect(f.blobs.contains(sha256: shared.sha256))
            #expect(await storeRefusal { try await f.store.experiment(id: doomed.id) }?.code == .notFound)
            #expect(await storeRefusal { try await f.store.run(id: child.id) }?.code == .notFound)
            #expect(try await f.store.run(id: other.id).id == other.id)
            #expect(try await f.store.artifacts(runID: other.id).count == 1)
            // The name is free again.
            #expect(try await f.store.createExperiment(NewExperiment(name: "doomed")).runCount == 0)
        }
    }

    @Test("deleting an experiment without a blob store keeps the blobs; an empty one deletes nothing else", arguments: Engine.available)
    func deletionWithoutBlobs(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let experiment = try await f.store.createExperiment(NewExperiment(name: "e"))
            let run = try await f.store.startRun(NewRun(experimentID: experiment.id))
            let blob = try await pendingBlob(f.blobs, "content")
            _ = try await f.store.createArtifact(NewArtifact(runID: run.id, name: "a", type: 1), content: blob, blobs: f.blobs)
            let deletion = try await f.store.deleteExperiment(id: experiment.id, force: true)
            #expect(deletion == Deletion(runs: 1, artifacts: 1, blobCandidates: [blob.sha256]))
            #expect(f.blobs.contains(sha256: blob.sha256))
            let empty = try await f.store.createExperiment(NewExperiment(name: "empty"))
            #expect(try await f.store.deleteExperiment(id: empty.id, force: false, blobs: f.blobs) == Deletion(runs: 0, artifacts: 0, blobCandidates: []))
        }
    }
}
