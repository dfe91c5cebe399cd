/// Compiles filter syntax trees and order terms to SQL over `runs r`.
///
/// Every predicate compiles to a condition that is never NULL (true or false), so `not`
/// is plain logical negation: a run without the field fails the predicate and passes its
/// negation. Params, tags and metrics are tested with correlated `EXISTS` subqueries that
/// look rows up by their primary keys (`params(run_pk, key)`, `run_tags(run_pk, key)`,
/// `metric_series UNIQUE(run_pk, key)`); metric aggregates come from `metric_series`, never
/// from the points. Long `and`/`or` chains are emitted as balanced trees so that SQLite's
/// expression depth limit (1000) is never reached. User values are always `?` arguments.
public struct FilterCompiler {
    /// Deepest nesting of parentheses the compiler writes in one SELECT. SQLite's parser stack
    /// (100 entries in the SQLite versions Debian ships) overflows at about 35 levels of
    /// `a AND (b OR (…`; a subtree that would go deeper is moved into a common table expression
    /// (`WITH f1(pk) AS (SELECT r.pk FROM runs r WHERE …)`, tested as `r.pk IN f1`), which SQLite
    /// parses on its own.
    static let maximumSQLDepth = 12

    /// Time used as the end of running runs for `duration`.
    private let nowMs: Int64
    /// The SQL written: SQLite's or PostgreSQL's.
    private let dialect: FilterDialect
    private var arguments: [FilterArgument] = []
    /// Parentheses open around the condition being written.
    private var depth = 0
    /// Subtrees moved out of the condition, in the order they must be defined.
    private var commonTableExpressions: [FilterSQL] = []

    private init(nowMs: Int64, dialect: FilterDialect) {
        self.nowMs = nowMs
        self.dialect = dialect
    }

    /// The SQL condition for `expression` on runs aliased `r`.
    /// - Parameters:
    ///   - expression: A parsed filter (the parser has checked its types).
    ///   - nowMs: Time used as the end of running runs for `duration`.
    ///   - dialect: The SQL to write; placeholders are `?` in both dialects (PostgreSQL's are
    ///     numbered once the query is assembled, ``FilterSQL/numberedForPostgres()``).
    package static func condition(_ expression: FilterExpression, nowMs: Int64, dialect: FilterDialect = .sqlite) -> CompiledFilter {
        var compiler = FilterCompiler(nowMs: nowMs, dialect: dialect)
        let sql = compiler.condition(expression)
        let with = compiler.commonTableExpressions.isEmpty ? FilterSQL(sql: "") : FilterSQL(
            sql: "WITH " + compiler.commonTableExpressions.map(\.sql).joined(separator: ", ") + " ",
            arguments: compiler.commonTableExpressions.flatMap(\.arguments)
        )
        return CompiledFilter(with: with, condition: FilterSQL(sql: sql, arguments: compiler.arguments))
    }

    /// The `ORDER BY` list for `terms` on runs aliased `r` (without the keywords): each term with
    /// missing values last, then the tie-break `started_at desc, pk desc`.
    package static func order(_ terms: [FilterOrderTerm], nowMs: Int64, dialect: FilterDialect = .sqlite) -> FilterSQL {
        var compiler = FilterCompiler(nowMs: nowMs, dialect: dialect)
        var parts: [String] = []
        for term in terms {
            for value in compiler.orderValues(term.field) {
                parts.append("\(value) \(term.descending ? "DESC" : "ASC") NULLS LAST")
            }
        }
        parts.append("r.started_at_ms DESC")
        parts.append("r.pk DESC")
        return FilterSQL(sql: parts.joined(separator: ", "), arguments: compiler.arguments)
    }

    // MARK: Conditions

    private mutating func bind(_ value: FilterArgument) -> String {
        arguments.append(value)
        return "?"
    }

    private mutating func bind(_ text: String) -> String {
        bind(.text(text))
    }

    private mutating func bind(_ value: FilterValue, for field: FilterField) -> String {
        switch value {
        case .integer(let number): bind(.integer(number))
        case .double(let number): bind(.double(number))
        case .bool(let flag): bind(.integer(flag ? 1 : 0))
        case .string(let text):
            if case .attribute(.status) = field, let state = RunState.byName[text] {
                bind(.integer(Int64(state.rawValue)))
            } else {
                bind(.text(text))
            }
        }
    }

