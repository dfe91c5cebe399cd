import Testing
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices
import GRDB
import Logging
import TallyStore

@Suite("Tracking: experiments")
struct ExperimentTests {
    @Test("create, get by id and name, update, and the unique name")
    func lifecycle() async throws {
        let h = try TrackingHarness()
        var create = CreateExperimentRequest()
        create.name = "resnet-cifar"
        create.description = "baseline sweep"
        create.tags = ["team": "vision", "baseline": ""]
        create.createdBy = "ada"
        create.metricGoals = ["val_acc": .maximize]
        let created = try await h.client.createExperiment(create)
        #expect(created.id.count == 16)
        #expect(created.createdAtMs > 0 && created.createdAtMs == created.updatedAtMs)
        #expect(created.tags == ["team": "vision", "baseline": ""])
        #expect(created.metricGoals == ["val_acc": .maximize])

        var get = GetExperimentRequest()
        get.experiment = .name("resnet-cifar")
        #expect(try await h.client.getExperiment(get) == created)
        get.experiment = .id(created.id)
        #expect(try await h.client.getExperiment(get).name == "resnet-cifar")

        #expect(await statusCode { _ = try await h.client.createExperiment(create) } == .alreadyExists)
        create.getIfExists = true
        #expect(try await h.client.createExperiment(create).id == created.id)

        try await Task.sleep(for: .milliseconds(5))
        var update = UpdateExperimentRequest()
        update.id = created.id
        update.name = "resnet-cifar-v2"
        update.tags = ["stage": "prod"]
        let updated = try await h.client.updateExperiment(update)
        #expect(updated.name == "resnet-cifar-v2")
        #expect(updated.description == "baseline sweep")
        #expect(updated.tags == ["team": "vision", "baseline": "", "stage": "prod"])
        #expect(updated.updatedAtMs > created.updatedAtMs)
        update = UpdateExperimentRequest()
        update.id = created.id
        update.replaceTags = true
        update.tags = ["only": "this"]
        update.metricGoals = ["val_acc": .unspecified, "loss": .minimize]
        let replaced = try await h.client.updateExperiment(update)
        #expect(replaced.tags == ["only": "this"])
        #expect(replaced.metricGoals == ["loss": .minimize])
    }

    @Test("GetExperiment lists the experiment's runs, newest first, a page at a time, when asked")
    func runsOfAnExperiment() async throws {
        let h = try TrackingHarness()
        var ids: [String] = []
        for index in 0..<5 {
            var start = StartRunRequest()
            start.experiment = .name(index == 2 ? "other" : "paged")
            start.createExperiment = true
            start.name = "run-\(index)"
            ids.append(try await h.client.startRun(start).id)
            try await Task.sleep(for: .milliseconds(2))
        }
        var get = GetExperimentRequest()
        get.experiment = .name("paged")
        #expect(try await h.client.getExperiment(get).runs.isEmpty)  // not asked for
        get.runsPageSize = 3
        let first = try await h.client.getExperiment(get)
        #expect(first.runCount == 4)
        #expect(first.runs.map(\.name) == ["run-4", "run-3", "run-1"])
        #expect(!first.runsNextPageToken.isEmpty)
        get.runsPageToken = first.runsNextPageToken
        let second = try await h.client.getExperiment(get)
        #expect(second.runs.map(\.id) == [ids[0]] && second.runsNextPageToken.isEmpty)
        get.runsPageToken = ""
        get.runsPageSize = 1001
        #expect(await statusCode { _ = try await h.client.getExperiment(get) } == .invalidArgument)
    }

    @Test("remove_tags takes tags out after merging, or out of a replacement; unknown keys are ignored")
    func removeTags() async throws {
        let h = try TrackingHarness()
        var create = CreateExperimentRequest()
        create.name = "tagged"
        create.tags = ["a": "1", "b": "2", "draft": ""]
        let created = try await h.client.createExperiment(create)
        var update = UpdateExperimentRequest()
        update.id = created.id
        update.tags = ["c": "3"]
        update.removeTags = ["draft", "nope"]
        #expect(try await h.client.updateExperiment(update).tags == ["a": "1", "b": "2", "c": "3"])
        update = UpdateExperimentRequest()
        update.id = created.id
        update.removeTags = ["a"]
        #expect(try await h.client.updateExperiment(update).tags == ["b": "2", "c": "3"])
        update.replaceTags = true
        update.tags = ["x": "", "a": "9"]
        #expect(try await h.client.updateExperiment(update).tags == ["x": ""])
    }

    @Test("created_by is the calling process's OS user, whatever the request claims; a uid without a name is \"uid N\"")
    func createdByIsTheCaller() async throws {
        let h = try TrackingHarness()
        let me = Caller.daemonUser.userName
        #expect(!me.isEmpty && !me.hasPrefix("uid "))  // the test runs as a named user
        var create = CreateExperimentRequest()
        create.name = "claimed"
        create.createdBy = "mallory"
        #expect(try await h.client.createExperiment(create).createdBy == me)

        func context(uid: UInt32) -> ServerContext {
            ServerContext(
                method: MethodDescriptor(service: "tally.v1.Tracking", method: "CreateExperiment", kind: .unary),
                callID: 1, connectionID: 1, logger: Logger(label: "test"),
                caller: Caller(uid: uid, gid: uid, pid: 1, isDaemonUser: false)
            )
        }
        create.name = "stranger"
        #expect(try await h.provider.createExperiment(request: create, context: context(uid: 4_242_424)).createdBy == "uid 4242424")

        // An experiment a run's start creates records its creator too.
        var start = StartRunRequest()
        start.experiment = .name("made-by-start")
        start.createExperiment = true
        _ = try await h.client.startRun(start)
        var get = GetExperimentRequest()
        get.experiment = .name("made-by-start")
        #expect(try await h.client.getExperiment(get).createdBy == me)
    }

