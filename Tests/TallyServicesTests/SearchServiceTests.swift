import TallyAPI
import TallyProto
import TallyRPC
import Testing

/// A Tracking service with three runs: "small" (lr 0.001, prod), "large" (lr 0.1, dev), both
/// completed, and "tiny" (lr 0.0001, dev) still running; each logs `val_acc` 5×lr, 9×lr and
/// `loss` 1 then NaN (so its last loss is missing). Returns the run ids by name.
private func withSearchService<T>(_ body: (TrackingClient, [String: String]) async throws -> T) async throws -> T {
    let harness = try TrackingHarness()
    let experiment = try await harness.experiment("search")
    var ids: [String: String] = [:]
    for (name, lr, stage) in [("small", 0.001, "prod"), ("large", 0.1, "dev"), ("tiny", 0.0001, "dev")] {
        var request = StartRunRequest()
        request.experiment = .id(experiment.id)
        request.name = name
        request.tags = ["stage": stage]
        request.params = ["lr": .double(lr), "opt": .string("adam")]
        let run = try await harness.client.startRun(request)
        ids[name] = run.id
        _ = try await harness.log(run, [("val_acc", lr * 5, 0), ("val_acc", lr * 9, 1), ("loss", 1, 0), ("loss", .nan, 1)])
        if name != "tiny" {
            _ = try await harness.end(run)
        }
    }
    return try await body(harness.client, ids)
}

@Suite("SearchRuns service")
struct SearchServiceTests {
    @Test("SearchRuns filters, orders and pages runs with their params and metrics")
    func search() async throws {
        try await withSearchService { (client, ids) async throws in
            var request = SearchRunsRequest()
            request.filter = #"params.lr < 0.01 and (metrics.val_acc.max >= 0.0008 or tags.stage = "prod") and params.opt = "adam""#
            request.orderBy = ["metrics.val_acc.max desc"]
            request.pageSize = 1
            let first = try await client.searchRuns(request)
            #expect(first.totalCount == 2)
            #expect(first.runs.map(\.id) == [ids["small"]])
            #expect(first.runs.first?.params["lr"]?.kind == .doubleValue(0.001))
            #expect(first.runs.first?.metrics.map(\.key) == ["loss", "val_acc"])
            #expect(first.runs.first?.status == .completed)
            #expect(first.nextPageToken.isEmpty == false)

            request.pageToken = first.nextPageToken
            let second = try await client.searchRuns(request)
            #expect(second.runs.map(\.id) == [ids["tiny"]])
            #expect(second.runs.first?.status == .running)
            #expect(second.runs.first?.durationMs ?? -1 >= 0)
            #expect(second.nextPageToken.isEmpty)

            // Aggregates kept by the ingest path: NaN is left out of min/max/mean and makes `last` missing.
            var nan = SearchRunsRequest()
            nan.filter = "metrics.loss is null and metrics.loss.max = 1 and metrics.loss.count = 2 and metrics.loss.mean = 1"
            #expect(try await client.searchRuns(nan).totalCount == 3)
            nan.filter = "metrics.loss != 1"
            #expect(try await client.searchRuns(nan).totalCount == 0)

            var everything = SearchRunsRequest()
            everything.orderBy = ["name"]
            #expect(try await client.searchRuns(everything).runs.map(\.name) == ["large", "small", "tiny"])
        }
    }

    @Test("a malformed filter is INVALID_ARGUMENT with the position in ErrorDetails", arguments: [
        ("params.lr < ", "filter", 12, #"filter: expected a value after "<" at position 12"#),
        (#"status < 3"#, "filter", 7, "filter: status can only be compared with =, != or in at position 7"),
        (#"metrics.val_acc.median > 1"#, "filter", 16, #"filter: unknown metric aggregate "median""#),
    ])
    func malformed(filter: String, field: String, position: Int64, message: String) async throws {
        try await withSearchService { (client, _) async throws in
            var request = SearchRunsRequest()
            request.filter = filter
            let error = await #expect(throws: RPCError.self) { _ = try await client.searchRuns(request) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
            let details = try ErrorDetails(serializedBytes: try #require(error?.details))
            #expect(details.position == position)
            #expect(details.field == field)
            #expect(details.reason == "invalid_argument")
        }
    }

    @Test("a malformed order term and an unknown experiment map to their statuses")
    func otherErrors() async throws {
        try await withSearchService { (client, _) async throws in
            var request = SearchRunsRequest()
            request.orderBy = ["name", "duration sideways"]
            let order = await #expect(throws: RPCError.self) { _ = try await client.searchRuns(request) }
            #expect(order?.code == .invalidArgument)
            let details = try ErrorDetails(serializedBytes: try #require(order?.details))
            #expect(details.field == "order_by")
            #expect(details.position == 9)

            var unknown = SearchRunsRequest()
            unknown.experimentIds = ["nope"]
            let missing = await #expect(throws: RPCError.self) { _ = try await client.searchRuns(unknown) }
            #expect(missing?.code == .notFound)
        }
    }
}
