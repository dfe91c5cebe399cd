import Foundation
import GRDB
import TallyStore

/// Fuzz target of the run filter language (docs/filter.md): lexer, parser, SQL compiler.
///
/// Input: UTF-8 text (anything else is skipped: the daemon only ever sees valid UTF-8 strings).
/// The text is parsed both as a filter and as order terms. What must hold:
/// - no crash, and an error's position lies within the text;
/// - a parsed filter prints (`description`) to text that parses back to the same tree, unless
///   that text is over the length or nesting limit (printing parenthesizes every `and`/`or`);
/// - the compiled SQL has one `?` per argument and SQLite accepts and runs it, with the order
///   terms, exactly as `Store.searchRuns` does, against an empty store.
public enum FilterFuzzTarget {
    /// A store in a temporary folder, opened once per process.
    static let store: Store = {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("tally-fuzz-filter-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: folder)
        do {
            let store = try Store(path: folder.appendingPathComponent("store.sqlite").path)
            atexit { removeStoreFolder() }
            return store
        } catch {
            fuzzFailure("cannot open a store for the filter target: \(error)")
        }
    }()

    static let nowMs: Int64 = 1_700_000_000_000

    public static func run(_ data: UnsafeRawBufferPointer) {
        guard let text = String(validating: data, as: UTF8.self) else { return }
        let length = text.unicodeScalars.count
        do {
            if let expression = try FilterParser.parse(text) {
                checkRoundTrip(expression)
                execute(filter: expression, order: [FilterOrderTerm(field: .attribute(.startedAt), descending: true)])
            }
        } catch {
            checkPosition(error, length: length)
        }
        do {
            let terms = try FilterParser.parseOrder(text)
            guard !terms.isEmpty else { fuzzFailure("parseOrder returned no term for \(text.debugDescription)") }
            let printed = terms.map(\.description).joined(separator: ", ")
            if printed.unicodeScalars.count <= FilterParser.maximumLength {
                guard let again = try? FilterParser.parseOrder(printed), again == terms else {
                    fuzzFailure("order terms \(text.debugDescription) print as \(printed.debugDescription), which does not parse back to them")
                }
            }
            execute(filter: nil, order: terms)
        } catch {
            checkPosition(error, length: length)
        }
    }

    static func checkPosition(_ error: FilterError, length: Int) {
        guard error.position >= 0, error.position <= max(length, FilterParser.maximumLength) else {
            fuzzFailure("error position \(error.position) outside the text (\(length) characters): \(error)")
        }
        if length <= FilterParser.maximumLength, error.position > length {
            fuzzFailure("error position \(error.position) past the end of the text (\(length) characters): \(error)")
        }
    }

    static func checkRoundTrip(_ expression: FilterExpression) {
        let printed = expression.description
        guard printed.unicodeScalars.count <= FilterParser.maximumLength else { return }
        do {
            let again = try FilterParser.parse(printed)
            guard again == expression else {
                fuzzFailure("\(printed.debugDescription) parses to \(again?.description ?? "nothing")")
            }
        } catch {
            // Printing parenthesizes every `and`/`or`, so a long flat chain may print deeper than the limit.
            if error.message.hasPrefix("nested deeper than") { return }
            fuzzFailure("the printed form \(printed.debugDescription) does not parse: \(error)")
        }
    }

    static func placeholders(_ sql: String) -> Int {
        sql.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "?") ? 1 : 0) }
    }

    /// Runs the query `Store.searchRuns` builds.
    static func execute(filter: FilterExpression?, order: [FilterOrderTerm]) {
        let orderSQL = FilterCompiler.order(order, nowMs: nowMs)
        var with = FilterSQL(sql: "")
        var condition = FilterSQL(sql: "")
        if let filter {
            let compiled = FilterCompiler.condition(filter, nowMs: nowMs)
            with = compiled.with
            condition = compiled.condition
        }
        for part in [with, condition, orderSQL] where placeholders(part.sql) != part.arguments.count {
            fuzzFailure("\(placeholders(part.sql)) placeholders but \(part.arguments.count) arguments in \(part.sql)")
        }
        let whereClause = filter == nil ? "" : "WHERE \(condition.sql)"
        let sql = "\(with.sql)SELECT r.pk FROM runs r \(whereClause) ORDER BY \(orderSQL.sql)"
        do {
            _ = try store.pool.read { db in
                try Int64.fetchAll(db, sql: sql, arguments: StatementArguments(with.arguments + condition.arguments + orderSQL.arguments))
            }
        } catch {
            fuzzFailure("SQLite rejects the compiled filter: \(error)\nfilter: \(filter?.description ?? "none")")
        }
    }
}

private func removeStoreFolder() {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("tally-fuzz-filter-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: folder)
}
