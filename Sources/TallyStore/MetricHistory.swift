// Reading a series' history from its chunks, the same in every engine: the engine lists the
// chunks whose step range meets the query's (``MetricSeriesChunks``) and reads chunk points
// when asked; the plan, the pages, the totals and the downsampling are computed here.

/// How one series' history in a step range is read: downsampled points, or pages of chunks.
public struct MetricHistoryPlan: Sendable {
    package struct ChunkRef: Sendable {
        package var pk: Int64
        /// Points of the chunk when planned.
        package var count: Int
        /// Every point of the chunk is in the range.
        package var inside: Bool
    }

    public let runID: String
    public let key: String
    package let range: ClosedRange<Int64>
    /// Points in the range.
    public let totalPoints: Int64
    /// The min/max-bucket points when the series was downsampled; `nil` when it is read in pages.
    public let downsampledPoints: [MetricPointRecord]?
    /// Chunks per page, pages in step order.
    package let pages: [[ChunkRef]]

    package init(runID: String, key: String, range: ClosedRange<Int64>, totalPoints: Int64, downsampledPoints: [MetricPointRecord]?, pages: [[ChunkRef]]) {
        self.runID = runID
        self.key = key
        self.range = range
        self.totalPoints = totalPoints
        self.downsampledPoints = downsampledPoints
        self.pages = pages
    }

    /// Pages to read with ``Store/metricHistoryPage(_:page:)``; 0 when downsampled.
    public var pageCount: Int { pages.count }

    /// About how many points one page of a history holds: pages are whole groups of chunks whose
    /// step ranges overlap, so a page passes this only when one such group does.
    package static let pagePoints = 50_000

    /// The points of one page from its chunks' points (`columns[i]` for `pages[page][i]`, `nil`
    /// for a chunk deleted since), ordered by step, then in the order logged. A chunk only
    /// grows: its first `count` points are the ones planned.
    package func pagePoints(_ page: Int, columns: [PointColumns]) -> [MetricPointRecord] {
        let chunks = pages[page]
        var points: [MetricPointRecord] = []
        points.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
        // Appended in the order logged wherever steps can tie: points of one chunk in order,
        // and chunks whose step ranges overlap (the only ones that can share a step) by pk.
        for (chunk, columns) in zip(chunks, columns) {
            for i in 0..<Swift.min(chunk.count, columns.count) where chunk.inside || range.contains(columns.steps[i]) {
                points.append(columns.point(i))
            }
        }
        var sorted = true
        for i in points.indices.dropFirst() where points[i].step < points[i - 1].step {
            sorted = false
            break
        }
        if !sorted {
            // Stable: the order appended breaks ties between equal steps.
            points = points.enumerated().sorted { ($0.element.step, $0.offset) < ($1.element.step, $1.offset) }.map(\.element)
        }
        return points
    }

    /// The error when a page's chunk is gone (the run was deleted since the plan).
    package var changedError: StoreError {
        StoreError(code: .notFound, message: "the history of run \(runID) changed while it was read (deleted?)", field: key)
    }
}

/// The chunks of one series whose step range meets a query's, in pk order (the order logged).
package struct MetricSeriesChunks: Sendable {
    package struct Chunk: Sendable {
        package var pk: Int64
        package var summary: ChunkSummary
        /// Every point of the chunk is in the range.
        package var inside: Bool

        package init(pk: Int64, summary: ChunkSummary, range: ClosedRange<Int64>) {
            self.pk = pk
            self.summary = summary
            inside = range.contains(summary.stepLow) && range.contains(summary.stepHigh)
        }
    }

    package let range: ClosedRange<Int64>
    package let chunks: [Chunk]

    package init(range: ClosedRange<Int64>, chunks: [Chunk]) {
        self.range = range
        self.chunks = chunks
    }

    /// The chunks grouped into pages in step order. Chunks whose step ranges overlap (a series
    /// logged out of step order) must be sorted together, so they share a page; pages gather
    /// such groups, in order, up to about `pointsPerPage` points.
    package func pages(pointsPerPage: Int) -> [[MetricHistoryPlan.ChunkRef]] {
        let ordered = chunks.sorted { ($0.summary.stepLow, $0.pk) < ($1.summary.stepLow, $1.pk) }
        var groups: [[Chunk]] = []
        var high = Int64.min
        for chunk in ordered {
            if !groups.isEmpty, chunk.summary.stepLow <= high {
                groups[groups.count - 1].append(chunk)
                high = max(high, chunk.summary.stepHigh)
            } else {
                groups.append([chunk])
                high = chunk.summary.stepHigh
            }
        }
        var pages: [[MetricHistoryPlan.ChunkRef]] = []
        var points = 0
        for group in groups {
            let count = group.reduce(0) { $0 + $1.summary.count }
            if pages.isEmpty || points + count > pointsPerPage {
                pages.append([])
                points = 0
            }
            // Within a page, chunks in the order logged: ties between equal steps keep it.
            pages[pages.count - 1] += group.sorted { $0.pk < $1.pk }.map {
                MetricHistoryPlan.ChunkRef(pk: $0.pk, count: $0.summary.count, inside: $0.inside)
            }
            points += count
        }
        return pages
    }

    /// Chunks only partly in the range: their points are needed for the total and the bounds.
    package var partialChunks: [Chunk] { chunks.filter { !$0.inside } }

    /// Points in the range; `points` reads a partial chunk's points.
    package func total(points: (Chunk) throws -> PointColumns) rethrows -> Int64 {
        var total: Int64 = 0
        for chunk in chunks {
            if chunk.inside {
                total += Int64(chunk.summary.count)
            } else {
                total += Int64(try points(chunk).steps.count { range.contains($0) })
            }
        }
        return total
    }

    /// The lowest and highest step in the range; `nil` when it holds no point.
    package func stepBounds(points: (Chunk) throws -> PointColumns) rethrows -> (low: Int64, high: Int64)? {
        var low = Int64.max
        var high = Int64.min
        for chunk in chunks {
            if chunk.inside {
                low = min(low, chunk.summary.stepLow)
                high = max(high, chunk.summary.stepHigh)
            } else {
                for step in try points(chunk).steps where range.contains(step) {
                    low = min(low, step)
                    high = max(high, step)
                }
            }
        }
        return low <= high ? (low, high) : nil
    }

    /// The plan of the series' history: pages, or the downsampled points when the range holds
    /// more than `maxPoints` (0: never downsample). `points` reads a chunk's points, decoded again
    /// at each call, so that one chunk's points are held at a time.
    package func plan(runID: String, key: String, maxPoints: Int, points: (Chunk) throws -> PointColumns) rethrows -> MetricHistoryPlan {
        let total = try total(points: points)
        if maxPoints <= 0 || total <= Int64(maxPoints) {
            return MetricHistoryPlan(
                runID: runID, key: key, range: range, totalPoints: total, downsampledPoints: nil,
                pages: pages(pointsPerPage: MetricHistoryPlan.pagePoints)
            )
        }
        var downsampled: [MetricPointRecord] = []
        if let bounds = try stepBounds(points: points) {
            var downsampler = MetricDownsampler(range: range, low: bounds.low, high: bounds.high, maxPoints: maxPoints)
            for chunk in chunks {
                if downsampler.takesSummary(of: chunk) {
                    downsampler.add(summaryOf: chunk)
                } else {
                    downsampler.add(chunk, points: try points(chunk))
                }
            }
            downsampled = downsampler.points()
        }
        return MetricHistoryPlan(runID: runID, key: key, range: range, totalPoints: total, downsampledPoints: downsampled, pages: [])
    }
}

