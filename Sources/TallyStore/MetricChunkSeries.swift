/// The aggregates of one series while batches are applied, the same in every engine: what
/// `metric_series` holds, and the series' last chunk.
package struct MetricSeriesState: Sendable {
    package var pk: Int64
    package var key: String
    package var count: Int64
    package var finiteCount: Int64
    package var min: Double?
    package var max: Double?
    /// The sum of the finite values; NaN when undefined (+inf and -inf), stored as NULL.
    package var sum: Double
    /// NaN or `nil` is stored as NULL.
    package var lastValue: Double?
    package var lastStep: Int64
    package var lastTimestampMs: Int64
    package var firstStep: Int64
    /// The series' last chunk and its point count, if it has one.
    package var tailChunk: (pk: Int64, count: Int)?
    package var dirty = false

    package init(
        pk: Int64, key: String, count: Int64, finiteCount: Int64, min: Double?, max: Double?, sum: Double,
        lastValue: Double?, lastStep: Int64, lastTimestampMs: Int64, firstStep: Int64, tailChunk: (pk: Int64, count: Int)? = nil
    ) {
        self.pk = pk
        self.key = key
        self.count = count
        self.finiteCount = finiteCount
        self.min = min
        self.max = max
        self.sum = sum
        self.lastValue = lastValue
        self.lastStep = lastStep
        self.lastTimestampMs = lastTimestampMs
        self.firstStep = firstStep
        self.tailChunk = tailChunk
    }

    /// A series with no point yet (the columns' defaults).
    package static func empty(pk: Int64, key: String) -> MetricSeriesState {
        MetricSeriesState(pk: pk, key: key, count: 0, finiteCount: 0, min: nil, max: nil, sum: 0, lastValue: nil, lastStep: -1, lastTimestampMs: 0, firstStep: 0)
    }

    /// The last value as stored: NULL (`nil`) for NaN.
    package var storedLastValue: Double? { lastValue.flatMap { $0.isNaN ? nil : $0 } }

    @inline(__always)
    package mutating func add(value: Double, step: Int64, timeMs: Int64) {
        if count == 0 || step < firstStep { firstStep = step }
        count += 1
        if !value.isNaN {
            finiteCount += 1
            if let low = min { if value < low { min = value } } else { min = value }
            if let high = max { if value > high { max = value } } else { max = value }
            sum += value
        }
        if count == 1 || step >= lastStep {
            lastValue = value
            lastStep = step
            lastTimestampMs = timeMs
        }
        dirty = true
    }
}

/// A batch's points with their steps and times resolved, split by series.
package struct ResolvedMetricBatch: Sendable {
    /// One step per point (automatic steps filled in).
    package var steps: [Int64]
    /// One time per point (0 replaced by the receive time).
    package var times: [Int64]
    /// Each key's points, in the order logged, indexed like the batch's keys.
    package var columns: [PointColumns]

    /// The points as committed, for watchers.
    package func committed(_ batch: MetricPointBatch) -> CommittedPoints {
        CommittedPoints(runID: batch.runID, keys: batch.keys, keyIndex: batch.keyIndex, values: batch.values, steps: steps, timestampsMs: times)
    }
}

extension MetricPointBatch {
    /// Resolves the batch's steps (automatic: one past each series' last) and times, adding
    /// every point to `series` (the states of the batch's keys, in the order of `keys`).
    /// - Returns: The resolved points, or `invalidArgument` when an automatic step would pass
    ///   Int64.max (the batch is refused whole; `series` is then partly updated: drop it).
    package func resolve(series: inout [MetricSeriesState]) -> Result<ResolvedMetricBatch, StoreError> {
        let count = self.count
        var steps = self.steps
        var times = timestampsMs
        if steps.isEmpty { steps = [Int64](repeating: 0, count: count) }
        if times.isEmpty { times = [Int64](repeating: 0, count: count) }
        var columns = [PointColumns](repeating: PointColumns(), count: series.count)
        if series.count == 1 {
            columns[0] = PointColumns(capacity: count)
        }
        let automaticSteps = self.steps.isEmpty
        let receivedAt = receivedAtMs
        // The key whose automatic step would pass Int64.max; the batch is refused whole.
        var overflowingKey: String?
        keyIndex.withUnsafeBufferPointer { keyIndex in
            values.withUnsafeBufferPointer { values in
                for i in 0..<count {
                    let k = Int(keyIndex[i])
                    let step: Int64
                    if automaticSteps {
                        let (next, overflow) = series[k].lastStep.addingReportingOverflow(1)
                        if overflow {
                            overflowingKey = series[k].key
                            return
                        }
                        step = next
                    } else {
                        step = steps[i]
                    }
                    let time = times[i] == 0 ? receivedAt : times[i]
                    steps[i] = step
                    times[i] = time
                    let value = values[i]
                    series[k].add(value: value, step: step, timeMs: time)
                    columns[k].append(step: step, value: value, time: time)
                }
            }
        }
        if let key = overflowingKey {
            return .failure(StoreError(
                code: .invalidArgument,
                message: "metric \"\(key)\" is at step \(Int64.max), the highest step there is; an automatic step would pass it (send explicit steps)",
                field: "steps"
            ))
        }
        return .success(ResolvedMetricBatch(steps: steps, times: times, columns: columns))
    }
}
