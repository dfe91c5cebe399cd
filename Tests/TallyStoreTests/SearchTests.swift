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

/// The cases that depend on this fixture's exact rows: aggregates and durations written as
/// they are, and two runs started at the same time. Every other search case runs on both
/// engines in Tests/StoreEngineTests/EngineSearchTests.swift.
@Suite("Run search")
struct SearchTests {
    @Test("filters select the expected runs", arguments: [
        // The mean is sum / finite count as written: exactly 0.4.
        ("metrics.val_acc.mean = 0.4", ["run2"]),
        (#"experiment_id like "exp%""#, ["run1", "run2", "run3", "run4", "run5"]),
        // Two runs started at 4000.
        ("started_at = 4000.0", ["run4", "run5"]),
        // Durations: completed - started, or now - started while running (run3).
        ("duration >= 4000", ["run1", "run3", "run4"]),
        ("duration < 1000", ["run5"]),
        ("duration = 1000", ["run2"]),
    ])
    func filter(filter: String, expected: [String]) async throws {
        try await withSearchStore { (store) async throws in
            #expect(try await store.searchIDs(filter).sorted() == expected)
        }
    }

    @Test("runs started at the same time keep one order in both directions", arguments: [
        ([String](), ["run5", "run4", "run3", "run2", "run1"]),
        (["started_at desc"], ["run5", "run4", "run3", "run2", "run1"]),
        (["started_at"], ["run1", "run2", "run3", "run5", "run4"]),
    ])
    func order(orderBy: [String], expected: [String]) async throws {
        try await withSearchStore { (store) async throws in
            #expect(try await store.searchIDs("", orderBy: orderBy) == expected)
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