    /// The constant true and false conditions.
    private var trueSQL: String { dialect == .sqlite ? "1" : "TRUE" }
    private var falseSQL: String { dialect == .sqlite ? "0" : "FALSE" }

    private mutating func condition(_ expression: FilterExpression, hoisting: Bool = true) -> String {
        switch expression {
        case .and, .or:
            let isAnd = if case .and = expression { true } else { false }
            let parts = Self.chain(expression, and: isAnd)
            // A balanced tree of n operands nests ceil(log2 n) levels of parentheses.
            let levels = Int.bitWidth - (parts.count - 1).leadingZeroBitCount
            if hoisting, depth + levels > Self.maximumSQLDepth { return hoisted(expression) }
            depth += levels
            defer { depth -= levels }
            return balanced(parts.map { condition($0) }, isAnd ? "AND" : "OR")
        case .not(let inner):
            if hoisting, depth + 1 > Self.maximumSQLDepth { return hoisted(expression) }
            depth += 1
            defer { depth -= 1 }
            return "NOT (\(condition(inner)))"
        case .isNull(let field, let negated):
            return isNull(field, negated: negated)
        case .compare(let field, _, _), .inList(let field, _, _), .like(let field, _, _, _):
            return predicate(field, expression)
        }
    }

    /// `expression` as a common table expression of the matching runs' keys; the test of a run
    /// is then `r.pk IN fN`.
    private mutating func hoisted(_ expression: FilterExpression) -> String {
        let (outerArguments, outerDepth) = (arguments, depth)
        (arguments, depth) = ([], 0)
        let body = condition(expression, hoisting: false)
        let name = "f\(commonTableExpressions.count + 1)"
        commonTableExpressions.append(FilterSQL(sql: "\(name)(pk) AS (SELECT r.pk FROM runs r WHERE \(body))", arguments: arguments))
        (arguments, depth) = (outerArguments, outerDepth)
        return dialect == .sqlite ? "r.pk IN \(name)" : "r.pk IN (SELECT pk FROM \(name))"
    }

    /// The operands of a chain of `and` (or of `or`), flattened, in order.
    private static func chain(_ expression: FilterExpression, and: Bool) -> [FilterExpression] {
        switch (expression, and) {
        case (.and(let left, let right), true), (.or(let left, let right), false):
            chain(left, and: and) + chain(right, and: and)
        default:
            [expression]
        }
    }

    private func balanced(_ parts: [String], _ op: String) -> String {
        balanced(parts[...], op)
    }

    private func balanced(_ parts: ArraySlice<String>, _ op: String) -> String {
        if parts.count == 1 { return parts.first! }
        let middle = parts.startIndex + parts.count / 2
        return "(\(balanced(parts[..<middle], op)) \(op) \(balanced(parts[middle...], op)))"
    }

    /// A comparison, list or pattern test of `field`.
    private mutating func predicate(_ field: FilterField, _ expression: FilterExpression) -> String {
        switch field {
        case .param(let key):
            let keyArgument = bind(key)
            return "EXISTS (SELECT 1 FROM params p WHERE p.run_pk = r.pk AND p.key = \(keyArgument) AND \(paramTest(expression)))"
        case .tag(let key):
            let keyArgument = bind(key)
            return "EXISTS (SELECT 1 FROM run_tags t WHERE t.run_pk = r.pk AND t.key = \(keyArgument) AND \(test("t.value", field, expression)))"
        case .metric(let key, let aggregate):
            let keyArgument = bind(key)
            return "EXISTS (SELECT 1 FROM metric_series m WHERE m.run_pk = r.pk AND m.key = \(keyArgument) AND \(test(Self.column(aggregate), field, expression)))"
        case .attribute(let attribute):
            switch attribute {
            case .status: return test("r.status", field, expression)
            case .name: return test("r.name", field, expression)
            case .id: return test("r.id", field, expression)
            case .startedAt: return test("r.started_at_ms", field, expression)
            case .completedAt: return "(r.completed_at_ms > 0 AND \(test("r.completed_at_ms", field, expression)))"
            case .duration: return test(durationValue(), field, expression)
            case .experimentID:
                return "r.experiment_pk IN (SELECT e.pk FROM experiments e WHERE \(test("e.id", field, expression)))"
            case .parentRunID:
                return "(r.parent_pk IS NOT NULL AND r.parent_pk IN (SELECT pr.pk FROM runs pr WHERE \(test("pr.id", field, expression))))"
            }
        }
    }

