import Foundation

// Storage of points: per-series chunks, the same in every engine.
//
// A series' points are stored in the order they were logged, in chunks of at most
// ``MetricChunk/capacity`` points: a chunk row holds its step range, point count, lowest and
// highest point, and the points packed as three little-endian columns (``PointColumns``), byte
// for byte the same in SQLite and PostgreSQL. A batch first fills the series' last chunk, then
// adds new ones (``MetricChunk/split(tailCount:points:)``).

/// Constants and planning of chunks.
package enum MetricChunk {
    /// Most points in one chunk.
    package static let capacity = 256

    /// How `points` new points go into a series whose last chunk holds `tailCount` points
    /// (`nil`: no chunk yet): the first `intoTail` go into the last chunk, then new chunks hold
    /// the `newChunks` ranges of the points, in order.
    package static func split(tailCount: Int?, points: Int) -> (intoTail: Int, newChunks: [Range<Int>]) {
        var offset = 0
        if let tailCount, tailCount < capacity {
            offset = min(capacity - tailCount, points)
        }
        let intoTail = offset
        var ranges: [Range<Int>] = []
        while offset < points {
            let end = min(offset + capacity, points)
            ranges.append(offset..<end)
            offset = end
        }
        return (intoTail, ranges)
    }
}

/// Points of one series, column by column, in the order they were logged.
package struct PointColumns: Sendable {
    package var steps: [Int64] = []
    package var values: [Double] = []
    package var times: [Int64] = []

    package var count: Int { steps.count }

    package init() {}

    package init(capacity: Int) {
        steps.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
        times.reserveCapacity(capacity)
    }

    /// Unpacks a chunk's data: `count` steps, then `count` values, then `count` times.
    init(packed data: Data, count: Int) throws {
        self = try data.withUnsafeBytes { try PointColumns(packed: $0, count: count) }
    }

    /// Unpacks a chunk's data from raw bytes (a driver's buffer), as ``init(packed:count:)``.
    package init(packed raw: UnsafeRawBufferPointer, count: Int) throws {
        guard raw.count == count * 24 else {
            throw StoreError(code: .dataLoss, message: "a metric chunk holds \(raw.count) bytes for \(count) points")
        }
        func column<T>(_ index: Int, as type: T.Type) -> [T] {
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                let source = UnsafeRawBufferPointer(rebasing: raw[(index * count * 8)..<((index + 1) * count * 8)])
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
                initialized = count
            }
        }
        steps = column(0, as: Int64.self).map { Int64(littleEndian: $0) }
        values = column(1, as: UInt64.self).map { Double(bitPattern: UInt64(littleEndian: $0)) }
        times = column(2, as: Int64.self).map { Int64(littleEndian: $0) }
    }

    /// The packed form stored in a chunk's `data`: three little-endian columns of `count`
    /// 8-byte words (steps as Int64, values as Float64 with NaN kept, times in ms as Int64).
    func packed() -> Data {
        var data = Data(count: packedSize)
        data.withUnsafeMutableBytes { pack(into: $0) }
        return data
    }

    /// Bytes of ``packed()``.
    package var packedSize: Int { count * 24 }

    /// Writes ``packed()`` into `raw`, which holds at least ``packedSize`` bytes.
    package func pack(into raw: UnsafeMutableRawBufferPointer) {
        for i in 0..<count {
            raw.storeBytes(of: UInt64(bitPattern: steps[i]).littleEndian, toByteOffset: i * 8, as: UInt64.self)
            raw.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: (count + i) * 8, as: UInt64.self)
            raw.storeBytes(of: UInt64(bitPattern: times[i]).littleEndian, toByteOffset: (2 * count + i) * 8, as: UInt64.self)
        }
    }

    package mutating func append(step: Int64, value: Double, time: Int64) {
        steps.append(step)
        values.append(value)
        times.append(time)
    }

    package mutating func append(contentsOf other: PointColumns, range: Range<Int>) {
        steps.append(contentsOf: other.steps[range])
        values.append(contentsOf: other.values[range])
        times.append(contentsOf: other.times[range])
    }

    package func slice(_ range: Range<Int>) -> PointColumns {
        var slice = PointColumns()
        slice.append(contentsOf: self, range: range)
        return slice
    }

    package func point(_ i: Int) -> MetricPointRecord {
        MetricPointRecord(step: steps[i], value: values[i], timestampMs: times[i])
    }
}

/// What a chunk row says about its points without reading them.
package struct ChunkSummary: Sendable {
    package var count: Int
    package var stepLow: Int64
    package var stepHigh: Int64
    /// The lowest non-NaN value (ties: the lowest step, then the first logged); `nil` when
    /// every value is NaN.
    package var minPoint: MetricPointRecord?
    /// The highest non-NaN value, ties broken the same way.
    package var maxPoint: MetricPointRecord?

    package init(count: Int, stepLow: Int64, stepHigh: Int64, minPoint: MetricPointRecord?, maxPoint: MetricPointRecord?) {
        self.count = count
        self.stepLow = stepLow
        self.stepHigh = stepHigh
        self.minPoint = minPoint
        self.maxPoint = maxPoint
    }

    package init(_ points: PointColumns) {
        count = points.count
        stepLow = points.steps.min() ?? 0
        stepHigh = points.steps.max() ?? 0
        var low: Int?
        var high: Int?
        for i in 0..<points.count {
            let value = points.values[i]
            if value.isNaN { continue }
            let step = points.steps[i]
            if let l = low {
                let best = points.values[l]
                if value < best || (value == best && step < points.steps[l]) { low = i }
            } else {
                low = i
            }
            if let h = high {
                let best = points.values[h]
                if value > best || (value == best && step < points.steps[h]) { high = i }
            } else {
                high = i
            }
        }
        minPoint = low.map(points.point)
        maxPoint = high.map(points.point)
    }
}

