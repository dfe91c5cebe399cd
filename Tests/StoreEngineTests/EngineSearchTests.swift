import Foundation
import TallyStore
import Testing

/// Five runs in two experiments, made through ``StoreEngine`` on every engine, so that a
/// search answers the same ids on each (the cases of Tests/TallyStoreTests/SearchTests.swift,
/// on runs whose times come from the store).
struct SearchCorpus {
    let store: any StoreEngine
    let engine: Engine
    /// `{expa}`, `{expb}`, `{t1}`…`{t5}` (start times), `{c1}`… (completion times) in filters.
    var substitutions: [String: String] = [:]

    static func batch(_ run: String, _ key: String, _ values: [Double], firstStep: Int64 = 0) -> MetricPointBatch {
        MetricPointBatch(
            runID: run, keys: [key], keyIndex: [UInt32](repeating: 0, count: values.count), values: values,
            steps: (0..<Int64(values.count)).map { firstStep + $0 }, timestampsMs: [], receivedAtMs: 1_000
        )
    }

    static func make(_ f: EngineFixture) async throws -> SearchCorpus {
        let store = f.store
        var corpus = SearchCorpus(store: store, engine: f.engine)
        let expa = try await store.createExperiment(NewExperiment(name: "experiment a"))
        let expb = try await store.createExperiment(NewExperiment(name: "experiment b"))
        corpus.substitutions["{expa}"] = expa.id
        corpus.substitutions["{expb}"] = expb.id
        let runs: [(String, String, String, [String: ParamValueRecord], [String: String], String?)] = [
            ("run1", expa.id, "bert-base", ["lr": .double(0.001), "layers": .int(12), "opt": .string("adam"), "flag": .bool(true), "seed": .int(9_007_199_254_740_993)], ["stage": "prod"], nil),
            ("run2", expa.id, "bert-large", ["lr": .double(0.01), "layers": .int(24), "opt": .string("sgd"), "flag": .bool(false), "seed": .int(9_007_199_254_740_992)], ["stage": "dev"], nil),
            ("run3", expa.id, "Bert-tiny", ["lr": .string("0.001"), "layers": .double(6), "opt": .string("adam"), "seed": .double(9_007_199_254_740_992)], [:], nil),
            ("run4", expb.id, "gpt", ["lr": .double(0.0001), "nanp": .double(.nan)], ["stage": "prod", "team/a:b": "x", "a.b": "dotted"], "run1"),
            ("run5", expb.id, "gpt_2", ["nanp": .double(.nan)], ["note": "50% done"], nil),
        ]
        for (index, (id, experiment, name, params, tags, parent)) in runs.enumerated() {
            let record = try await store.startRun(NewRun(experimentID: experiment, name: name, parentRunID: parent, id: id))
            if !params.isEmpty { _ = try await store.logParams(runID: id, params: params) }
            if !tags.isEmpty { _ = try await store.setRunTags(id: id, set: tags, remove: [], maxTags: 100) }
            corpus.substitutions["{t\(index + 1)}"] = String(record.startedAtMs)
            try await Task.sleep(for: .milliseconds(3))
        }
        let results = try await store.commitMetrics([
            batch("run1", "val_acc", [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.9, 0.85, 0.9, 0.93]),
            batch("run1", "loss", [0.2]),
            batch("run2", "val_acc", [0.1, 0.2, 0.3, 0.4, 0.5, 0.85, 0.3, 0.2, 0.4, 0.8]),
            batch("run2", "loss", [0.3, 0.9, .nan]),
            batch("run3", "val_acc", [.nan, .nan, .nan]),
            batch("run3", "loss", [.infinity]),
            batch("run4", "a.b", [1]),
            batch("run4", "val_acc", [0.9, 0.95, 0.99, 0.96, 0.97], firstStep: 5),
        ])
        for result in results { _ = try result.get() }
        // Ended in this order: completion times ascending run2, run5, run1, run4.
        for (id, state) in [("run2", RunState.failed), ("run5", .completed), ("run1", .completed), ("run4", .killed)] {
            let record = try await store.endRun(id: id, state: state, error: "")
            corpus.substitutions["{c\(id.dropFirst(3))}"] = String(record.completedAtMs)
            try await Task.sleep(for: .milliseconds(3))
        }
        return corpus
    }

