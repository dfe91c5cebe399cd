import Testing
import TallyProto

@Suite("proto3 JSON decoding")
struct ProtoJSONDecodingTests {
    /// A Sample with every kind of field set to a value that is not its default.
    static var fullSample: Sample {
        var s = Sample()
        s.fDouble = -1.25e-300
        s.fFloat = 0.1
        s.fInt32 = .min
        s.fInt64 = .min
        s.fUint32 = .max
        s.fUint64 = .max
        s.fSint32 = -7
        s.fSint64 = .max
        s.fFixed32 = 123_456
        s.fFixed64 = 9_007_199_254_740_993
        s.fSfixed32 = -1
        s.fSfixed64 = -9_007_199_254_740_993
        s.fBool = true
        s.fString = "héllo \"world\"\n\u{1F600}\u{7F}"
        s.fBytes = Array(0...255)
        s.fKind = .large
        var point = SamplePoint()
        point.key = "loss"
        point.value = 0.5
        point.step = 1 << 40
        s.fPoint = point
        s.rDouble = [0, -0.0, 1.5, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, -.infinity]
        s.rInt64 = [.min, -1, 0, 1, .max]
        s.rString = ["", "a", "ü"]
        s.rBytes = [[], [0], [0xFB, 0xFF], Array("foobar".utf8)]
        s.rKind = [.small, SampleKind(rawValue: 99), .unspecified, SampleKind(rawValue: -5)]
        s.rPoint = [SamplePoint(), point]
        s.mString = ["a": "x", "": "empty key", "ключ": ""]
        s.mDouble = ["pi": 3.141592653589793, "zero": 0, "inf": .infinity]
        s.mPoint = [.min: point, 0: SamplePoint(), 42: point]
        s.choice = .cPoint(point)
        s.oStep = 0
        s.rBool = [true, false, true]
        s.rUint32 = [0, .max]
        s.rFloat = [1.1, -3.4028235e38, .leastNonzeroMagnitude, .infinity]
        return s
    }