    @Test("bad input is INVALID_ARGUMENT and missing ids NOT_FOUND")
    func errors() async throws {
        let h = try TrackingHarness()
        var create = CreateExperimentRequest()
        create.name = ""
        #expect(await statusCode { _ = try await h.client.createExperiment(create) } == .invalidArgument)
        create.name = String(repeating: "x", count: 257)
        #expect(await statusCode { _ = try await h.client.createExperiment(create) } == .invalidArgument)
        create.name = "ok"
        create.tags = ["bad key!": "v"]
        #expect(await statusCode { _ = try await h.client.createExperiment(create) } == .invalidArgument)
        create.tags = ["k": String(repeating: "v", count: 5001)]
        #expect(await statusCode { _ = try await h.client.createExperiment(create) } == .invalidArgument)

        var get = GetExperimentRequest()
        #expect(await statusCode { _ = try await h.client.getExperiment(get) } == .invalidArgument)
        get.experiment = .id("0000000000000000")
        let error = await #expect(throws: RPCError.self) { _ = try await h.client.getExperiment(get) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("0000000000000000") == true)
        let details = try ErrorDetails(serializedBytes: error?.details ?? [])
        #expect(details.reason == "not_found")
    }

    @Test("list filters by name, tags any/all and time, newest first, with pages and a total")
    func list() async throws {
        let h = try TrackingHarness()
        var ids: [String] = []
        for i in 0..<7 {
            let tags: [String: String] = i % 2 == 0 ? ["even": "", "mod3": "\(i % 3)"] : ["odd": "", "mod3": "\(i % 3)"]
            ids.append(try await h.experiment("Exp-\(i)", tags: tags).id)
            try await Task.sleep(for: .milliseconds(2))
        }
        var request = ListExperimentsRequest()
        request.pageSize = 3
        let first = try await h.client.listExperiments(request)
        #expect(first.totalCount == 7)
        #expect(first.experiments.map(\.id) == Array(ids.reversed().prefix(3)))
        request.pageToken = first.nextPageToken
        let second = try await h.client.listExperiments(request)
        #expect(second.experiments.map(\.id) == Array(ids.reversed().dropFirst(3).prefix(3)))
        request.pageToken = second.nextPageToken
        let third = try await h.client.listExperiments(request)
        #expect(third.experiments.map(\.id) == [ids[0]])
        #expect(third.nextPageToken.isEmpty)

        request = ListExperimentsRequest()
        request.nameContains = "exp-1"
        #expect(try await h.client.listExperiments(request).experiments.map(\.id) == [ids[1]])
        request = ListExperimentsRequest()
        request.tagsAll = ["even", "mod3=0"]
        #expect(Set(try await h.client.listExperiments(request).experiments.map(\.id)) == [ids[0], ids[6]])
        request = ListExperimentsRequest()
        request.tagsAny = ["mod3=2", "mod3=1"]
        #expect(try await h.client.listExperiments(request).totalCount == 4)
        request = ListExperimentsRequest()
        request.orderBy = "name asc"
        #expect(try await h.client.listExperiments(request).experiments.map(\.name).first == "Exp-0")

        let all = try await h.client.listExperiments(ListExperimentsRequest()).experiments
        request = ListExperimentsRequest()
        request.createdAfterMs = all[2].createdAtMs  // inclusive
        #expect(try await h.client.listExperiments(request).totalCount >= 3)
        request = ListExperimentsRequest()
        request.createdBeforeMs = all[6].createdAtMs  // exclusive
        #expect(try await h.client.listExperiments(request).experiments.allSatisfy { $0.createdAtMs < all[6].createdAtMs })

        request = ListExperimentsRequest()
        request.pageSize = 1001
        #expect(await statusCode { _ = try await h.client.listExperiments(request) } == .invalidArgument)
        request = ListExperimentsRequest()
        request.pageToken = "garbage"
        #expect(await statusCode { _ = try await h.client.listExperiments(request) } == .invalidArgument)
        request = ListExperimentsRequest()
        request.orderBy = "color"
        #expect(await statusCode { _ = try await h.client.listExperiments(request) } == .invalidArgument)
    }

    @Test("delete refuses while a run is running unless forced, and removes runs, params and points")
    func delete() async throws {
        let h = try TrackingHarness()
        let experiment = try await h.experiment()
        let run = try await h.run(in: experiment, params: ["lr": .double(0.1)])
        _ = try await h.log(run, [("loss", 1, 0), ("loss", 0.5, 1)])
        var request = DeleteExperimentRequest()
        request.id = experiment.id
        let error = await #expect(throws: RPCError.self) { _ = try await h.client.deleteExperiment(request) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("running") == true)
        request.force = true
        let deleted = try await h.client.deleteExperiment(request)
        #expect(deleted.deletedRuns == 1)
        var get = GetRunRequest()
        get.runId = run.id
        #expect(await statusCode { _ = try await h.client.getRun(get) } == .notFound)
        let leftovers = try await h.store.pool.read { db in
            try ["runs", "params", "metric_series", "metric_chunks", "metric_chunk_data", "experiments"].map { table in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? -1
            }
        }
        #expect(leftovers == [0, 0, 0, 0, 0, 0])
    }
}
