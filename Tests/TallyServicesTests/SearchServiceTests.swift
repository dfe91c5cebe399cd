import Foundation
import GRDB
import Logging
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices
import Testing
import TallyStore

/// A Tracking client over the in-process transport, backed by a fresh store with three runs.
private func withSearchService<T>(_ body: (TrackingClient, [String: String]) async throws -> T) async throws -> T {
    let dir = NSTemporaryDirectory() + "tally-search-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try Store(path: dir + "/tally.sqlite")
    defer { try? store.close() }
    let blobs = try BlobStore(directory: dir + "/artifacts")

    let experiment = try await store.createExperiment(Store.NewExperiment(name: "search"))
    var ids: [String: String] = [:]
    for (name, lr, stage) in [("small", 0.001, "prod"), ("large", 0.1, "dev"), ("tiny", 0.0001, "dev")] {
        let run = try await store.startRun(Store.NewRun(
            experimentID: experiment.id, name: name, tags: ["stage": stage], params: ["lr": .double(lr), "opt": .string("adam")]
        ))
        ids[name] = run.id
        if name != "tiny" {
            _ = try await store.endRun(id: run.id, state: .completed, error: "")
        }
        try await store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO metric_series (run_pk, key, count, finite_count, min, max, sum, last_value, last_step) VALUES (?, 'val_acc', 2, 2, ?, ?, ?, ?, 1)",
                arguments: [run.pk, lr * 5, lr * 9, lr * 14, lr * 9]
            )
        }
    }

    var router = RPCRouter()
    TrackingProvider(store: store, blobs: blobs, logger: Logger(label: "test")).registerMethods(with: &router)
    return try await body(TrackingClient(transport: InProcessTransport(router: router)), ids)
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
            #expect(first.runs.first?.metrics.first?.key == "val_acc")
            #expect(first.runs.first?.status == .completed)
            #expect(first.nextPageToken.isEmpty == false)

            request.pageToken = first.nextPageToken
            let second = try await client.searchRuns(request)
            #expect(second.runs.map(\.id) == [ids["tiny"]])
            #expect(second.runs.first?.status == .running)
            #expect(second.runs.first?.durationMs ?? -1 >= 0)
            #expect(second.nextPageToken.isEmpty)

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
