import Foundation
import TallyProto

#if canImport(Glibc)
import Glibc
#endif

enum Format {
    /// Unix milliseconds as local time, "2026-11-21 20:31:05"; "-" for 0.
    static func time(ms: Int64) -> String {
        guard ms != 0 else { return "-" }
        var seconds = time_t(ms / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [Int8](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Milliseconds as "850ms", "12s", "1m 23s", "2h 5m", "3d 4h".
    static func duration(ms: Int64) -> String {
        if ms < 0 { return "-" }
        if ms < 1000 { return "\(ms)ms" }
        let s = ms / 1000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86400 { return "\(s / 3600)h \((s % 3600) / 60)m" }
        return "\(s / 86400)d \((s % 86400) / 3600)h"
    }

    /// A number in at most six significant digits: "0.0003", "1.2e+06", "42", "nan", "inf".
    static func number(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return String(format: "%.6g", value)
    }

    /// Bytes as "0 B", "812 B", "1.5 KiB", "3.2 MiB", "1.1 GiB".
    static func size(_ bytes: UInt64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f %@", value, units[unit])
    }

    /// A param value as typed: strings as they are, numbers compact, bools as true/false.
    static func param(_ value: ParamValue?) -> String {
        switch value?.kind {
        case .stringValue(let s)?: s
        case .intValue(let i)?: String(i)
        case .doubleValue(let d)?: number(d)
        case .boolValue(let b)?: b ? "true" : "false"
        case nil: "-"
        }
    }

    /// "running", "completed", "failed", "killed", "crashed".
    static func status(_ status: RunStatus) -> String {
        switch status {
        case .running: "running"
        case .completed: "completed"
        case .failed: "failed"
        case .killed: "killed"
        case .crashed: "crashed"
        default: "unknown"
        }
    }

    /// "minimize", "maximize", or "default" when not declared.
    static func goal(_ goal: MetricGoal) -> String {
        switch goal {
        case .minimize: "min"
        case .maximize: "max"
        default: "-"
        }
    }

    static func artifactType(_ type: ArtifactType) -> String {
        switch type {
        case .model: "model"
        case .dataset: "dataset"
        case .figure: "figure"
        case .other, .unspecified: "other"
        default: String(type.rawValue)
        }
    }

    /// A tag map as "k=v, label", keys sorted.
    static func tags(_ tags: [String: String]) -> String {
        tags.keys.sorted().map { tags[$0]!.isEmpty ? $0 : "\($0)=\(tags[$0]!)" }.joined(separator: ", ")
    }

    /// The first 12 digits of a hash or id, for tables.
    static func short(_ hash: String, _ count: Int = 12) -> String {
        String(hash.prefix(count))
    }
}
