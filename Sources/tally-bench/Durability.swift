import Foundation
import TallyStore

/// What syncing the WAL at every commit costs: one writer commits small metric batches (the
/// unary `LogMetrics` a training loop sends) and whole run lifecycles in a store opened as the
/// daemon opens it (`synchronous = FULL`), next to the same work with `NORMAL` (synced only at
/// checkpoints, which the connection pool sets by default) as the baseline.
func benchDurability(report: Report, directory: String, quick: Bool) async throws {
    let commits = quick ? 500 : 2_000
    var perCommit: [Store.Durability: Double] = [:]
    var perRun: [Store.Durability: Double] = [:]
    for durability in [Store.Durability.normal, .full] {
        let folder = directory + "/durability-\(durability.rawValue)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try Store(path: folder + "/tally.sqlite", durability: durability)
        defer { try? store.close() }
        let run = try await store.startRun(Store.NewRun(experimentName: "durability", createExperiment: true))
        log("durability: \(commits) commits of 10 points, \(durability.rawValue)")
        var start = now()
        for i in 0..<commits {
            let batch = MetricPointBatch(
                runID: run.id, keys: ["loss"], keyIndex: [UInt32](repeating: 0, count: 10),
                values: (0..<10).map { Double(i * 10 + $0) }, steps: [], timestampsMs: [], receivedAtMs: 1)
            _ = try await store.commitMetrics([batch])
        }
        perCommit[durability] = (now() - start) / Double(commits)
        let runs = commits / 4
        start = now()
        for _ in 0..<runs {
            let record = try await store.startRun(Store.NewRun(experimentName: "durability"))
            _ = try await store.endRun(id: record.id, state: .completed, error: "")
        }
        perRun[durability] = (now() - start) / Double(runs)
    }
    let commitFull = perCommit[.full]!, commitNormal = perCommit[.normal]!
    report.add(Figure(
        name: "Metric batch commit (10 points, one writer), synchronous = FULL, mean",
        value: fmt(commitFull * 1e6, 0) + " µs", baseline: fmt(commitNormal * 1e6, 0) + " µs with NORMAL",
        ratio: ratio(commitFull / commitNormal), target: "—", met: nil))
    let runFull = perRun[.full]!, runNormal = perRun[.normal]!
    report.add(Figure(
        name: "Run start + end (2 commits), synchronous = FULL, mean",
        value: fmt(runFull * 1e6, 0) + " µs", baseline: fmt(runNormal * 1e6, 0) + " µs with NORMAL",
        ratio: ratio(runFull / runNormal), target: "—", met: nil))
}