    /// `value` tested by a comparison, list or pattern; `value` is never NULL where this is used
    /// except for aggregates of metrics, whose NULL (NaN) fails the enclosing `EXISTS`.
    private mutating func test(_ value: String, _ field: FilterField, _ expression: FilterExpression) -> String {
        switch expression {
        case .compare(_, let op, let literal):
            return "\(value) \(op.rawValue) \(bind(literal, for: field))"
        case .inList(_, let literals, let negated):
            return "\(value) \(negated ? "NOT IN" : "IN") (\(literals.map { bind($0, for: field) }.joined(separator: ", ")))"
        case .like(_, let pattern, let caseSensitive, let negated):
            if dialect == .postgres {
                // PostgreSQL's LIKE is case-sensitive, ILIKE is not (ASCII letters on "C" text).
                let op = caseSensitive ? "LIKE" : "ILIKE"
                return "\(value) \(negated ? "NOT " : "")\(op) \(bind(Self.escapedLike(pattern))) ESCAPE '\\'"
            }
            if caseSensitive {
                return "\(value) \(negated ? "NOT GLOB" : "GLOB") \(bind(Self.glob(like: pattern)))"
            }
            return "\(value) \(negated ? "NOT LIKE" : "LIKE") \(bind(Self.escapedLike(pattern))) ESCAPE '\\'"
        default:
            return falseSQL
        }
    }

    /// A test of a param's value, restricted to params of the literal's type: numbers match
    /// int and double params, strings string params, `true`/`false` bool params.
    private mutating func paramTest(_ expression: FilterExpression) -> String {
        if dialect == .postgres { return postgresParamTest(expression) }
        let field = FilterField.param("")
        switch expression {
        case .compare(_, _, let literal):
            return "\(Self.paramType(literal.kind)) AND \(test("p.value", field, expression))"
        case .like:
            return "\(Self.paramType(.string)) AND \(test("p.value", field, expression))"
        case .inList(_, let literals, let negated):
            var groups: [String] = []
            for kind in [FilterValueKind.number, .string, .bool] {
                let members = literals.filter { $0.kind == kind }
                guard !members.isEmpty else { continue }
                groups.append("(\(Self.paramType(kind)) AND \(test("p.value", field, .inList(field, members, negated: negated))))")
            }
            return groups.count == 1 ? groups[0] : "(\(groups.joined(separator: " OR ")))"
        default:
            return "0"
        }
    }

    /// ``paramTest(_:)`` on PostgreSQL's split columns: numbers on `num_value` (an integer
    /// literal on `int_value` first, so that ints compare exactly, `num_value` for doubles),
    /// strings on `text_value`, bools on `int_value` (0/1). A NaN double has every column NULL
    /// and fails, as SQLite's NULL does.
    private mutating func postgresParamTest(_ expression: FilterExpression) -> String {
        let field = FilterField.param("")
        func column(_ kind: FilterValueKind) -> String {
            switch kind {
            case .number: "p.num_value"
            case .string: "p.text_value"
            case .bool: "p.int_value"
            }
        }
        switch expression {
        case .compare(_, let op, let literal):
            if case .integer(let number) = literal {
                // Ints on `int_value`, exactly; doubles on `num_value` against the literal as a
                // double, exact when it is one; otherwise a double equal to the rounded literal
                // is on the side of the literal the rounding went (SQLite compares exactly).
                let exact = test("p.int_value", field, expression)
                let rounded = Double(number)
                let onDouble: String
                if Int64(exactly: rounded) == number {
                    onDouble = "p.num_value \(op.rawValue) \(bind(.double(rounded)))"
                } else {
                    // `rounded` is 2^63 or an integer other than `number`.
                    let sign = Int64(exactly: rounded).map { $0 < number ? -1 : 1 } ?? 1
                    let holds: Bool = switch op {
                    case .equal: false
                    case .notEqual: true
                    case .less, .lessOrEqual: sign < 0
                    case .greater, .greaterOrEqual: sign > 0
                    }
                    let equalRounded = bind(.double(rounded))
                    onDouble = "(CASE WHEN p.num_value = \(equalRounded) THEN \(holds ? trueSQL : falseSQL) ELSE p.num_value \(op.rawValue) \(bind(.double(rounded))) END)"
                }
                return "\(Self.paramType(.number)) AND COALESCE(\(exact), \(onDouble))"
            }
            return "\(Self.paramType(literal.kind)) AND \(test(column(literal.kind), field, expression))"
        case .like:
            return "\(Self.paramType(.string)) AND \(test("p.text_value", field, expression))"
        case .inList(_, let literals, let negated):
            var groups: [String] = []
            for kind in [FilterValueKind.number, .string, .bool] {
                let members = literals.filter { $0.kind == kind }
                guard !members.isEmpty else { continue }
                if kind == .number {
                    groups.append("(\(Self.paramType(kind)) AND \(negated ? "NOT " : "")\(numberIn(members)))")
                } else {
                    groups.append("(\(Self.paramType(kind)) AND \(test(column(kind), field, .inList(field, members, negated: negated))))")
                }
            }
            return groups.count == 1 ? groups[0] : "(\(groups.joined(separator: " OR ")))"
        default:
            return falseSQL
        }
    }