    func expand(_ text: String) -> String {
        substitutions.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
    }

    func ids(_ filter: String, orderBy: [String] = [], experiments: [String] = []) async throws -> [String] {
        try await store.searchRuns(
            experimentIDs: experiments.map(expand), filter: expand(filter), orderBy: orderBy.map(expand), pageSize: 1000, pageToken: ""
        ).items.map(\.id)
    }

    /// The runs sorted here by the one order term of `orderBy` that depends on the corpus
    /// (duration, experiment id, seed), then by the second (id or name), then `started_at desc`.
    /// `now` stands for the time the engine took as "now" for a running run's duration.
    func sortedLocally(_ orderBy: [String], now: Int64 = Identifiers.nowMs()) async throws -> [String] {
        let runs = try await store.searchRuns(experimentIDs: [], filter: "", orderBy: [], pageSize: 1000, pageToken: "").items
        func key(_ run: RunRecord, _ term: String) -> String {
            switch term.split(separator: " ")[0] {
            case "duration": String(format: "%020lld", (run.completedAtMs > 0 ? run.completedAtMs : now) - run.startedAtMs)
            case "experiment_id": run.experimentID
            case "name": run.name
            case "id": run.id
            default: ""
            }
        }
        let terms = orderBy.map { ($0, $0.hasSuffix(" desc")) }
        return runs.sorted { a, b in
            for (term, descending) in terms {
                let (x, y) = (key(a, term), key(b, term))
                if x != y { return descending ? x > y : x < y }
            }
            // The engines' tie-break: started_at desc, then pk desc (runs started in one
            // millisecond tie on every other term).
            return a.startedAtMs != b.startedAtMs ? a.startedAtMs > b.startedAtMs : a.pk > b.pk
        }.map(\.id)
    }

    /// Runs `body` with a corpus on each available engine.
    static func withCorpora(_ body: ([SearchCorpus]) async throws -> Void) async throws {
        try await EngineFixture.with(.sqlite) { sqlite in
            let first = try await SearchCorpus.make(sqlite)
            if Engine.available.contains(.postgres) {
                try await EngineFixture.with(.postgres) { postgres in
                    try await body([first, try await SearchCorpus.make(postgres)])
                }
            } else {
                try await body([first])
            }
        }
    }
}

