public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    /// Most runs one comparison takes.
    static let maxComparedRuns = 1000

    public func compareRuns(request: CompareRunsRequest, context: ServerContext) async throws -> CompareRunsResponse {
        guard !request.experimentIds.isEmpty || !request.runIds.isEmpty else {
            throw Self.invalid("name at least one experiment or run to compare", field: "run_ids")
        }
        let records = try await mapStoreErrors { () -> [RunRecord] in
            var records: [RunRecord] = []
            var seen = Set<String>()
            for experimentID in request.experimentIds {
                var token = ""
                repeat {
                    let page = try await store.listRuns(experimentIDs: [experimentID], parentRunID: nil, pageSize: PageToken.maximumSize, pageToken: token)
                    for run in page.items.reversed() where seen.insert(run.id).inserted { records.append(run) }
                    token = page.nextPageToken
                    if records.count > Self.maxComparedRuns { break }
                } while !token.isEmpty
            }
            for runID in request.runIds where seen.insert(runID).inserted {
                records.append(try await store.run(id: runID))
            }
            return records
        }
        guard records.count <= Self.maxComparedRuns else {
            throw Self.invalid("a comparison takes at most \(Self.maxComparedRuns) runs, got more", field: "run_ids")
        }
        var goals: [String: [String: Int]] = [:]
        for experimentID in Set(records.map(\.experimentID)) {
            goals[experimentID] = try await mapStoreErrors { try await store.experiment(id: experimentID).metricGoals }
        }
        var response = CompareRunsResponse()
        response.runs = records.map { record in
            var run = ComparedRun()
            run.runId = record.id
            run.experimentId = record.experimentID
            run.name = record.name
            run.status = RunStatus(record.state)
            run.params = record.params.mapValues(ParamValue.init)
            run.metrics = record.metrics.map(MetricSummary.init)
            return run
        }
        response.params = Self.paramDiffs(records)
        response.metrics = Self.metricComparisons(records, goals: goals)
        return response
    }

    static func paramDiffs(_ records: [RunRecord]) -> [ParamDiff] {
        let keys = Set(records.flatMap(\.params.keys)).sorted()
        return keys.map { key in
            var diff = ParamDiff()
            diff.key = key
            let values = records.map { $0.params[key] }
            diff.values = values.map { $0.map(ParamValue.init) ?? ParamValue() }
            diff.differs = Set(values.map { $0.map(ComparableParam.init) }).count > 1
            return diff
        }
    }

    /// Param values compared for "differs": NaN equals NaN, and an int never equals a double.
    private struct ComparableParam: Hashable {
        let text: String
        init(_ value: ParamValueRecord) {
            switch value {
            case .string(let s): text = "s:" + s
            case .int(let i): text = "i:\(i)"
            case .double(let d): text = d.isNaN ? "d:nan" : "d:\(d)"
            case .bool(let b): text = "b:\(b)"
            }
        }
    }

    /// The goal of a metric: declared on the experiment, else minimize for names containing
    /// "loss" or "error", else maximize.
    static func goal(for key: String, declared: Int?) -> MetricGoal {
        if let declared, declared != 0 { return MetricGoal(rawValue: Int32(declared)) }
        let lower = key.lowercased()
        return lower.contains("loss") || lower.contains("error") ? .minimize : .maximize
    }

    static func metricComparisons(_ records: [RunRecord], goals: [String: [String: Int]]) -> [MetricComparison] {
        var byKey: [String: [(run: RunRecord, value: Double)]] = [:]
        for record in records {
            for metric in record.metrics where !metric.lastValue.isNaN {
                byKey[metric.key, default: []].append((record, metric.lastValue))
            }
        }
        return byKey.keys.sorted().map { key in
            let entries = byKey[key]!
            // The first run's experiment decides a declared goal.
            let declared = goals[entries[0].run.experimentID]?[key]
            let goal = goal(for: key, declared: declared)
            let better: (Double, Double) -> Bool = goal == .minimize ? { $0 < $1 } : { $0 > $1 }
            var best = entries[0]
            var worst = entries[0]
            for entry in entries.dropFirst() {
                if better(entry.value, best.value) { best = entry }
                if better(worst.value, entry.value) { worst = entry }
            }
            var comparison = MetricComparison()
            comparison.key = key
            comparison.goal = goal
            comparison.bestRunId = best.run.id
            comparison.bestValue = best.value
            comparison.worstRunId = worst.run.id
            comparison.worstValue = worst.value
            comparison.runCount = UInt32(entries.count)
            return comparison
        }
    }
}