    /// Whether a number param is one of `members` (NULL for NaN): an int param compared exactly
    /// with the integer members, a double param with the members that are doubles exactly.
    private mutating func numberIn(_ members: [FilterValue]) -> String {
        var onInt: [String] = []
        var integers: [Int64] = []
        var doubles: [Double] = []
        for member in members {
            switch member {
            case .integer(let number): integers.append(number)
            case .double(let number): doubles.append(number)
            default: break
            }
        }
        if !integers.isEmpty { onInt.append("p.int_value IN (\(integers.map { bind(.integer($0)) }.joined(separator: ", ")))") }
        if !doubles.isEmpty { onInt.append("p.num_value IN (\(doubles.map { bind(.double($0)) }.joined(separator: ", ")))") }
        let exact = doubles + integers.compactMap { Int64(exactly: Double($0)) == $0 ? Double($0) : nil }
        let onDouble = exact.isEmpty
            ? "(CASE WHEN p.num_value IS NULL THEN NULL ELSE \(falseSQL) END)"
            : "p.num_value IN (\(exact.map { bind(.double($0)) }.joined(separator: ", ")))"
        return "(CASE WHEN p.int_value IS NOT NULL THEN (\(onInt.joined(separator: " OR "))) ELSE \(onDouble) END)"
    }

    private static func paramType(_ kind: FilterValueKind) -> String {
        switch kind {
        case .number: "p.type IN (\(ParamValueRecord.int(0).typeCode), \(ParamValueRecord.double(0).typeCode))"
        case .string: "p.type = \(ParamValueRecord.string("").typeCode)"
        case .bool: "p.type = \(ParamValueRecord.bool(false).typeCode)"
        }
    }

    /// Whether the run has no value for `field` (or, negated, has one).
    private mutating func isNull(_ field: FilterField, negated: Bool) -> String {
        let exists = negated ? "EXISTS" : "NOT EXISTS"
        switch field {
        case .param(let key):
            // SQLite stores a NaN double as NULL; PostgreSQL leaves its columns NULL.
            let present = dialect == .sqlite ? "p.value IS NOT NULL" : "(p.text_value IS NOT NULL OR p.num_value IS NOT NULL)"
            return "\(exists) (SELECT 1 FROM params p WHERE p.run_pk = r.pk AND p.key = \(bind(key)) AND \(present))"
        case .tag(let key):
            return "\(exists) (SELECT 1 FROM run_tags t WHERE t.run_pk = r.pk AND t.key = \(bind(key)))"
        case .metric(let key, let aggregate):
            return "\(exists) (SELECT 1 FROM metric_series m WHERE m.run_pk = r.pk AND m.key = \(bind(key)) AND \(Self.column(aggregate)) IS NOT NULL)"
        case .attribute(.parentRunID):
            return negated ? "r.parent_pk IS NOT NULL" : "r.parent_pk IS NULL"
        case .attribute(.completedAt):
            return negated ? "r.completed_at_ms > 0" : "r.completed_at_ms = 0"
        case .attribute:
            return negated ? trueSQL : falseSQL
        }
    }

    // MARK: Values

    /// The SQL value of a metric aggregate in `metric_series m`; NULL when undefined (NaN).
    private static func column(_ aggregate: MetricAggregate) -> String {
        switch aggregate {
        case .last: "m.last_value"
        case .min: "m.min"
        case .max: "m.max"
        case .mean: "(m.sum / NULLIF(m.finite_count, 0))"
        case .count: "m.count"
        case .firstStep: "m.first_step"
        case .lastStep: "m.last_step"
        }
    }

