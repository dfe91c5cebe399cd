import Foundation
import GRDB
import Testing
@testable import TallyStore

/// Rows written straight into a fresh store, so that times, states, NaN and infinite metric
/// aggregates are exactly what the tests say.
struct SearchFixture {
    struct Series {
        var key: String
        var count: Int64 = 1
        var finiteCount: Int64 = 1
        var min: Double?
        var max: Double?
        var sum: Double = 0
        var last: Double?
        var firstStep: Int64 = 0
        var lastStep: Int64 = 0
    }

    struct RunRow {
        var id: String
        var experiment: Int64
        var parent: Int64? = nil
        var name: String
        var state: RunState
        var startedAt: Int64
        var completedAt: Int64 = 0
        var params: [String: ParamValueRecord] = [:]
        var tags: [String: String] = [:]
        var metrics: [Series] = []
    }

    /// Five runs in two experiments ("expa": run1–run3, "expb": run4, run5); pk n is run n.
    static let runs: [RunRow] = [
        RunRow(
            id: "run1", experiment: 1, name: "bert-base", state: .completed, startedAt: 1000, completedAt: 5000,
            params: ["lr": .double(0.001), "layers": .int(12), "opt": .string("adam"), "flag": .bool(true)],
            tags: ["stage": "prod"],
            metrics: [
                Series(key: "val_acc", count: 10, finiteCount: 10, min: 0.5, max: 0.95, sum: 8, last: 0.93, firstStep: 0, lastStep: 9),
                Series(key: "loss", min: 0.2, max: 0.2, sum: 0.2, last: 0.2),
            ]
        ),
        RunRow(
            id: "run2", experiment: 1, name: "bert-large", state: .failed, startedAt: 2000, completedAt: 3000,
            params: ["lr": .double(0.01), "layers": .int(24), "opt": .string("sgd"), "flag": .bool(false)],
            tags: ["stage": "dev"],
            metrics: [
                Series(key: "val_acc", count: 10, finiteCount: 10, min: 0.1, max: 0.85, sum: 4, last: 0.8, lastStep: 9),
                // Last point NaN.
                Series(key: "loss", count: 3, finiteCount: 2, min: 0.3, max: 0.9, sum: 1.2, last: nil, lastStep: 2),
            ]
        ),
        RunRow(
            id: "run3", experiment: 1, name: "Bert-tiny", state: .running, startedAt: 3000,
            params: ["lr": .string("0.001"), "layers": .double(6), "opt": .string("adam")],
            metrics: [
                // Every point NaN.
                Series(key: "val_acc", count: 3, finiteCount: 0, min: nil, max: nil, sum: 0, last: nil, lastStep: 2),
                Series(key: "loss", min: .infinity, max: .infinity, sum: .infinity, last: .infinity),
            ]
        ),
        RunRow(
            id: "run4", experiment: 2, parent: 1, name: "gpt", state: .killed, startedAt: 4000, completedAt: 10000,
            params: ["lr": .double(0.0001)],
            tags: ["stage": "prod", "team/a:b": "x", "a.b": "dotted"],
            metrics: [
                Series(key: "a.b", min: 1, max: 1, sum: 1, last: 1),
                Series(key: "val_acc", count: 5, finiteCount: 5, min: 0.9, max: 0.99, sum: 4.5, last: 0.97, firstStep: 5, lastStep: 9),
            ]
        ),
        RunRow(
            id: "run5", experiment: 2, name: "gpt_2", state: .completed, startedAt: 4000, completedAt: 4500,
            tags: ["note": "50% done"]
        ),
    ]

    let store: Store

