import CoreFoundation
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One line of the results table: a measured value next to the baseline measured in the same run.
struct Figure: Sendable {
    /// What was measured.
    var name: String
    /// The measured value, formatted with its unit.
    var value: String
    /// The baseline, formatted with its unit, and what it is.
    var baseline: String
    /// The ratio the target is about, formatted ("1.7x"), or "—".
    var ratio: String
    /// The target, in words ("<= 2x").
    var target: String
    /// `true` met, `false` missed, `nil` informational.
    var met: Bool?

    var result: String {
        switch met {
        case true?: "PASS"
        case false?: "FAIL"
        case nil: "info"
        }
    }
}

/// Collects figures and prints them as a table (and optionally as JSON lines).
final class Report: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var figures: [Figure] = []

    func add(_ figure: Figure) {
        lock.withLock { figures.append(figure) }
        let mark = figure.met.map { $0 ? "PASS" : "FAIL" } ?? "info"
        log("  \(mark)  \(figure.name): \(figure.value)  (baseline \(figure.baseline), ratio \(figure.ratio), target \(figure.target))")
    }

    func printTable() {
        let header = ["figure", "value", "baseline", "ratio", "target", "result"]
        let rows = figures.map { [$0.name, $0.value, $0.baseline, $0.ratio, $0.target, $0.result] }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
                .joined(separator: " | ")
        }
        print(line(header))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-"))
        for row in rows { print(line(row)) }
        let failed = figures.filter { $0.met == false }.count
        let passed = figures.filter { $0.met == true }.count
        print("\n\(passed) targets met, \(failed) missed")
    }

    /// The table as Markdown, for docs/performance.md.
    func markdown() -> String {
        var text = "| figure | value | baseline | ratio | target | met |\n| --- | --- | --- | --- | --- | --- |\n"
        for figure in figures {
            text += "| \(figure.name) | \(figure.value) | \(figure.baseline) | \(figure.ratio) | \(figure.target) | \(figure.result) |\n"
        }
        return text
    }
}

/// Progress lines go to standard error so that standard output holds only the table.
func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Seconds since an arbitrary start, monotonic.
@inline(__always) func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Nanoseconds, monotonic.
@inline(__always) func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Wall-clock milliseconds since the epoch, as the daemon stamps events.
func wallMs() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}

/// The q-quantile (0...1) of sorted values (nearest rank).
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))
    return sorted[index]
}

func median(_ values: [Double]) -> Double { quantile(values.sorted(), 0.5) }

func fmt(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// 1234567 -> "1,234,567".
func grouped(_ value: Double) -> String {
    let formatter = NumberFormatter()
    formatter.numberStyle = .decimal
    formatter.maximumFractionDigits = 0
    formatter.groupingSeparator = ","
    formatter.usesGroupingSeparator = true
    return formatter.string(from: NSNumber(value: value.rounded())) ?? "\(Int(value))"
}

func micros(_ seconds: Double) -> String { fmt(seconds * 1e6, 1) + " µs" }
func millis(_ seconds: Double) -> String { fmt(seconds * 1e3, 1) + " ms" }
func ratio(_ value: Double) -> String { fmt(value, 2) + "x" }