    private mutating func durationValue() -> String {
        "((CASE WHEN r.completed_at_ms > 0 THEN r.completed_at_ms ELSE \(bind(.integer(nowMs))) END) - r.started_at_ms)"
    }

    /// The values of `field` to order by, most significant first (one, except for params on
    /// PostgreSQL); NULL when the run has none.
    private mutating func orderValues(_ field: FilterField) -> [String] {
        if dialect == .postgres, case .param(let key) = field {
            // SQLite's order of a dynamically typed column: numbers (bools as 0/1) by value,
            // then strings by bytes; NULL (missing, NaN) last.
            return [
                "(SELECT CASE WHEN p.text_value IS NOT NULL THEN 1 WHEN p.num_value IS NOT NULL THEN 0 END FROM params p WHERE p.run_pk = r.pk AND p.key = \(bind(key)))",
                "(SELECT p.num_value FROM params p WHERE p.run_pk = r.pk AND p.key = \(bind(key)))",
                // Ints beyond 2^53 share a double: their distance to it orders them exactly.
                """
                (SELECT CASE WHEN p.int_value IS NULL THEN 0 WHEN p.num_value >= 9223372036854775807::float8 THEN p.int_value - 9223372036854775807 - 1 \
                ELSE p.int_value - p.num_value::int8 END FROM params p WHERE p.run_pk = r.pk AND p.key = \(bind(key)))
                """,
                "(SELECT p.text_value FROM params p WHERE p.run_pk = r.pk AND p.key = \(bind(key)))",
            ]
        }
        return [orderValue(field)]
    }

    /// The value of `field` to order by; NULL when the run has none.
    private mutating func orderValue(_ field: FilterField) -> String {
        switch field {
        case .param(let key):
            "(SELECT p.value FROM params p WHERE p.run_pk = r.pk AND p.key = \(bind(key)))"
        case .tag(let key):
            "(SELECT t.value FROM run_tags t WHERE t.run_pk = r.pk AND t.key = \(bind(key)))"
        case .metric(let key, let aggregate):
            "(SELECT \(Self.column(aggregate)) FROM metric_series m WHERE m.run_pk = r.pk AND m.key = \(bind(key)))"
        case .attribute(.status): "r.status"
        case .attribute(.name): "r.name"
        case .attribute(.id): "r.id"
        case .attribute(.experimentID): "(SELECT e.id FROM experiments e WHERE e.pk = r.experiment_pk)"
        case .attribute(.parentRunID): "(SELECT pr.id FROM runs pr WHERE pr.pk = r.parent_pk)"
        case .attribute(.startedAt): "r.started_at_ms"
        case .attribute(.completedAt): "NULLIF(r.completed_at_ms, 0)"
        case .attribute(.duration): durationValue()
        }
    }

    // MARK: Patterns

    /// A case-sensitive `like` pattern as a GLOB pattern: `%` → `*`, `_` → `?`, `\x` → a
    /// literal x, GLOB's own `*`, `?` and `[` made literal.
    static func glob(like pattern: String) -> String {
        var result = ""
        var escaping = false
        for scalar in pattern.unicodeScalars {
            if escaping {
                escaping = false
                result += literalGlob(scalar)
                continue
            }
            switch scalar {
            case "\\": escaping = true
            case "%": result += "*"
            case "_": result += "?"
            default: result += literalGlob(scalar)
            }
        }
        if escaping { result += "\\" }
        return result
    }

    private static func literalGlob(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "*", "?", "[": "[\(scalar)]"
        default: String(scalar)
        }
    }

    /// A `like` pattern for SQLite's LIKE with `ESCAPE '\'`: `\` before a character other
    /// than `%`, `_` and `\` means the character itself; a trailing `\` is a literal backslash.
    static func escapedLike(_ pattern: String) -> String {
        var result = ""
        var escaping = false
        for scalar in pattern.unicodeScalars {
            if escaping {
                escaping = false
                if scalar == "%" || scalar == "_" || scalar == "\\" { result += "\\" }
                result.unicodeScalars.append(scalar)
            } else if scalar == "\\" {
                escaping = true
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        if escaping { result += "\\\\" }
        return result
    }
}