@Suite("Store engines: run search")
struct EngineSearchTests {
    /// Filters and the runs they select (sorted); `nil`: only compared across engines.
    static let filters: [(String, [String]?)] = [
        // Params: numbers match int and double params only, strings string params only.
        ("params.lr < 0.01", ["run1", "run4"]),
        ("params.lr <= 0.01", ["run1", "run2", "run4"]),
        ("params.lr = 0.01", ["run2"]),
        ("params.lr != 0.01", ["run1", "run4"]),
        ("params.lr > 0.001", ["run2"]),
        ("params.lr >= 0.001", ["run1", "run2"]),
        (#"params.lr = "0.001""#, ["run3"]),
        ("params.layers = 6", ["run3"]),
        ("params.layers = 6.0", ["run3"]),
        ("params.layers = 12.0", ["run1"]),
        ("params.layers > 6.5", ["run1", "run2"]),
        ("params.layers in (12, 6)", ["run1", "run3"]),
        ("params.layers not in (12, 6)", ["run2"]),
        (#"params.opt in ("adam", 12)"#, ["run1", "run3"]),
        (#"params.opt not in ("adam")"#, ["run2"]),
        (#"params.opt < "b""#, ["run1", "run3"]),
        ("params.seed = 9007199254740993", ["run1"]),
        ("params.seed > 9007199254740992", ["run1"]),
        ("params.seed = 9007199254740992", ["run2", "run3"]),
        ("params.seed != 9007199254740993", ["run2", "run3"]),
        ("params.seed < 9007199254740993", ["run2", "run3"]),
        ("params.seed >= 9007199254740993", ["run1"]),
        ("params.seed <= 9223372036854775807", ["run1", "run2", "run3"]),
        ("params.seed > -9223372036854775807", ["run1", "run2", "run3"]),
        ("params.seed in (9007199254740993, 1)", ["run1"]),
        ("params.seed in (9007199254740992)", ["run2", "run3"]),
        ("params.seed not in (9007199254740993, 0.5)", ["run2", "run3"]),
        ("params.nanp not in (1, 2)", []),
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
        // Missing params; NaN is missing.
        ("params.lr is null", ["run5"]),
        ("params.layers is null", ["run4", "run5"]),
        ("params.layers is not null", ["run1", "run2", "run3"]),
        ("params.nanp is null", ["run1", "run2", "run3", "run4", "run5"]),
        ("params.nanp != 1", []),
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
        (#"tags.note ilike "%DONE""#, ["run5"]),
        // Metrics: `last` by default; NaN aggregates are missing; infinities compare.
        ("metrics.val_acc > 0.9", ["run1", "run4"]),
        ("metrics.val_acc.last > 0.9", ["run1", "run4"]),
        ("metrics.val_acc.max >= 0.9", ["run1", "run4"]),
        ("metrics.val_acc.min < 0.2", ["run2"]),
        ("metrics.val_acc.mean > 0.7", ["run1", "run4"]),
        ("metrics.val_acc.mean < 0.5", ["run2"]),
        ("metrics.val_acc.count = 3", ["run3"]),
        ("metrics.val_acc.count = 3.0", ["run3"]),
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
        (#"name like "%""#, ["run1", "run2", "run3", "run4", "run5"]),
        (#"name not ilike "BERT%""#, ["run4", "run5"]),
        (#"id = "run1""#, ["run1"]),
        (#"id in ("run2", "run3", "nope")"#, ["run2", "run3"]),
        (#"experiment_id = "{expb}""#, ["run4", "run5"]),
        (#"experiment_id != "{expb}""#, ["run1", "run2", "run3"]),
        (#"experiment_id like "%""#, ["run1", "run2", "run3", "run4", "run5"]),
        (#"parent_run_id = "run1""#, ["run4"]),
        (#"parent_run_id != "run1""#, []),
        ("parent_run_id is null", ["run1", "run2", "run3", "run5"]),
        ("parent_run_id is not null", ["run4"]),
        (#"not parent_run_id = "run1""#, ["run1", "run2", "run3", "run5"]),
        ("started_at >= {t3}", ["run3", "run4", "run5"]),
        ("started_at = {t4}.0", ["run4"]),
        ("started_at < {t2}.5", ["run1", "run2"]),
        ("completed_at < {c5}", ["run2"]),
        ("completed_at is null", ["run3"]),
        ("completed_at is not null", ["run1", "run2", "run4", "run5"]),
        ("not completed_at > 0", ["run3"]),
        ("duration >= 0", ["run1", "run2", "run3", "run4", "run5"]),
        ("duration < 100000000", ["run1", "run2", "run3", "run4", "run5"]),
        ("duration > 100000000", []),
        ("name is null", []),
        ("name is not null", ["run1", "run2", "run3", "run4", "run5"]),
        // Combinations.
        (#"params.lr < 0.01 and (metrics.val_acc.max >= 0.9 or tags.stage = "prod") and status = "completed""#, ["run1"]),
        (#"params.lr < 0.01 and (metrics.val_acc.max >= 0.9 or tags.stage = "prod")"#, ["run1", "run4"]),
        (#"status = "running" or params.flag = false and tags.stage = "dev""#, ["run2", "run3"]),
        (#"(status = "running" or params.flag = false) and tags.stage = "dev""#, ["run2"]),
        (#"STATUS = "Completed" AND Params.lr < 1"#, ["run1"]),
        (#"not (not (params.opt = "adam" or params.opt = "sgd") and tags.stage is null)"#, ["run1", "run2", "run3", "run4"]),
        ("", ["run1", "run2", "run3", "run4", "run5"]),
        // User text never reaches the SQL.
        (#"name = "x' OR 1=1 --""#, []),
        (#"tags.`x') OR 1=1 --` is not null"#, []),
        (#"params.`a'b` = "'""#, []),
        (#"name = "$1""#, []),
        (#"name like "?%""#, []),
    ]

    @Test("filters select the same runs on every engine")
    func filters() async throws {
        try await SearchCorpus.withCorpora { (corpora) async throws in
            for (filter, expected) in Self.filters {
                var answers: [[String]] = []
                for corpus in corpora {
                    do {
                        answers.append(try await corpus.ids(filter).sorted())
                    } catch {
                        Issue.record("\(corpus.engine): \(filter): \(error)")
                        answers.append(["error"])
                    }
                }
                if let expected { #expect(answers[0] == expected, "\(filter)") }
                #expect(Set(answers.map { $0.joined(separator: ",") }).count == 1, "\(filter): \(answers)")
            }
        }
    }

    /// Orders and the runs in order; `nil`: only compared across engines.
    static let orders: [([String], [String]?)] = [
        ([], ["run5", "run4", "run3", "run2", "run1"]),
        (["started_at desc"], ["run5", "run4", "run3", "run2", "run1"]),
        (["started_at"], ["run1", "run2", "run3", "run4", "run5"]),
        (["metrics.val_acc.max desc"], ["run4", "run1", "run2", "run5", "run3"]),
        (["metrics.val_acc.max asc"], ["run2", "run1", "run4", "run5", "run3"]),
        (["metrics.val_acc.mean desc"], ["run4", "run1", "run2", "run5", "run3"]),
        (["metrics.val_acc.count", "name"], ["run3", "run4", "run1", "run2", "run5"]),
        (["metrics.loss"], ["run1", "run3", "run5", "run4", "run2"]),
        (["metrics.loss desc"], ["run3", "run1", "run5", "run4", "run2"]),
        // Numbers (bools as 0/1) before strings; missing (and NaN) last.
        (["params.lr"], ["run4", "run1", "run2", "run3", "run5"]),
        (["params.lr desc"], ["run3", "run2", "run1", "run4", "run5"]),
        (["params.flag desc"], ["run1", "run2", "run5", "run4", "run3"]),
        (["params.layers desc"], ["run2", "run1", "run3", "run5", "run4"]),
        (["params.seed"], ["run3", "run2", "run1", "run5", "run4"]),
        (["params.nanp"], ["run5", "run4", "run3", "run2", "run1"]),
        (["tags.stage", "name desc"], ["run2", "run4", "run1", "run5", "run3"]),
        (["tags.stage desc, name"], ["run1", "run4", "run2", "run3", "run5"]),
        (["name"], ["run3", "run1", "run2", "run4", "run5"]),
        (["completed_at desc"], ["run4", "run1", "run5", "run2", "run3"]),
        (["completed_at"], ["run2", "run5", "run1", "run4", "run3"]),
        (["duration"], nil),
        (["duration desc", "id"], nil),
        (["params.seed desc"], ["run1", "run3", "run2", "run5", "run4"]),
        (["status"], ["run3", "run5", "run1", "run2", "run4"]),
        (["experiment_id desc", "name"], nil),
        (["parent_run_id"], ["run4", "run5", "run3", "run2", "run1"]),
        (["parent_run_id desc"], ["run4", "run5", "run3", "run2", "run1"]),
        (["id desc"], ["run5", "run4", "run3", "run2", "run1"]),
    ]

    @Test("order terms sort runs the same on every engine, missing values last in both directions")
    func orders() async throws {
        try await SearchCorpus.withCorpora { (corpora) async throws in
            for (orderBy, expected) in Self.orders {
                var answers: [[String]] = []
                // The running run's duration grows while the test runs: the engine took its "now"
                // between these two readings.
                var nows: [(before: Int64, after: Int64)] = []
                for corpus in corpora {
                    let before = Identifiers.nowMs()
                    do {
                        answers.append(try await corpus.ids("", orderBy: orderBy))
                    } catch {
                        Issue.record("\(corpus.engine): \(orderBy): \(error)")
                        answers.append(["error"])
                    }
                    nows.append((before, Identifiers.nowMs()))
                }
                if let expected {
                    #expect(answers[0] == expected, "\(orderBy)")
                    #expect(Set(answers.map { $0.joined(separator: ",") }).count == 1, "\(orderBy): \(answers)")
                } else {
                    // Times and experiment ids differ between the engines' corpora: each order
                    // is checked against its own records.
                    for ((corpus, answer), now) in zip(zip(corpora, answers), nows) {
                        let early = try await corpus.sortedLocally(orderBy, now: now.before)
                        let late = try await corpus.sortedLocally(orderBy, now: now.after)
                        #expect(answer == early || answer == late, "\(corpus.engine): \(orderBy): \(answer), expected \(early) or \(late)")
                    }
                }
            }
            for corpus in corpora {
                #expect(try await corpus.ids("metrics.val_acc.count > 0", orderBy: ["metrics.val_acc desc"]) == ["run4", "run1", "run2", "run3"])
            }
        }
    }

    @Test("pages, totals, experiments and errors are the same on every engine")
    func pagingAndErrors() async throws {
        try await SearchCorpus.withCorpora { (corpora) async throws in
            for corpus in corpora {
                let store = corpus.store
                var token = ""
                var pages: [[String]] = []
                repeat {
                    let page = try await store.searchRuns(experimentIDs: [], filter: "", orderBy: [], pageSize: 2, pageToken: token)
                    #expect(page.totalCount == 5)
                    pages.append(page.items.map(\.id))
                    token = page.nextPageToken
                } while !token.isEmpty && pages.count < 10
                #expect(pages == [["run5", "run4"], ["run3", "run2"], ["run1"]], "\(corpus.engine)")

                let filtered = try await store.searchRuns(experimentIDs: [], filter: "params.lr is not null", orderBy: ["params.lr"], pageSize: 3, pageToken: "")
                #expect(filtered.items.map(\.id) == ["run4", "run1", "run2"])
                #expect(filtered.totalCount == 4 && filtered.nextPageToken == "o3")
                let last = try await store.searchRuns(experimentIDs: [], filter: "params.lr is not null", orderBy: ["params.lr"], pageSize: 3, pageToken: filtered.nextPageToken)
                #expect(last.items.map(\.id) == ["run3"] && last.nextPageToken == "")
                let beyond = try await store.searchRuns(experimentIDs: [], filter: "", orderBy: [], pageSize: 2, pageToken: "o50")
                #expect(beyond.items.isEmpty && beyond.totalCount == 5)
                let none = try await store.searchRuns(experimentIDs: [], filter: #"name = "nope""#, orderBy: [], pageSize: 0, pageToken: "")
                #expect(none.items.isEmpty && none.totalCount == 0 && none.nextPageToken == "")

                // Full records.
                let run = try #require(try await store.searchRuns(experimentIDs: [], filter: #"id = "run4""#, orderBy: [], pageSize: 10, pageToken: "").items.first)
                #expect(run.experimentID == corpus.expand("{expb}") && run.parentID == "run1" && run.state == .killed)
                #expect(run.params["lr"] == .double(0.0001) && Set(run.params.keys) == ["lr", "nanp"] && run.tags["team/a:b"] == "x")
                #expect(run.metrics.map(\.key) == ["a.b", "val_acc"])

                // Experiments.
                #expect(try await corpus.ids("", experiments: ["{expb}"]) == ["run5", "run4"])
                #expect(try await corpus.ids("", experiments: ["{expa}", "{expb}"]).count == 5)
                #expect(try await corpus.ids(#"tags.stage = "prod""#, experiments: ["{expa}"]) == ["run1"])
                let unknown = await #expect(throws: StoreError.self) { _ = try await corpus.ids("", experiments: ["nope"]) }
                #expect(unknown?.code == .notFound)

                // Errors.
                for (size, token) in [(0, "x1"), (1001, ""), (-1, "")] {
                    let error = await #expect(throws: StoreError.self) {
                        _ = try await store.searchRuns(experimentIDs: [], filter: "", orderBy: [], pageSize: size, pageToken: token)
                    }
                    #expect(error?.code == .invalidArgument)
                }
                let malformed = await #expect(throws: StoreError.self) { _ = try await corpus.ids("params.lr < ") }
                #expect(malformed?.code == .invalidArgument)
                #expect(malformed?.message == #"filter: expected a value after "<" at position 12"# && malformed?.position == 12 && malformed?.field == "filter")
                for (orderBy, position, message) in [
                    (["bogus"], 0, #"order_by[0]: unknown field "bogus""#),
                    (["name", "metrics.x.median"], 10, #"order_by[1]: unknown metric aggregate "median""#),
                    (["name asc desc"], 9, #"order_by[0]: expected "asc", "desc", "," or the end of the input, found "desc""#),
                ] {
                    let badOrder = await #expect(throws: StoreError.self) { _ = try await corpus.ids("", orderBy: orderBy) }
                    #expect(badOrder?.code == .invalidArgument && badOrder?.field == "order_by", "\(orderBy)")
                    #expect(badOrder?.message.hasPrefix(message) == true && badOrder?.position == position, "\(orderBy): \(badOrder?.message ?? "")")
                }
                let tooMany = await #expect(throws: StoreError.self) { _ = try await corpus.ids("", orderBy: Array(repeating: "name", count: Store.maximumOrderTerms + 1)) }
                #expect(tooMany?.code == .invalidArgument)
                #expect(try await corpus.ids("", orderBy: Array(repeating: "params.lr", count: Store.maximumOrderTerms)).count == 5)
            }
        }
    }

    @Test("filters at the length and depth limits run on every engine")
    func limits() async throws {
        try await SearchCorpus.withCorpora { (corpora) async throws in
            let term = #"id=""or "#
            let chain = String(repeating: term, count: (FilterParser.maximumLength - 9) / term.count) + #"id="run4""#
            let ands = String(repeating: #"name!="x"and "#, count: 700) + #"id="run2""#
            let deep = String(repeating: "not (", count: 50) + #"status = "running""# + String(repeating: ")", count: 50)
            let alternating = (0..<100).map { $0 % 2 == 0 ? #"id != "x" and ("# : #"id = "x" or ("# }.joined()
                + #"id = "run2""# + String(repeating: ")", count: 100)
            let balanced = (0..<100).map { _ in #"(id="a"or id="b"or id="c"or params.lr = 5 or tags.x="e"or "# }.joined()
                + #"id = "run1""# + String(repeating: ")", count: 100)
            #expect(chain.count <= FilterParser.maximumLength && balanced.count <= FilterParser.maximumLength)
            let tooLong = String(repeating: " ", count: FilterParser.maximumLength) + #"id = "x""#
            for corpus in corpora {
                let error = await #expect(throws: StoreError.self) { _ = try await corpus.ids(tooLong) }
                #expect(error?.code == .invalidArgument && error?.position == FilterParser.maximumLength, "\(corpus.engine)")
                #expect(try await corpus.ids(chain) == ["run4"], "\(corpus.engine)")
                #expect(try await corpus.ids(ands) == ["run2"], "\(corpus.engine)")
                #expect(try await corpus.ids(deep) == ["run3"], "\(corpus.engine)")
                #expect(try await corpus.ids(alternating) == ["run2"], "\(corpus.engine)")
                #expect(try await corpus.ids(balanced) == ["run1"], "\(corpus.engine)")
            }
        }
    }
}
