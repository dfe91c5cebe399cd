import ArgumentParser
import Foundation

/// A point in time given on the command line (`--created-after 7d`): a duration back from now
/// (`30m`, `12h`, `7d`, `2w`), a date (`2026-12-01`, local midnight) or a date and time
/// (`2026-12-01T14:30`, local; `…Z` or `…+01:00` as given).
enum TimeBound {
    /// The instant `text` names, in unix milliseconds.
    static func parse(_ text: String, option: String, nowMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let unit = trimmed.last, let factor = unitMs[unit], let count = Int64(trimmed.dropLast()), count >= 0 {
            let (span, overflow) = count.multipliedReportingOverflow(by: factor)
            guard !overflow, span <= nowMs else { throw ValidationError("\(option) \(text) reaches back before 1970") }
            return nowMs - span
        }
        if let date = date(trimmed) {
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        throw ValidationError(
            "\(option) expects a duration back from now (30m, 12h, 7d, 2w), a date (2026-12-01) or a date and time (2026-12-01T14:30), got \"\(text)\""
        )
    }

    static let unitMs: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]

    static func date(_ text: String) -> Date? {
        let withOffset = ISO8601DateFormatter()
        withOffset.formatOptions = [.withInternetDateTime]
        if let date = withOffset.date(from: text) { return date }
        withOffset.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withOffset.date(from: text) { return date }
        for format in [
            "yyyy-MM-dd'T'HH:mmXXXXX", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd",
        ] {
            let local = DateFormatter()
            local.locale = Locale(identifier: "en_US_POSIX")
            local.timeZone = TimeZone.current
            local.dateFormat = format
            if let date = local.date(from: text) { return date }
        }
        return nil
    }
}

/// `--created-after`/`--created-before` and `--updated-after`/`--updated-before`.
struct TimeRangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only those created at or after this time (7d, 2026-12-01, 2026-12-01T14:30).", valueName: "when"))
    var createdAfter: String?

    @Option(help: ArgumentHelp("Only those created before this time.", valueName: "when"))
    var createdBefore: String?

    @Option(help: ArgumentHelp("Only those updated at or after this time.", valueName: "when"))
    var updatedAfter: String?

    @Option(help: ArgumentHelp("Only those updated before this time.", valueName: "when"))
    var updatedBefore: String?

    /// Each bound in unix ms, 0 when not given.
    func bounds() throws -> (createdAfter: Int64, createdBefore: Int64, updatedAfter: Int64, updatedBefore: Int64) {
        func ms(_ text: String?, _ option: String) throws -> Int64 { try text.map { try TimeBound.parse($0, option: option) } ?? 0 }
        return (
            try ms(createdAfter, "--created-after"), try ms(createdBefore, "--created-before"),
            try ms(updatedAfter, "--updated-after"), try ms(updatedBefore, "--updated-before")
        )
    }
}
