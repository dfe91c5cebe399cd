/// The SQL dialect a filter compiles to.
package enum FilterDialect: Sendable, Hashable {
    /// SQLite (``Store``): dynamically typed `params.value`, GLOB for case-sensitive patterns.
    case sqlite
    /// PostgreSQL (`TallyPostgres`): params split into `text_value`/`int_value`/`num_value`,
    /// LIKE (case-sensitive) and ILIKE, `TRUE`/`FALSE`; placeholders become `$n` through
    /// ``FilterSQL/numberedForPostgres()``.
    case postgres
}

/// A value bound to a placeholder of a compiled filter, free of any database library's type:
/// each engine converts it (`DatabaseValue` for SQLite, `PostgresBindings` for PostgreSQL).
package enum FilterArgument: Sendable, Hashable {
    case integer(Int64)
    case double(Double)
    case text(String)
    case null
}

/// A piece of SQL with the arguments of its `?` placeholders, in order.
package struct FilterSQL: Sendable {
    /// SQL text; user values appear only as `?` placeholders.
    package var sql: String
    /// One argument per placeholder, in the order they appear in `sql`.
    package var arguments: [FilterArgument]

    /// Creates a fragment.
    package init(sql: String, arguments: [FilterArgument] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    /// The fragment with its `?` placeholders numbered `$1`, `$2`, … in order, as PostgreSQL
    /// wants them. The compiler writes `?` only as placeholders (user text is never in the SQL),
    /// so every `?` is one.
    package func numberedForPostgres() -> FilterSQL {
        var text = ""
        text.reserveCapacity(sql.utf8.count + arguments.count * 2)
        var number = 0
        for character in sql.unicodeScalars {
            if character == "?" {
                number += 1
                text += "$\(number)"
            } else {
                text.unicodeScalars.append(character)
            }
        }
        return FilterSQL(sql: text, arguments: arguments)
    }

    /// Fragments one after the other (with `separator` between their texts), arguments in order.
    package static func joined(_ parts: [FilterSQL], separator: String = "") -> FilterSQL {
        FilterSQL(sql: parts.map(\.sql).joined(separator: separator), arguments: parts.flatMap(\.arguments))
    }
}
