package import Logging
package import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// Loads full run records (params, tags, metric summaries ordered by key, child counts), in
    /// the order of `pks`; keys of runs that do not exist are skipped. As SQLite's `runRecords`.
    package static func runRecords(_ connection: PostgresConnection, pks: [Int64], logger: Logger) async throws -> [RunRecord] {
        guard !pks.isEmpty else { return [] }
        var records: [Int64: RunRecord] = [:]
        for chunk in pks.chunked(into: 1000) {
            let rows = try await connection.query("""
                SELECT r.pk, r.id, r.experiment_pk, e.id, p.id, r.name, r.status, r.error, r.started_at_ms, r.completed_at_ms,
                       (SELECT COUNT(*) FROM runs c WHERE c.parent_pk = r.pk), r.last_contact_ms, r.note, r.created_by
                FROM runs r JOIN experiments e ON e.pk = r.experiment_pk LEFT JOIN runs p ON p.pk = r.parent_pk
                WHERE r.pk = ANY(\(chunk))
                """, logger: logger)
            for try await (pk, id, experimentPK, experimentID, parentID, name, status, error, startedAt, completedAt, childCount, lastContact, note, createdBy)
                in rows.decode((Int64, String, Int64, String, String?, String, Int64, String, Int64, Int64, Int64, Int64, String, String).self) {
                records[pk] = RunRecord(
                    pk: pk, id: id, experimentPK: experimentPK, experimentID: experimentID, parentID: parentID, name: name,
                    state: RunState(rawValue: Int(status)) ?? .running, error: error, startedAtMs: startedAt, completedAtMs: completedAt,
                    tags: [:], params: [:], metrics: [], childCount: childCount, lastContactMs: lastContact, note: note, createdBy: createdBy
                )
            }
            for try await (runPK, key, value) in try await connection.query(
                "SELECT run_pk, key, value FROM run_tags WHERE run_pk = ANY(\(chunk))", logger: logger
            ).decode((Int64, String, String).self) {
                records[runPK]?.tags[key] = value
            }
            for try await (runPK, key, type, text, int, num) in try await connection.query(
                "SELECT run_pk, key, type, text_value, int_value, num_value FROM params WHERE run_pk = ANY(\(chunk))", logger: logger
            ).decode((Int64, String, Int64, String?, Int64?, Double?).self) {
                records[runPK]?.params[key] = paramValue(type: type, text: text, int: int, num: num)
            }
            for try await (runPK, key, count, finiteCount, min, max, sum, lastValue, lastStep, lastTimestamp, firstStep) in try await connection.query("""
                SELECT run_pk, key, count, finite_count, min, max, sum, last_value, last_step, last_timestamp_ms, first_step
                FROM metric_series WHERE run_pk = ANY(\(chunk)) ORDER BY key
                """, logger: logger
            ).decode((Int64, String, Int64, Int64, Double?, Double?, Double?, Double?, Int64, Int64, Int64).self) {
                records[runPK]?.metrics.append(MetricSummaryRecord(
                    key: key, count: count, finiteCount: finiteCount, min: min, max: max, sum: sum ?? .nan,
                    lastValue: lastValue ?? .nan, lastStep: lastStep, lastTimestampMs: lastTimestamp, firstStep: firstStep
                ))
            }
        }
        return pks.compactMap { records[$0] }
    }

    /// A param's value from its columns (``PostgresSchema``): a double stored as NULL is NaN.
    static func paramValue(type: Int64, text: String?, int: Int64?, num: Double?) -> ParamValueRecord {
        switch type {
        case 1: .string(text ?? "")
        case 2: .int(int ?? 0)
        case 3: .double(num ?? .nan)
        case 4: .bool((int ?? 0) != 0)
        default: .string(text ?? "")
        }
    }
}

fileprivate extension Array {
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
