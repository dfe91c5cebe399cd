import Testing
@testable import TallyStore

@Suite("Filter parser")
struct FilterParserTests {
    @Test("valid expressions parse to the expected tree", arguments: [
        // The issue's example; `and` is left-associative.
        (#"params.lr < 0.01 and (metrics.val_acc.max >= 0.9 or tags.stage = "prod") and status = "completed""#,
         #"((params.lr < 0.01 and (metrics.val_acc.max >= 0.9 or tags.stage = "prod")) and status = "completed")"#),
        // Precedence: not > and > or.
        (#"status = "running" or params.x = 1 and params.y = 2"#, #"(status = "running" or (params.x = 1 and params.y = 2))"#),
        (#"params.x = 1 and params.y = 2 or params.z = 3"#, #"((params.x = 1 and params.y = 2) or params.z = 3)"#),
        (#"not params.x = 1 and params.y = 2"#, #"((not params.x = 1) and params.y = 2)"#),
        (#"not params.x = 1 or not not params.y = 2"#, #"((not params.x = 1) or (not (not params.y = 2)))"#),
        // Parentheses.
        (#"not (params.x = 1 or params.y = 2)"#, #"(not (params.x = 1 or params.y = 2))"#),
        (#"params.x = 1 and (params.y = 2 or params.z = 3)"#, #"(params.x = 1 and (params.y = 2 or params.z = 3))"#),
        (#"((((status = "failed"))))"#, #"status = "failed""#),
        // Case-insensitive keywords, prefixes, attributes, aggregates and status names.
        (#"NOT Params.x = 1 AND Tags.a = 'b' Or STATUS In ('Completed')"#, #"(((not params.x = 1) and tags.a = "b") or status in ("completed"))"#),
        (#"metrics.loss.MAX > 1 and params.flag = TRUE"#, #"(metrics.loss.max > 1 and params.flag = true)"#),
        // Metric aggregates; `last` by default.
        (#"metrics.loss < 0.5"#, #"metrics.loss.last < 0.5"#),
        (#"metrics.loss.first_step = 0"#, #"metrics.loss.first_step = 0"#),
        (#"metrics.loss.last_step >= 100"#, #"metrics.loss.last_step >= 100"#),
        (#"metrics.loss.count != 3"#, #"metrics.loss.count != 3"#),
        (#"metrics.loss.mean <= 2"#, #"metrics.loss.mean <= 2"#),
        (#"metrics.max.min > 0"#, #"metrics.max.min > 0"#),
        // Keys: -, /, : and leading digits unquoted; anything else in backticks.
        (#"tags.team/sub-group:x = "a""#, #"tags.team/sub-group:x = "a""#),
        (#"params.1st = 2"#, #"params.1st = 2"#),
        (#"params.`optimizer.lr` = 0.1"#, #"params.`optimizer.lr` = 0.1"#),
        // A param's or tag's key may hold dots unquoted: nothing follows it.
        (#"params.env.git_commit = "abc""#, #"params.`env.git_commit` = "abc""#),
        (#"tags.a.b.c = "x""#, #"tags.`a.b.c` = "x""#),
        (#"metrics.`a.b`.max > 1"#, #"metrics.`a.b`.max > 1"#),
        (#"metrics.`a.b` > 1"#, #"metrics.`a.b`.last > 1"#),
        (#"tags.`with space` = "x""#, #"tags.`with space` = "x""#),
        (#"tags.`back\`tick` = "x""#, #"tags.`back\`tick` = "x""#),
        (#"params.`lr` = 1"#, #"params.lr = 1"#),
        // Lists, like, null tests.
        (#"params.opt in ("adam", 'sgd', 3, true)"#, #"params.opt in ("adam", "sgd", 3, true)"#),
        (#"status not in ("running", "KILLED")"#, #"status not in ("running", "killed")"#),
        (#"name like "bert-%""#, #"name like "bert-%""#),
        (#"name ILIKE 'Bert%'"#, #"name ilike "Bert%""#),
        (#"tags.x not like "a_c""#, #"tags.x not like "a_c""#),
        (#"tags.x NOT ILIKE "a""#, #"tags.x not ilike "a""#),
        (#"parent_run_id is null"#, #"parent_run_id is null"#),
        (#"params.x IS NOT NULL"#, #"params.x is not null"#),
        // Numbers.
        (#"params.x = -3"#, #"params.x = -3"#),
        (#"params.x = 1e-3"#, #"params.x = 0.001"#),
        (#"params.x >= .5"#, #"params.x >= 0.5"#),
        (#"params.x = -0.5E2"#, #"params.x = -50.0"#),
        (#"params.x = -.25"#, #"params.x = -0.25"#),
        (#"params.x = 2."#, #"params.x = 2.0"#),
        (#"params.x = 9223372036854775807"#, #"params.x = 9223372036854775807"#),
        // Strings, escapes and spacing.
        (#"tags.q = "a\"b\\c\n""#, #"tags.q = "a\"b\\c\n""#),
        (#"tags.q = 'it\'s'"#, #"tags.q = "it's""#),
        (#"tags.q = "50\%""#, #"tags.q = "50\\%""#),
        ("  status=\"running\"\n\tand\tname!=''  ", #"(status = "running" and name != "")"#),
        (#"id=""or id="x""#, #"(id = "" or id = "x")"#),
        // Attributes.
        (#"duration > 1000 and started_at >= 1700000000000"#, #"(duration > 1000 and started_at >= 1700000000000)"#),
        (#"experiment_id = "abc" and completed_at is not null"#, #"(experiment_id = "abc" and completed_at is not null)"#),
        (#"parent_run_id != "p" and id < "m""#, #"(parent_run_id != "p" and id < "m")"#),
    ])
    func valid(input: String, printed: String) throws {
        let expression = try #require(try FilterParser.parse(input))
        #expect(expression.description == printed)
        // The printed form parses back to the same tree.
        #expect(try FilterParser.parse(printed) == expression)
    }

    @Test("the tree has the expected shape")
    func shape() throws {
        let expression = try FilterParser.parse(#"params.lr < 0.01 and not (metrics.`a.b`.max >= 1 or params.x in ("y", 2))"#)
        #expect(expression == .and(
            .compare(.param("lr"), .less, .double(0.01)),
            .not(.or(
                .compare(.metric("a.b", .max), .greaterOrEqual, .integer(1)),
                .inList(.param("x"), [.string("y"), .integer(2)], negated: false)
            ))
        ))
    }

    @Test("an empty or blank filter matches everything", arguments: ["", "   ", "\n\t"])
    func empty(input: String) throws {
        #expect(try FilterParser.parse(input) == nil)
    }

    @Test("malformed filters fail at the exact position", arguments: [
        (#"params.lr < "#, 12, #"expected a value after "<""#),
        (#"params.lr < )"#, 12, #"expected a value after "<", found ")""#),
        (#"foo = 1"#, 0, #"unknown field "foo""#),
        (#"param.lr = 1"#, 0, #"unknown field "param.lr""#),
        (#"status.x = 1"#, 0, #"unknown field "status.x""#),
        (#"metrics.loss.median > 1"#, 13, #"unknown metric aggregate "median""#),
        (#"metrics.a.b.max > 1"#, 9, "a key containing \".\" must be written in backticks, as in metrics.`a.b`.max"),
        (#"params = 1"#, 6, #"expected a key after "params""#),
        (#"params. = 1"#, 7, #"expected a key after "params.""#),
        (#"tags.x = "abc"#, 9, "unterminated string"),
        (#"tags.x = 'abc\'"#, 9, "unterminated string"),
        ("params.`abc = 1", 7, "unterminated key in backticks"),
        ("params.`` = 1", 7, "empty key in backticks"),
        ("`x` = 1", 0, "a key in backticks must follow"),
        (#"status = "running" extra"#, 19, #"expected "and", "or" or the end of the input, found "extra""#),
        (#"status = "running")"#, 18, #"found ")""#),
        (#"(status = "running""#, 19, #"expected ")" to close the "(" at position 0"#),
        (#"params.x in ()"#, 13, #"empty list after "in""#),
        (#"params.x in (1,)"#, 15, #"expected a value after ",", found ")""#),
        (#"params.x in (1 2)"#, 15, #"expected "," or ")" in the list, found "2""#),
        (#"params.x in 1"#, 12, #"expected "(" after "in""#),
        (#"status < 3"#, 7, "status can only be compared with =, != or in"),
        (#"status = "done""#, 9, "status is one of"),
        (#"status in ("running", 2)"#, 22, "status is one of"),
        (#"status like "r%""#, 7, #""like" applies to strings"#),
        (#"started_at like "x""#, 11, #""like" applies to strings; started_at is a number"#),
        (#"metrics.loss ilike "x""#, 13, #""ilike" applies to strings"#),
        (#"metrics.loss = "low""#, 15, "metrics.loss.last is a number; it cannot be compared with a string"),
        (#"metrics.loss in (1, true)"#, 20, "metrics.loss.last is a number; it cannot be compared with a bool"),
        (#"tags.x = 3"#, 9, "tags.x is a string; it cannot be compared with a number; write the value in quotes"),
        (#"name = true"#, 7, "name is a string"),
        (#"duration > "1h""#, 11, "duration is a number"),
        (#"params.flag < true"#, 12, "true and false can only be compared with = or !="),
        (#"params.x = null"#, 11, "null is not a value"),
        (#"params.x is 1"#, 12, #"expected "null" after "is", found "1""#),
        (#"params.x is not nul"#, 16, #"expected "null" after "is not""#),
        (#"params.x like 3"#, 14, "expected a string pattern after \"like\", found \"3\""),
        (#"params.x not = 1"#, 13, #"expected "in", "like" or "ilike" after "not""#),
        (#"params.x"#, 8, "expected an operator"),
        (#"params.x == 1"#, 10, #"expected a value after "=", found "=""#),
        (#"params.x = 12abc"#, 11, #"malformed number "12abc""#),
        (#"params.x = 1.2.3"#, 11, #"malformed number "1.2.3""#),
        (#"params.x = 1e"#, 11, "expected digits after the exponent"),
        (#"params.x = 99999999999999999999"#, 11, "out of range"),
        (#"params.x = 1e999"#, 11, "out of range"),
        (#"params.x = 1 and"#, 16, "expected a field"),
        (#"and status = "running""#, 0, #"expected a field, found "and""#),
        (#"params.x ! 1"#, 9, #"unexpected character "!""#),
        (#"params.x = 1 # note"#, 13, ##"unexpected character "#""##),
        (#"(params.x = 1) (params.y = 2)"#, 15, "expected \"and\", \"or\""),
        // Positions count Unicode code points: the emoji is one.
        (#"tags.é = "ü😀" and foo = 1"#, 18, #"unknown field "foo""#),
    ])
    func malformed(input: String, position: Int, message: String) {
        let error = #expect(throws: FilterError.self) { _ = try FilterParser.parse(input) }
        #expect(error?.position == position)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }

    @Test("the error text names the position")
    func errorText() {
        let error = FilterError(#"expected a value after "<""#, at: 13)
        #expect(error.description == #"expected a value after "<" at position 13"#)
        let storeError = error.storeError(input: "filter", field: "filter")
        #expect(storeError.code == .invalidArgument)
        #expect(storeError.message == #"filter: expected a value after "<" at position 13"#)
        #expect(storeError.position == 13)
        #expect(storeError.field == "filter")
    }

    @Test("filters longer than the limit fail at the limit")
    func lengthLimit() throws {
        let term = #"name = "x" or "#
        var text = String(repeating: term, count: (FilterParser.maximumLength - 10) / term.count)
        text += String(repeating: " ", count: FilterParser.maximumLength - text.count - 10) + #"name = "y""#
        #expect(text.count == FilterParser.maximumLength)
        #expect(try FilterParser.parse(text) != nil)
        let error = #expect(throws: FilterError.self) { _ = try FilterParser.parse(text + " ") }
        #expect(error?.position == FilterParser.maximumLength)
        #expect(error?.message.contains("longer than 10000 characters") == true)
    }

    @Test("nesting deeper than the limit fails at the first level too deep", arguments: ["(", "not ", "not ("])
    func depthLimit(opening: String) throws {
        func nested(_ depth: Int) -> String {
            let closing = String(repeating: ")", count: opening.filter { $0 == "(" }.count * depth)
            return String(repeating: opening, count: depth) + #"status = "running""# + closing
        }
        let levelsPerOpening = opening == "not (" ? 2 : 1
        let allowed = FilterParser.maximumDepth / levelsPerOpening
        #expect(try FilterParser.parse(nested(allowed)) != nil)
        let error = #expect(throws: FilterError.self) { _ = try FilterParser.parse(nested(allowed + 1)) }
        #expect(error?.message.contains("nested deeper than 100 levels") == true)
        let expected = opening == "not (" ? allowed * opening.count : FilterParser.maximumDepth * opening.count
        #expect(error?.position == expected)
    }

    @Test("order terms parse with their direction", arguments: [
        ("metrics.val_acc.max desc", ["metrics.val_acc.max desc"]),
        ("params.lr", ["params.lr asc"]),
        ("Started_At DESC, name", ["started_at desc", "name asc"]),
        ("metrics.`a.b`.min ASC ,tags.x desc", ["metrics.`a.b`.min asc", "tags.x desc"]),
        ("metrics.loss", ["metrics.loss.last asc"]),
    ])
    func order(input: String, printed: [String]) throws {
        #expect(try FilterParser.parseOrder(input).map(\.description) == printed)
    }

    @Test("malformed order terms fail at the exact position", arguments: [
        ("", 0, "expected a field"),
        ("metrics.x sideways", 10, #"expected "asc", "desc", "," or the end of the input, found "sideways""#),
        ("bogus desc", 0, #"unknown field "bogus""#),
        ("name,", 5, "expected a field"),
        ("metrics.x.median", 10, "unknown metric aggregate"),
        ("name desc desc", 10, #"found "desc""#),
    ])
    func malformedOrder(input: String, position: Int, message: String) {
        let error = #expect(throws: FilterError.self) { _ = try FilterParser.parseOrder(input) }
        #expect(error?.position == position)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }

    @Test("case-sensitive like patterns become GLOB patterns", arguments: [
        ("bert-%", "bert-*"),
        ("a_c", "a?c"),
        (#"50\%"#, "50%"),
        (#"a\_b"#, "a_b"),
        (#"a\\b"#, #"a\b"#),
        ("x*y?[z]", "x[*]y[?][[]z]"),
        (#"end\"#, #"end\"#),
    ])
    func glob(like: String, glob: String) {
        #expect(FilterCompiler.glob(like: like) == glob)
    }

    @Test("compiled SQL has one argument per placeholder and never the user's text")
    func compiledArguments() throws {
        let filter = #"params.lr < 0.01 and (metrics.`a.b`.max >= 0.9 or tags.stage in ("prod", "x' OR 1=1 --")) and not duration > 5 and params.o not in (1, "a", true) and name ilike "b%""#
        let expression = try #require(try FilterParser.parse(filter))
        let condition = FilterCompiler.condition(expression, nowMs: 1).condition
        #expect(condition.sql.filter { $0 == "?" }.count == condition.arguments.count)
        #expect(!condition.sql.contains("prod"))
        #expect(!condition.sql.contains("OR 1=1"))
        let order = FilterCompiler.order(try FilterParser.parseOrder("params.`x'y` desc, duration"), nowMs: 1)
        #expect(order.sql.filter { $0 == "?" }.count == order.arguments.count)
        #expect(order.arguments.count == 2)
        #expect(order.sql.hasSuffix("r.started_at_ms DESC, r.pk DESC"))
    }
}
