import Foundation

/// The password of a PostgreSQL store: `TALLY_PG_PASSWORD` when set, else the first matching
/// line of a `.pgpass`-style file (`$TALLY_PG_PASSFILE`, `$PGPASSFILE`, else `~/.pgpass`):
/// `host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped, `#` lines
/// skipped — the format libpq reads. `nil` when none applies (trust or peer authentication).
package enum PostgresPassword {
    package static func resolve(for url: PostgresURL, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password = environment["TALLY_PG_PASSWORD"], !password.isEmpty { return password }
        let file = environment["TALLY_PG_PASSFILE"] ?? environment["PGPASSFILE"]
            ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        guard !file.isEmpty, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return match(text, url: url)
    }

    /// The password of the first line of `text` that matches `url`.
    package static func match(_ text: String, url: PostgresURL) -> String? {
        let host = url.socketFolder != nil ? "localhost" : url.host
        let wanted = [host, String(url.port), url.database, url.user]
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) {
                return fields[4]
            }
        }
        return nil
    }

    /// Splits a line at unescaped colons, unescaping `\:` and `\\`.
    static func split(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