    /// Decodes `text` as a Sample and returns the error it must throw.
    static func sampleError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ProtoJSONError? {
        #expect(throws: ProtoJSONError.self, "\(text)", sourceLocation: sourceLocation) {
            try Sample(jsonString: text)
        }
    }

    // MARK: Round trips

    @Test("every field kind round-trips through the JSONValue and through the text")
    func roundTripSample() throws {
        let sample = Self.fullSample
        #expect(try Sample(protoJSON: sample.protoJSON) == sample)
        #expect(try Sample(jsonString: sample.jsonString()) == sample)
        #expect(try Sample(jsonString: sample.jsonString(pretty: false)) == sample)
        #expect(try Sample(jsonBytes: Array(sample.jsonString().utf8)) == sample)
        SampleTests.expectFields(try Sample(jsonString: sample.jsonString()), sample)
    }

    @Test("each oneof member and the unset oneof round-trip")
    func roundTripOneofs() throws {
        for choice in [nil, .cString(""), .cString("x"), .cInt64(0), .cInt64(.min), .cPoint(SamplePoint())] as [Sample.Choice?] {
            var sample = Sample()
            sample.choice = choice
            sample.oStep = choice == nil ? nil : -3
            #expect(try Sample(jsonString: sample.jsonString()) == sample)
        }
    }

    @Test("tracking messages round-trip: maps of oneof messages, repeated messages, enums, int64s")
    func roundTripRun() throws {
        var run = Run()
        run.id = "r1"
        run.experimentId = "e1"
        run.tags = ["team": "vision", "note": "a \"quoted\" tag"]
        run.status = .failed
        run.error = "out of memory"
        run.startedAtMs = 1_700_000_000_123
        run.completedAtMs = 1_700_000_999_999
        run.durationMs = 999_876
        var lr = ParamValue()
        lr.kind = .doubleValue(3e-4)
        var epochs = ParamValue()
        epochs.kind = .intValue(9_223_372_036_854_775_807)
        var name = ParamValue()
        name.kind = .stringValue("resnet")
        var flag = ParamValue()
        flag.kind = .boolValue(false)
        run.params = ["lr": lr, "epochs": epochs, "name": name, "flag": flag]
        var summary = MetricSummary()
        summary.key = "loss"
        summary.count = 18_446_744_073_709_551_615
        summary.min = -.infinity
        summary.lastStep = -1
        run.metrics = [summary, MetricSummary()]
        var artifact = Artifact()
        artifact.type = .model
        artifact.version = 4_294_967_295
        artifact.aliases = ["latest", "best"]
        artifact.metadata = ["k": "v"]
        run.artifacts = [artifact]
        run.childCount = 3
        var response = ListRunsResponse()
        response.runs = [run, Run()]
        response.nextPageToken = "tok"
        response.totalCount = 2
        #expect(try ListRunsResponse(jsonString: response.jsonString()) == response)
        #expect(try ListRunsResponse(protoJSON: response.protoJSON) == response)
    }

    @Test("Python's MessageToJson output of every valid vector decodes to the vector's message",
          arguments: VectorFile.shared.valid)
    func decodesPythonJSON(vector: Vector) throws {
        let type = try #require(vector.type, "no registered type \(vector.message)")
        let json = try #require(vector.json, "vector has no json")
        let cast = type as? any (ProtoMessage & ProtoJSONDecodable).Type
        let decodable = try #require(cast, "\(vector.message) is not ProtoJSONDecodable")
        try Self.expectSameMessage(decodable, json: json, bytes: vector.bytes)
    }

    static func expectSameMessage<M: ProtoMessage & ProtoJSONDecodable>(_: M.Type, json: String, bytes: [UInt8]) throws {
        let fromJSON = try M(jsonString: json)
        let fromWire = try M(serializedBytes: bytes)
        // JSON text rather than ==, so that NaN payloads compare equal.
        #expect(fromJSON.jsonString() == fromWire.jsonString())
    }

    // MARK: Names

    @Test("original snake_case field names are accepted as well as lowerCamelCase JSON names")
    func snakeCaseNames() throws {
        let text = #"{"f_int32": 5, "r_string": ["a"], "m_point": {"3": {"key": "k"}}, "c_int64": "7", "o_step": 2, "f_point": {"step": 1}}"#
        let sample = try Sample(jsonString: text)
        #expect(sample.fInt32 == 5)
        #expect(sample.rString == ["a"])
        #expect(sample.mPoint[3]?.key == "k")
        #expect(sample.choice == .cInt64(7))
        #expect(sample.oStep == 2)
        #expect(sample.fPoint?.step == 1)
        let request = try ListRunsRequest(jsonString: #"{"experiment_ids": ["e1"], "parentRunId": "p", "page_size": 10}"#)
        #expect(request.experimentIds == ["e1"])
        #expect(request.parentRunId == "p")
        #expect(request.pageSize == 10)
    }

    @Test("a field given under both its names is an error")
    func bothSpellings() {
        let error = Self.sampleError(#"{"fInt32": 1, "f_int32": 2}"#)
        #expect(error?.message.contains("given twice") == true, "\(String(describing: error))")
    }

    @Test("unknown fields are errors that name the field and its path")
    func unknownFields() throws {
        let top = Self.sampleError(#"{"fInt32": 1, "bogus": 2}"#)
        #expect(top?.path == "bogus")
        #expect(top?.message.contains("tally.v1.Sample has no field named \"bogus\"") == true, "\(String(describing: top))")
        let nested = Self.sampleError(#"{"rPoint": [{}, {"key": "a", "nope": null}]}"#)
        #expect(nested?.path == "rPoint[1].nope")
        let inMap = Self.sampleError(#"{"mPoint": {"5": {"x": 1}}}"#)
        #expect(inMap?.path == #"mPoint["5"].x"#)
        #expect(throws: ProtoJSONError.self) { try ListRunsRequest(jsonString: #"{"experimentIDs": []}"#) }
        // A message without fields accepts only the empty object.
        #expect(throws: ProtoJSONError.self) { try InfoRequest(jsonString: #"{"a": 1}"#) }
        #expect(try InfoRequest(jsonString: "{}") == InfoRequest())
    }

    // MARK: Wrong types

    @Test("values of the wrong JSON type are errors naming the path", arguments: [
        (#"{"fString": 5}"#, "fString", "expected a string, got a number"),
        (#"{"rString": ["a", "b", 3]}"#, "rString[2]", "expected a string, got a number"),
        (#"{"fBool": "true"}"#, "fBool", "expected a bool"),
        (#"{"fBool": 1}"#, "fBool", "expected a bool"),
        (#"{"fInt32": true}"#, "fInt32", "expected an integer"),
        (#"{"fInt64": [1]}"#, "fInt64", "expected an integer"),
        (#"{"fDouble": {}}"#, "fDouble", "expected a number"),
        (#"{"fDouble": "abc"}"#, "fDouble", "expected a number"),
        (#"{"fPoint": []}"#, "fPoint", "expected an object"),
        (#"{"fPoint": {"key": 1}}"#, "fPoint.key", "expected a string"),
        (#"{"rDouble": 1}"#, "rDouble", "expected an array"),
        (#"{"mString": ["a"]}"#, "mString", "expected an object"),
        (#"{"mString": {"k": 1}}"#, #"mString["k"]"#, "expected a string"),
        (#"{"fBytes": 12}"#, "fBytes", "expected a base64 string"),
        (#"{"fKind": true}"#, "fKind", "expected an enum name"),
        (#"{"fKind": "SAMPLE_KIND_HUGE"}"#, "fKind", "unknown value \"SAMPLE_KIND_HUGE\" of enum tally.v1.SampleKind"),
        (#"{"fKind": "large"}"#, "fKind", "unknown value"),
        (#"{"rKind": [1, null]}"#, "rKind[1]", "null is not allowed"),
        (#"{"mDouble": {"a": null}}"#, #"mDouble["a"]"#, "null is not allowed"),
    ])
    func wrongTypes(text: String, path: String, reason: String) {
        let error = Self.sampleError(text)
        #expect(error?.path == path, "\(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.message == path + ": " + (error?.reason ?? ""))
    }

    @Test("the top level must be an object")
    func topLevel() {
        for text in ["[]", "null", "1", #""x""#, "true"] {
            #expect(throws: ProtoJSONError.self, "\(text)") { try Sample(jsonString: text) }
        }
    }

    // MARK: Integers

    @Test("32-bit integers: numbers or numeric strings, integral and in range")
    func int32s() throws {
        #expect(try Sample(jsonString: #"{"fInt32": "-2147483648", "fUint32": 4294967295, "fSint32": 1e2, "fSfixed32": "7", "fFixed32": 5.0}"#)
            .fInt32 == .min)
        let s = try Sample(jsonString: #"{"fUint32": "4294967295", "fSint32": 1e2, "fFixed32": 5.0, "rUint32": [0, "1", 2E1]}"#)
        #expect(s.fUint32 == .max)
        #expect(s.fSint32 == 100)
        #expect(s.fFixed32 == 5)
        #expect(s.rUint32 == [0, 1, 20])
        for (text, path) in [
            (#"{"fUint32": "4294967296"}"#, "fUint32"),
            (#"{"fUint32": 4294967296}"#, "fUint32"),
            (#"{"fInt32": "4294967296"}"#, "fInt32"),
            (#"{"fInt32": 2147483648}"#, "fInt32"),
            (#"{"fInt32": -2147483649}"#, "fInt32"),
            (#"{"fUint32": -1}"#, "fUint32"),
            (#"{"rUint32": [1, "-1"]}"#, "rUint32[1]"),
            (#"{"fInt32": 1e10}"#, "fInt32"),
            (#"{"fInt32": 1e300}"#, "fInt32"),
        ] {
            let error = Self.sampleError(text)
            #expect(error?.path == path, "\(text): \(String(describing: error))")
            #expect(error?.reason.contains("out of range") == true, "\(text): \(String(describing: error))")
        }
        for text in [#"{"fInt32": "1.5"}"#, #"{"fInt32": 1.5}"#, #"{"fInt64": "1.5"}"#, #"{"fUint64": 0.5}"#, #"{"fInt32": 1e-1}"#] {
            let error = Self.sampleError(text)
            #expect(error?.reason.contains("expected an integer") == true, "\(text): \(String(describing: error))")
        }
        for text in [#"{"fInt32": ""}"#, #"{"fInt32": " 1"}"#, #"{"fInt32": "+1"}"#, #"{"fInt32": "0x10"}"#, #"{"fInt32": "01"}"#, #"{"fInt64": "NaN"}"#] {
            #expect(Self.sampleError(text) != nil)
        }
    }

    @Test("64-bit integers are exact, as strings and as numbers")
    func int64s() throws {
        let s = try Sample(jsonString: #"{"fInt64": "9223372036854775807", "fSint64": 9007199254740993, "fSfixed64": "-9223372036854775808", "fUint64": "18446744073709551615", "fFixed64": 9223372036854775807, "rInt64": [-9223372036854775808, "-1", 1e3]}"#)
        #expect(s.fInt64 == 9_223_372_036_854_775_807)
        #expect(s.fSint64 == 9_007_199_254_740_993)
        #expect(s.fSfixed64 == .min)
        #expect(s.fUint64 == .max)
        #expect(s.fFixed64 == 9_223_372_036_854_775_807)
        #expect(s.rInt64 == [.min, -1, 1000])
        #expect(try Sample(jsonString: #"{"fInt64": 9007199254740993}"#).fInt64 == 9_007_199_254_740_993)
        #expect(try Sample(jsonString: #"{"cInt64": "-9007199254740993"}"#).choice == .cInt64(-9_007_199_254_740_993))
        for text in [
            #"{"fInt64": "9223372036854775808"}"#,
            #"{"fInt64": "-9223372036854775809"}"#,
            #"{"fUint64": "18446744073709551616"}"#,
            #"{"fUint64": "-1"}"#,
            #"{"fUint64": -1}"#,
        ] {
            let error = Self.sampleError(text)
            #expect(error?.reason.contains("out of range") == true, "\(text): \(String(describing: error))")
        }
        // Beyond int64 a JSON number becomes a Double, which cannot be read exactly: never a rounded value.
        for text in [#"{"fUint64": 18446744073709551615}"#, #"{"fInt64": 9223372036854775808}"#, #"{"fInt64": 1e18}"#] {
            let error = Self.sampleError(text)
            #expect(error?.reason.contains("decimal string") == true, "\(text): \(String(describing: error))")
        }
    }

    // MARK: Floating point

    @Test("floats and doubles: numbers, numeric strings, NaN and the infinities")
    func floatingPoint() throws {
        let s = try Sample(jsonString: #"{"fDouble": "NaN", "fFloat": "-Infinity", "rDouble": ["Infinity", "-Infinity", "1.5", -2, 1E-3], "rFloat": ["NaN", 0.1, 3.4028234663852886e38], "mDouble": {"a": "NaN"}}"#)
        #expect(s.fDouble.isNaN)
        #expect(s.fFloat == -.infinity)
        #expect(s.rDouble == [.infinity, -.infinity, 1.5, -2, 0.001])
        #expect(s.rFloat.count == 3 && s.rFloat[0].isNaN && s.rFloat[1] == 0.1 && s.rFloat[2] == .greatestFiniteMagnitude)
        #expect(s.mDouble["a"]?.isNaN == true)
        // The shortest float text reads back as the same float (no rounding through Double).
        for f: Float in [0.1, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 16_777_216, 0.3, .leastNormalMagnitude, Float(bitPattern: 0x3F8C_CCCD), -0.0] {
            var sample = Sample()
            sample.fFloat = f
            #expect(try Sample(jsonString: sample.jsonString()).fFloat.bitPattern == f.bitPattern)
        }
        for text in [#"{"fFloat": 1e39}"#, #"{"fFloat": "1e39"}"#, #"{"fDouble": "1e400"}"#, #"{"fDouble": "nan"}"#, #"{"fDouble": "inf"}"#, #"{"fDouble": "0x1p3"}"#, #"{"fDouble": " 1"}"#] {
            #expect(Self.sampleError(text) != nil, "\(text)")
        }
    }

    // MARK: Bytes

    @Test("bytes: standard or URL-safe base64, with or without padding")
    func bytes() throws {
        let cases: [(String, [UInt8])] = [
            ("", []),
            ("+w==", [0xFB]), ("+w", [0xFB]), ("-w==", [0xFB]), ("-w", [0xFB]),
            ("+/8=", [0xFB, 0xFF]), ("-_8", [0xFB, 0xFF]), ("-_8=", [0xFB, 0xFF]),
            ("Zm9vYmFy", Array("foobar".utf8)), ("Zm9vYg", Array("foob".utf8)),
        ]
        for (text, expected) in cases {
            #expect(try Sample(jsonString: #"{"fBytes": "\#(text)"}"#).fBytes == expected, "\(text)")
        }
        for bad in ["!!!!", "a", "abcde", "ab=c", "abc===", "ab==c", "Zm9v YmFy", "Zg=", "Zm9=v", "===="] {
            let error = Self.sampleError(#"{"rBytes": ["", "\#(bad)"]}"#)
            #expect(error?.path == "rBytes[1]", "\(bad)")
            #expect(error?.reason == "invalid base64", "\(bad)")
        }
    }

    // MARK: Enums, oneofs, maps, null

    @Test("enums by name or by number")
    func enums() throws {
        let s = try Sample(jsonString: #"{"fKind": 2, "rKind": ["SAMPLE_KIND_SMALL", 99, -5, 0]}"#)
        #expect(s.fKind == .large)
        #expect(s.rKind == [.small, SampleKind(rawValue: 99), SampleKind(rawValue: -5), .unspecified])
        #expect(try SampleKind(protoJSON: .string("SAMPLE_KIND_LARGE")) == .large)
        #expect(try RunStatus(protoJSON: .string("RUN_STATUS_KILLED")) == .killed)
        #expect(Self.sampleError(#"{"fKind": 2147483648}"#)?.reason.contains("out of range") == true)
        #expect(Self.sampleError(#"{"fKind": 1.5}"#) != nil)
        #expect(Self.sampleError(#"{"fKind": "2"}"#) != nil)
    }

    @Test("two members of one oneof are an error, also when one is given by its original name")
    func twoOneofMembers() throws {
        for text in [#"{"cString": "a", "cInt64": "1"}"#, #"{"c_point": {}, "cString": ""}"#, #"{"cInt64": 0, "cPoint": {}}"#] {
            let error = Self.sampleError(text)
            #expect(error?.reason.contains("more than one member of oneof \"choice\"") == true, "\(text): \(String(describing: error))")
        }
        // A null member does not count.
        #expect((try? Sample(jsonString: #"{"cString": null, "cInt64": "1"}"#))?.choice == .cInt64(1))
        // The tracking oneof too.
        #expect(throws: ProtoJSONError.self) { try ParamValue(jsonString: #"{"intValue": 1, "doubleValue": 1}"#) }
        #expect(try ParamValue(jsonString: #"{"double_value": 1}"#).kind == .doubleValue(1))
    }

    @Test("map keys are converted to the key type and range-checked")
    func mapKeys() throws {
        let s = try Sample(jsonString: #"{"mPoint": {"-9223372036854775808": {}, "9223372036854775807": {"key": "max"}}}"#)
        #expect(s.mPoint.keys.sorted() == [.min, .max])
        #expect(s.mPoint[.max]?.key == "max")
        for key in ["abc", "9223372036854775808", "1.0", "", " 1", "+1"] {
            let error = Self.sampleError(#"{"mPoint": {"\#(key)": {}}}"#)
            #expect(error?.path == #"mPoint["\#(key)"]"#, "\(key): \(String(describing: error))")
        }
        // Two spellings of one key.
        #expect(Self.sampleError(#"{"mPoint": {"1": {}, "-0": {}, "0": {}}}"#)?.reason.contains("given twice") == true)
    }

    @Test("null means the field's default")
    func nulls() throws {
        let text = #"{"fInt32": null, "fInt64": null, "fString": null, "fBytes": null, "fKind": null, "fPoint": null, "cString": null, "oStep": null, "rString": null, "mString": null, "fDouble": null, "fBool": null}"#
        #expect(try Sample(jsonString: text) == Sample())
        #expect(try Sample(jsonString: #"{"o_step": null}"#).oStep == nil)
        #expect(try Sample(jsonString: #"{"oStep": "0"}"#).oStep == 0)
    }

    // MARK: JSON text

    @Test("deep nesting is an error, not a crash", arguments: [
        String(repeating: "[", count: 10_000),
        String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000),
        String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000),
        #"{"fPoint":"# + String(repeating: "[", count: 100_000),
    ])
    func deepNesting(text: String) {
        #expect(throws: ProtoJSONError.self) { try Sample(jsonString: text) }
        #expect(throws: ProtoJSONError.self) { try JSONValue.parse(text) }
    }

    @Test("nesting up to the limit parses")
    func nestingLimit() throws {
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue.parse(ok) }
        let tooDeep = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        let error = #expect(throws: ProtoJSONError.self) { try JSONValue.parse(tooDeep) }
        #expect(error?.message.contains("nested deeper than 100") == true)
        #expect(throws: Never.self) { try JSONValue.parse(tooDeep, maxDepth: 101) }
    }

    @Test("the parser is strict RFC 8259", arguments: [
        "", " ", "[1,]", "{\"a\":1,}", "{\"a\":1,\"a\":2}", "01", "-", "1.", ".5", "+1", "1e", "0x10", "NaN",
        "Infinity", "[1 2]", "{\"a\" 1}", "{a:1}", "'a'", "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"",
        "\"\\ud800\\u0041\"", "\"a\u{01}b\"", "\"\\u12\"", "tru", "nul", "true false", "[1]]", "// c\n1",
        "\u{FEFF}{}", "1e400", "-1e400", "{\"a\":1}x",
    ])
    func strictParser(text: String) {
        #expect(throws: ProtoJSONError.self) { try JSONValue.parse(text) }
    }

    @Test("invalid UTF-8 is an error")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0xC0, 0xAF]] {
            #expect(throws: ProtoJSONError.self) { try JSONValue.parse(bytes) }
        }
    }

    @Test("the parser keeps integers exact and reads escapes")
    func parserValues() throws {
        #expect(try JSONValue.parse("9007199254740993") == .integer(9_007_199_254_740_993))
        #expect(try JSONValue.parse("-9223372036854775808") == .integer(.min))
        #expect(try JSONValue.parse("-0") == .integer(0))
        #expect(try JSONValue.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try JSONValue.parse("1.5e2") == .double(150))
        #expect(try JSONValue.parse(" \t\r\n[ true , false , null ] ") == .array([.bool(true), .bool(false), .null]))
        #expect(try JSONValue.parse(#""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\u0000""#) == .string("\"\\/\u{08}\u{0C}\n\r\té😀\u{0}"))
        #expect(try JSONValue.parse(#"{"a": {"b": []}, "c": "é"}"#) == .object(["a": .object(["b": .array([])]), "c": .string("é")]))
        let value = JSONValue.object(["s": .string("x\u{2028}\"\u{01}"), "n": .integer(-3), "a": .array([.double(0.25), .bool(false), .null])])
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test("a syntax error names the byte offset")
    func syntaxErrorOffset() {
        let error = #expect(throws: ProtoJSONError.self) { try Sample(jsonString: #"{"fInt32": 1,}"#) }
        #expect(error?.path == "")
        #expect(error?.message.hasPrefix("invalid JSON at byte 13") == true, "\(String(describing: error))")
    }

    @Test("arbitrary bytes never crash the decoder")
    func garbage() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let alphabet = Array(#"{}[]":,0123456789-+.eE tfnrualsx\"#.utf8) + [0xC3, 0xA9, 0xFF]
        for _ in 0..<2_000 {
            var bytes: [UInt8] = []
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let count = Int(state >> 58)
            for _ in 0..<count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            _ = try? Sample(jsonBytes: bytes)
            _ = try? JSONValue.parse(bytes)
        }
    }
}