    /// Writes `runs` into `store`.
    static func populate(_ store: Store, runs: [RunRow] = SearchFixture.runs) async throws {
        try await store.pool.write { db in
            for (pk, id) in [(1, "expa"), (2, "expb")] {
                try db.execute(
                    sql: "INSERT INTO experiments (pk, id, name, created_at_ms, updated_at_ms) VALUES (?, ?, ?, 0, 0)",
                    arguments: [pk, id, "experiment \(id)"]
                )
            }
            for (index, run) in runs.enumerated() {
                let pk = Int64(index + 1)
                try db.execute(
                    sql: "INSERT INTO runs (pk, id, experiment_pk, parent_pk, name, status, started_at_ms, completed_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [pk, run.id, run.experiment, run.parent, run.name, run.state.rawValue, run.startedAt, run.completedAt]
                )
                for (key, value) in run.params {
                    try db.execute(
                        sql: "INSERT INTO params (run_pk, key, type, value) VALUES (?, ?, ?, ?)",
                        arguments: [pk, key, value.typeCode, Store.databaseValue(value)]
                    )
                }
                for (key, value) in run.tags {
                    try db.execute(sql: "INSERT INTO run_tags (run_pk, key, value) VALUES (?, ?, ?)", arguments: [pk, key, value])
                }
                for series in run.metrics {
                    try db.execute(
                        sql: """
                            INSERT INTO metric_series (run_pk, key, count, finite_count, min, max, sum, last_value, last_step, last_timestamp_ms, first_step)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
                            """,
                        arguments: [pk, series.key, series.count, series.finiteCount, series.min, series.max, series.sum, series.last, series.lastStep, series.firstStep]
                    )
                }
            }
        }
    }
}

/// A fresh store holding ``SearchFixture/runs``.
func withSearchStore<T>(_ body: (Store) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { dir in
        let store = try Store(path: dir + "/tally.sqlite")
        defer { try? store.close() }
        try await SearchFixture.populate(store)
        return try await body(store)
    }
}

extension Store {
    /// Ids of every run matching `filter`, in the search's order.
    func searchIDs(_ filter: String, orderBy: [String] = [], experiments: [String] = []) async throws -> [String] {
        try await searchRuns(experimentIDs: experiments, filter: filter, orderBy: orderBy, pageSize: 1000, pageToken: "").items.map(\.id)
    }
}