/// Min/max buckets over equal step ranges between the lowest and highest step in the range
/// (`maxPoints / 2` buckets); each bucket keeps its lowest and highest non-NaN point. Chunks that
/// fall inside one bucket contribute their stored extremes without being read. The result does
/// not depend on the order chunks are added in (ties are broken by chunk pk, then position).
package struct MetricDownsampler: Sendable {
    /// A candidate for a bucket's lowest or highest point; `order` breaks ties between equal
    /// values and steps: the first logged wins.
    private struct Candidate: Sendable {
        var point: MetricPointRecord
        var order: (Int64, Int)

        func beats(_ other: Candidate, lower: Bool) -> Bool {
            if point.value != other.point.value { return lower ? point.value < other.point.value : point.value > other.point.value }
            if point.step != other.point.step { return point.step < other.point.step }
            return order < other.order
        }
    }

    private let range: ClosedRange<Int64>
    private let low: Int64
    private let buckets: Int
    private let width: Double
    private var lows: [Candidate?]
    private var highs: [Candidate?]

    package init(range: ClosedRange<Int64>, low: Int64, high: Int64, maxPoints: Int) {
        self.range = range
        self.low = low
        buckets = max(1, maxPoints / 2)
        // In Double: `high - low + 1` passes Int64.max for a series that reaches step Int64.max.
        width = (Double(high) - Double(low) + 1) / Double(buckets)
        lows = [Candidate?](repeating: nil, count: buckets)
        highs = [Candidate?](repeating: nil, count: buckets)
    }

    /// As SQLite's CAST((step - low) / width AS INTEGER) computed it before chunks.
    private func bucket(_ step: Int64) -> Int { Swift.min(buckets - 1, Int(Double(step - low) / width)) }

    /// Whether the chunk's stored extremes stand for its points (inside the range and one bucket).
    package func takesSummary(of chunk: MetricSeriesChunks.Chunk) -> Bool {
        chunk.inside && bucket(chunk.summary.stepLow) == bucket(chunk.summary.stepHigh)
    }

    private mutating func offer(_ candidate: Candidate, to b: Int, lower: Bool) {
        if lower {
            if let current = lows[b], !candidate.beats(current, lower: true) { return }
            lows[b] = candidate
        } else {
            if let current = highs[b], !candidate.beats(current, lower: false) { return }
            highs[b] = candidate
        }
    }

    /// Adds a chunk for which ``takesSummary(of:)`` holds, by its summary.
    package mutating func add(summaryOf chunk: MetricSeriesChunks.Chunk) {
        let b = bucket(chunk.summary.stepLow)
        if let point = chunk.summary.minPoint { offer(Candidate(point: point, order: (chunk.pk, -1)), to: b, lower: true) }
        if let point = chunk.summary.maxPoint { offer(Candidate(point: point, order: (chunk.pk, -1)), to: b, lower: false) }
    }

    /// Adds a chunk by its points.
    package mutating func add(_ chunk: MetricSeriesChunks.Chunk, points columns: PointColumns) {
        for i in 0..<columns.count {
            let step = columns.steps[i]
            let value = columns.values[i]
            guard !value.isNaN, chunk.inside || range.contains(step) else { continue }
            let b = bucket(step)
            let candidate = Candidate(point: columns.point(i), order: (chunk.pk, i))
            offer(candidate, to: b, lower: true)
            offer(candidate, to: b, lower: false)
        }
    }

    /// Each bucket's lowest and highest point, in step order within the bucket.
    package func points() -> [MetricPointRecord] {
        var points: [MetricPointRecord] = []
        for b in 0..<buckets {
            guard let lowest = lows[b]?.point, let highest = highs[b]?.point else { continue }
            let pair = highest.step < lowest.step ? [highest, lowest] : [lowest, highest]
            points.append(pair[0])
            if pair[1] != pair[0] { points.append(pair[1]) }
        }
        return points
    }
}