@Suite("Run search")
struct SearchTests {
    @Test("filters select the expected runs", arguments: [
        // Params: numbers match int and double params only, strings string params only.
        ("params.lr < 0.01", ["run1", "run4"]),
        ("params.lr <= 0.01", ["run1", "run2", "run4"]),
        ("params.lr = 0.01", ["run2"]),
        ("params.lr != 0.01", ["run1", "run4"]),
        ("params.lr > 0.001", ["run2"]),
        ("params.lr >= 0.001", ["run1", "run2"]),
        (#"params.lr = "0.001""#, ["run3"]),
        ("params.layers = 6", ["run3"]),
        ("params.layers > 6.5", ["run1", "run2"]),
        ("params.layers in (12, 6)", ["run1", "run3"]),
        ("params.layers not in (12, 6)", ["run2"]),
        (#"params.opt in ("adam", 12)"#, ["run1", "run3"]),
        (#"params.opt not in ("adam")"#, ["run2"]),
        (#"params.opt < "b""#, ["run1", "run3"]),
        // Bools match bool params only.
        ("params.flag = true", ["run1"]),
        ("params.flag = false", ["run2"]),
        ("params.flag != true", ["run2"]),
        ("params.flag = 1", []),
        ("params.flag in (true, 24)", ["run1"]),
        ("params.layers in (true, 24)", ["run2"]),
        (#"params.opt like "ad%""#, ["run1", "run3"]),
        (#"params.opt like "AD%""#, []),
        (#"params.opt ilike "AD%""#, ["run1", "run3"]),
        (#"params.opt not like "a%""#, ["run2"]),
        (#"params.lr like "0%""#, ["run3"]),
        // Missing params.
        ("params.lr is null", ["run5"]),
        ("params.layers is null", ["run4", "run5"]),
        ("params.layers is not null", ["run1", "run2", "run3"]),
        ("not params.lr = 0.01", ["run1", "run3", "run4", "run5"]),
        ("params.nope != 1", []),
        // Tags.
        (#"tags.stage = "prod""#, ["run1", "run4"]),
        (#"tags.stage != "prod""#, ["run2"]),
        (#"not tags.stage = "prod""#, ["run2", "run3", "run5"]),
        (#"tags.stage < "q""#, ["run1", "run2", "run4"]),
        (#"tags.stage in ("dev", "x")"#, ["run2"]),
        ("tags.stage is null", ["run3", "run5"]),
        ("tags.stage is not null", ["run1", "run2", "run4"]),
        (#"tags.`a.b` = "dotted""#, ["run4"]),
        (#"tags.team/a:b = "x""#, ["run4"]),
        (#"tags.note like "50\\%%""#, ["run5"]),
        (#"tags.note like "50\%%""#, ["run5"]),
        (#"tags.note like "5_\%_done""#, ["run5"]),
        (#"tags.note like "50\_%""#, []),
        // Metrics: `last` by default; NaN aggregates are missing; infinities compare.
        ("metrics.val_acc > 0.9", ["run1", "run4"]),
        ("metrics.val_acc.last > 0.9", ["run1", "run4"]),
        ("metrics.val_acc.max >= 0.9", ["run1", "run4"]),
        ("metrics.val_acc.min < 0.2", ["run2"]),
        ("metrics.val_acc.mean > 0.7", ["run1", "run4"]),
        ("metrics.val_acc.mean = 0.4", ["run2"]),
        ("metrics.val_acc.count = 3", ["run3"]),
        ("metrics.val_acc.count > 0", ["run1", "run2", "run3", "run4"]),
        ("metrics.val_acc.last_step = 9", ["run1", "run2", "run4"]),
        ("metrics.val_acc.first_step > 0", ["run4"]),
        ("metrics.val_acc.max is null", ["run3", "run5"]),
        ("metrics.val_acc.mean is null", ["run3", "run5"]),
        ("metrics.val_acc.count is null", ["run5"]),
        ("metrics.loss is null", ["run2", "run4", "run5"]),
        ("metrics.loss is not null", ["run1", "run3"]),
        ("metrics.loss.max is not null", ["run1", "run2", "run3"]),
        ("metrics.loss > 1000", ["run3"]),
        ("metrics.loss != 0.2", ["run3"]),
        ("metrics.loss.max >= 0.9", ["run2", "run3"]),
        ("metrics.loss in (0.2, 5)", ["run1"]),
        ("metrics.loss not in (0.2, 5)", ["run3"]),
        ("not metrics.loss < 1", ["run2", "run3", "run4", "run5"]),
        ("metrics.`a.b` = 1", ["run4"]),
        ("metrics.`a.b`.last = 1", ["run4"]),
        // Attributes.
        (#"status = "completed""#, ["run1", "run5"]),
        (#"status = "Completed""#, ["run1", "run5"]),
        (#"status != "completed""#, ["run2", "run3", "run4"]),
        (#"status in ("failed", "killed")"#, ["run2", "run4"]),
        (#"status not in ("failed", "killed")"#, ["run1", "run3", "run5"]),
        (#"not (status = "running")"#, ["run1", "run2", "run4", "run5"]),
        (#"name = "gpt""#, ["run4"]),
        (#"name > "c""#, ["run4", "run5"]),
        (#"name like "bert%""#, ["run1", "run2"]),
        (#"name ilike "bert%""#, ["run1", "run2", "run3"]),
        (#"name like "gpt_2""#, ["run5"]),
        (#"name like "gpt\_%""#, ["run5"]),
        (#"name like "%[%""#, []),
        (#"name like "*""#, []),
        (#"id = "run1""#, ["run1"]),
        (#"id in ("run2", "run3", "nope")"#, ["run2", "run3"]),
        (#"experiment_id = "expb""#, ["run4", "run5"]),
        (#"experiment_id != "expb""#, ["run1", "run2", "run3"]),
        (#"experiment_id like "exp%""#, ["run1", "run2", "run3", "run4", "run5"]),
        (#"parent_run_id = "run1""#, ["run4"]),
        (#"parent_run_id != "run1""#, []),
        ("parent_run_id is null", ["run1", "run2", "run3", "run5"]),
        ("parent_run_id is not null", ["run4"]),
        (#"not parent_run_id = "run1""#, ["run1", "run2", "run3", "run5"]),
        ("started_at >= 3000", ["run3", "run4", "run5"]),
        ("started_at = 4000.0", ["run4", "run5"]),
        ("completed_at < 4000", ["run2"]),
        ("completed_at is null", ["run3"]),
        ("completed_at is not null", ["run1", "run2", "run4", "run5"]),
        ("not completed_at > 0", ["run3"]),
        ("duration >= 4000", ["run1", "run3", "run4"]),
        ("duration < 1000", ["run5"]),
        ("duration = 1000", ["run2"]),
        ("name is null", []),
        ("name is not null", ["run1", "run2", "run3", "run4", "run5"]),
        // Combinations and the issue's example.
        (#"params.lr < 0.01 and (metrics.val_acc.max >= 0.9 or tags.stage = "prod") and status = "completed""#, ["run1"]),
        (#"params.lr < 0.01 and (metrics.val_acc.max >= 0.9 or tags.stage = "prod")"#, ["run1", "run4"]),
        (#"status = "running" or params.flag = false and tags.stage = "dev""#, ["run2", "run3"]),
        (#"(status = "running" or params.flag = false) and tags.stage = "dev""#, ["run2"]),
        (#"STATUS = "Completed" AND Params.lr < 1"#, ["run1"]),
        ("", ["run1", "run2", "run3", "run4", "run5"]),
    ])
    func filter(filter: String, expected: [String]) async throws {
        try await withSearchStore { (store) async throws in
            #expect(try await store.searchIDs(filter).sorted() == expected)
        }
    }

    @Test("order terms sort runs, missing values last in both directions", arguments: [
        ([String](), ["run5", "run4", "run3", "run2", "run1"]),
        (["started_at desc"], ["run5", "run4", "run3", "run2", "run1"]),
        (["started_at"], ["run1", "run2", "run3", "run5", "run4"]),
        (["metrics.val_acc.max desc"], ["run4", "run1", "run2", "run5", "run3"]),
        (["metrics.val_acc.max asc"], ["run2", "run1", "run4", "run5", "run3"]),
        (["metrics.val_acc.mean desc"], ["run4", "run1", "run2", "run5", "run3"]),
        (["metrics.loss"], ["run1", "run3", "run5", "run4", "run2"]),
        (["metrics.loss desc"], ["run3", "run1", "run5", "run4", "run2"]),
        // Numbers sort before strings; missing last.
        (["params.lr"], ["run4", "run1", "run2", "run3", "run5"]),
        (["params.lr desc"], ["run3", "run2", "run1", "run4", "run5"]),
        (["tags.stage", "name desc"], ["run2", "run4", "run1", "run5", "run3"]),
        (["tags.stage desc, name"], ["run1", "run4", "run2", "run3", "run5"]),
        (["completed_at desc"], ["run4", "run1", "run5", "run2", "run3"]),
        (["completed_at"], ["run2", "run5", "run1", "run4", "run3"]),
        (["duration"], ["run5", "run2", "run1", "run4", "run3"]),
        (["status"], ["run3", "run5", "run1", "run2", "run4"]),
        (["experiment_id desc", "name"], ["run4", "run5", "run3", "run1", "run2"]),
        (["parent_run_id"], ["run4", "run5", "run3", "run2", "run1"]),
        (["parent_run_id desc"], ["run4", "run5", "run3", "run2", "run1"]),
        (["id desc"], ["run5", "run4", "run3", "run2", "run1"]),
    ])
    func order(orderBy: [String], expected: [String]) async throws {
        try await withSearchStore { (store) async throws in
            #expect(try await store.searchIDs("", orderBy: orderBy) == expected)
        }
    }

    @Test("a filter and an order together")
    func filterAndOrder() async throws {
        try await withSearchStore { (store) async throws in
            let ids = try await store.searchIDs("metrics.val_acc.count > 0", orderBy: ["metrics.val_acc desc"])
            #expect(ids == ["run4", "run1", "run2", "run3"])
        }
    }

    @Test("pages hold page_size runs with a token to the next page and the total count")
    func pagination() async throws {
        try await withSearchStore { (store) async throws in
            var token = ""
            var pages: [[String]] = []
            repeat {
                let page = try await store.searchRuns(experimentIDs: [], filter: "", orderBy: [], pageSize: 2, pageToken: token)
                #expect(page.totalCount == 5)
                pages.append(page.items.map(\.id))
                token = page.nextPageToken
            } while !token.isEmpty && pages.count < 10
            #expect(pages == [["run5", "run4"], ["run3", "run2"], ["run1"]])

            let filtered = try await store.searchRuns(experimentIDs: [], filter: "params.lr is not null", orderBy: ["params.lr"], pageSize: 3, pageToken: "")
            #expect(filtered.items.map(\.id) == ["run4", "run1", "run2"])
            #expect(filtered.totalCount == 4)
            #expect(filtered.nextPageToken == "o3")
            let last = try await store.searchRuns(experimentIDs: [], filter: "params.lr is not null", orderBy: ["params.lr"], pageSize: 3, pageToken: filtered.nextPageToken)
            #expect(last.items.map(\.id) == ["run3"])
            #expect(last.nextPageToken == "")

            let beyond = try await store.searchRuns(experimentIDs: [], filter: "", orderBy: [], pageSize: 2, pageToken: "o50")
            #expect(beyond.items.isEmpty)
            #expect(beyond.totalCount == 5)

            let none = try await store.searchRuns(experimentIDs: [], filter: #"name = "nope""#, orderBy: [], pageSize: 0, pageToken: "")
            #expect(none.items.isEmpty)
            #expect(none.totalCount == 0)
            #expect(none.nextPageToken == "")
        }
    }

    @Test("bad page sizes and tokens are invalid arguments", arguments: [(0, "x1"), (1001, ""), (-1, "")])
    func badPaging(size: Int, token: String) async throws {
        try await withSearchStore { (store) async throws in
            let error = await #expect(throws: StoreError.self) {
                _ = try await store.searchRuns(experimentIDs: [], filter: "", orderBy: [], pageSize: size, pageToken: token)
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("results carry the full run records")
    func records() async throws {
        try await withSearchStore { (store) async throws in
            let run = try #require(try await store.searchRuns(experimentIDs: [], filter: #"id = "run4""#, orderBy: [], pageSize: 10, pageToken: "").items.first)
            #expect(run.experimentID == "expb")
            #expect(run.parentID == "run1")
            #expect(run.state == .killed)
            #expect(run.params == ["lr": .double(0.0001)])
            #expect(run.tags["team/a:b"] == "x")
            #expect(run.metrics.map(\.key) == ["a.b", "val_acc"])
        }
    }

    @Test("experiment ids restrict the search")
    func experiments() async throws {
        try await withSearchStore { (store) async throws in
            #expect(try await store.searchIDs("", experiments: ["expb"]) == ["run5", "run4"])
            #expect(try await store.searchIDs("", experiments: ["expa", "expb"]).count == 5)
            #expect(try await store.searchIDs(#"tags.stage = "prod""#, experiments: ["expa"]) == ["run1"])
            let error = await #expect(throws: StoreError.self) { _ = try await store.searchIDs("", experiments: ["nope"]) }
            #expect(error?.code == .notFound)
        }
    }

    @Test("a malformed filter is an invalid argument with its position")
    func malformedFilter() async throws {
        try await withSearchStore { (store) async throws in
            let error = await #expect(throws: StoreError.self) { _ = try await store.searchIDs("params.lr < ") }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message == #"filter: expected a value after "<" at position 12"#)
            #expect(error?.position == 12)
            #expect(error?.field == "filter")
        }
    }

    @Test("a malformed order term is an invalid argument naming the term", arguments: [
        (["bogus"], 0, #"order_by[0]: unknown field "bogus""#),
        (["name", "metrics.x.median"], 10, #"order_by[1]: unknown metric aggregate "median""#),
        (["name asc desc"], 9, #"order_by[0]: expected "asc", "desc", "," or the end of the input, found "desc""#),
    ])
    func malformedOrder(orderBy: [String], position: Int, message: String) async throws {
        try await withSearchStore { (store) async throws in
            let error = await #expect(throws: StoreError.self) { _ = try await store.searchIDs("", orderBy: orderBy) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
            #expect(error?.position == position)
            #expect(error?.field == "order_by")
        }
    }

    @Test("more order terms than the limit are an invalid argument")
    func tooManyOrderTerms() async throws {
        try await withSearchStore { (store) async throws in
            let error = await #expect(throws: StoreError.self) {
                _ = try await store.searchIDs("", orderBy: Array(repeating: "name", count: Store.maximumOrderTerms + 1))
            }
            #expect(error?.code == .invalidArgument)
            #expect(try await store.searchIDs("", orderBy: Array(repeating: "name", count: Store.maximumOrderTerms)).count == 5)
        }
    }

    @Test("filters at the length and depth limits run in SQLite")
    func limits() async throws {
        try await withSearchStore { (store) async throws in
            // About 1,250 `or` terms: deeper than SQLite's expression depth limit unless balanced.
            let term = #"id=""or "#
            var chain = String(repeating: term, count: (FilterParser.maximumLength - 9) / term.count) + #"id="run4""#
            #expect(chain.count <= FilterParser.maximumLength)
            #expect(try await store.searchIDs(chain) == ["run4"])
            chain = String(repeating: #"name!="x"and "#, count: 700) + #"id="run2""#
            #expect(try await store.searchIDs(chain) == ["run2"])
            // The deepest nesting the parser accepts, in the shapes that nest SQL deepest.
            let deep = String(repeating: "not (", count: 50) + #"status = "running""# + String(repeating: ")", count: 50)
            #expect(try await store.searchIDs(deep) == ["run3"])
            let alternating = (0..<100).map { $0 % 2 == 0 ? #"id != "x" and ("# : #"id = "x" or ("# }.joined()
                + #"id = "run2""# + String(repeating: ")", count: 100)
            #expect(try await store.searchIDs(alternating) == ["run2"])
            let balanced = (0..<100).map { _ in #"(id="a"or id="b"or id="c"or id="d"or id="e"or "# }.joined()
                + #"id = "run1""# + String(repeating: ")", count: 100)
            #expect(balanced.count <= FilterParser.maximumLength)
            #expect(try await store.searchIDs(balanced) == ["run1"])
            let tooLong = String(repeating: " ", count: FilterParser.maximumLength) + #"id = "x""#
            let error = await #expect(throws: StoreError.self) { _ = try await store.searchIDs(tooLong) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.position == FilterParser.maximumLength)
        }
    }

    @Test("user text never reaches the SQL", arguments: [
        #"name = "x' OR 1=1 --""#,
        #"tags.`x') OR 1=1 --` is not null"#,
        #"params.`a'b` = "'""#,
    ])
    func injection(filter: String) async throws {
        try await withSearchStore { (store) async throws in
            #expect(try await store.searchIDs(filter).isEmpty)
        }
    }
}

@Suite("Run search timing")
struct SearchTimingTests {
    /// 10,000 runs with 20 params and 10 metric series each; prints how long the first page of a
    /// search filtering on a param and a metric aggregate, ordered by a metric, takes. Timing is
    /// printed, not asserted; run with TALLY_SEARCH_TIMING=1.
    @Test("search over 10,000 runs", .enabled(if: ProcessInfo.processInfo.environment["TALLY_SEARCH_TIMING"] != nil))
    func timing() async throws {
        try await withTemporaryDirectory { dir in
            let store = try Store(path: dir + "/tally.sqlite")
            defer { try? store.close() }
            try await store.pool.write { db in
                try db.execute(sql: "INSERT INTO experiments (pk, id, name, created_at_ms, updated_at_ms) VALUES (1, 'e', 'e', 0, 0)")
                let run = try db.makeStatement(sql: "INSERT INTO runs (pk, id, experiment_pk, name, status, started_at_ms, completed_at_ms) VALUES (?, ?, 1, ?, 2, ?, ?)")
                let param = try db.makeStatement(sql: "INSERT INTO params (run_pk, key, type, value) VALUES (?, ?, ?, ?)")
                let series = try db.makeStatement(sql: """
                    INSERT INTO metric_series (run_pk, key, count, finite_count, min, max, sum, last_value, last_step, last_timestamp_ms, first_step)
                    VALUES (?, ?, 100, 100, ?, ?, ?, ?, 99, 0, 0)
                    """)
                var generator = SystemRandomNumberGenerator()
                for pk in 1...10_000 {
                    try run.execute(arguments: [pk, "run\(pk)", "run \(pk)", pk * 1000, pk * 1000 + 500])
                    for index in 0..<20 {
                        if index % 4 == 0 {
                            try param.execute(arguments: [pk, "p\(index)", 1, "value\(Int.random(in: 0..<10, using: &generator))"])
                        } else {
                            try param.execute(arguments: [pk, "p\(index)", 3, Double.random(in: 0..<1, using: &generator)])
                        }
                    }
                    for index in 0..<10 {
                        let low = Double.random(in: 0..<0.5, using: &generator)
                        let high = Double.random(in: 0.5..<1, using: &generator)
                        try series.execute(arguments: [pk, "m\(index)", low, high, (low + high) * 50, Double.random(in: low...high, using: &generator)])
                    }
                }
            }
            let filter = "params.p3 < 0.5 and metrics.m2.max > 0.75"
            var timings: [Double] = []
            var total: Int64 = 0
            for _ in 0..<7 {
                let start = ContinuousClock.now
                let page = try await store.searchRuns(experimentIDs: [], filter: filter, orderBy: ["metrics.m1 desc"], pageSize: 50, pageToken: "")
                let elapsed = ContinuousClock.now - start
                timings.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                total = page.totalCount
                #expect(page.items.count == 50)
            }
            timings.sort()
            print("search timing: \(total) of 10000 runs match; first page in \(timings.map { String(format: "%.1f", $0) }.joined(separator: ", ")) ms (median \(String(format: "%.1f", timings[3])) ms)")
        }
    }
}
