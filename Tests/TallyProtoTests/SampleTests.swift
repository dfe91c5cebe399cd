import Testing
import TallyProto

@Suite("tally.v1.Sample")
struct SampleTests {
    /// Compares every field separately, so a failure names the field.
    static func expectFields(_ actual: Sample, _ expected: Sample, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.fDouble.bitPattern == expected.fDouble.bitPattern, "fDouble", sourceLocation: sourceLocation)
        #expect(actual.fFloat.bitPattern == expected.fFloat.bitPattern, "fFloat", sourceLocation: sourceLocation)
        #expect(actual.fInt32 == expected.fInt32, "fInt32", sourceLocation: sourceLocation)
        #expect(actual.fInt64 == expected.fInt64, "fInt64", sourceLocation: sourceLocation)
        #expect(actual.fUint32 == expected.fUint32, "fUint32", sourceLocation: sourceLocation)
        #expect(actual.fUint64 == expected.fUint64, "fUint64", sourceLocation: sourceLocation)
        #expect(actual.fSint32 == expected.fSint32, "fSint32", sourceLocation: sourceLocation)
        #expect(actual.fSint64 == expected.fSint64, "fSint64", sourceLocation: sourceLocation)
        #expect(actual.fFixed32 == expected.fFixed32, "fFixed32", sourceLocation: sourceLocation)
        #expect(actual.fFixed64 == expected.fFixed64, "fFixed64", sourceLocation: sourceLocation)
        #expect(actual.fSfixed32 == expected.fSfixed32, "fSfixed32", sourceLocation: sourceLocation)
        #expect(actual.fSfixed64 == expected.fSfixed64, "fSfixed64", sourceLocation: sourceLocation)
        #expect(actual.fBool == expected.fBool, "fBool", sourceLocation: sourceLocation)
        #expect(actual.fString == expected.fString, "fString", sourceLocation: sourceLocation)
        #expect(Array(actual.fString.utf8) == Array(expected.fString.utf8), "fString bytes", sourceLocation: sourceLocation)
        #expect(actual.fBytes == expected.fBytes, "fBytes", sourceLocation: sourceLocation)
        #expect(actual.fKind == expected.fKind, "fKind", sourceLocation: sourceLocation)
        #expect(actual.fPoint == expected.fPoint, "fPoint", sourceLocation: sourceLocation)
        #expect(actual.rDouble.map(\.bitPattern) == expected.rDouble.map(\.bitPattern), "rDouble", sourceLocation: sourceLocation)
        #expect(actual.rInt64 == expected.rInt64, "rInt64", sourceLocation: sourceLocation)
        #expect(actual.rString == expected.rString, "rString", sourceLocation: sourceLocation)
        #expect(actual.rBytes == expected.rBytes, "rBytes", sourceLocation: sourceLocation)
        #expect(actual.rKind == expected.rKind, "rKind", sourceLocation: sourceLocation)
        #expect(actual.rPoint == expected.rPoint, "rPoint", sourceLocation: sourceLocation)
        #expect(actual.mString == expected.mString, "mString", sourceLocation: sourceLocation)
        #expect(actual.mDouble == expected.mDouble, "mDouble", sourceLocation: sourceLocation)
        #expect(actual.mPoint == expected.mPoint, "mPoint", sourceLocation: sourceLocation)
        #expect(actual.choice == expected.choice, "choice", sourceLocation: sourceLocation)
        #expect(actual.oStep == expected.oStep, "oStep", sourceLocation: sourceLocation)
        #expect(actual.rBool == expected.rBool, "rBool", sourceLocation: sourceLocation)
        #expect(actual.rUint32 == expected.rUint32, "rUint32", sourceLocation: sourceLocation)
        #expect(actual.rFloat.map(\.bitPattern) == expected.rFloat.map(\.bitPattern), "rFloat", sourceLocation: sourceLocation)
        #expect(actual == expected, sourceLocation: sourceLocation)
    }

    /// The hand-picked vectors of scripts/make-test-vectors, written as Swift values.
    static let expected: [String: Sample] = {
        var unicode = Sample()
        unicode.fString = "héllo 中文 🎉"
        unicode.rString = ["é", "", "🎉", ""]
        unicode.mString = ["ключ": "значение", "中": "文", "a": "🎉"]
        var point = SamplePoint()
        point.key = "点"
        point.value = 0.5
        point.step = -1
        unicode.fPoint = point

        var emptyStrings = Sample()
        emptyStrings.rString = ["", "", ""]
        emptyStrings.rBytes = [[], [0], []]

        var unknownEnum = Sample()
        unknownEnum.fKind = SampleKind(rawValue: 99)
        unknownEnum.rKind = [SampleKind(rawValue: 99), .small, SampleKind(rawValue: -1), .unspecified]

        var infinities = Sample()
        infinities.fDouble = .infinity
        infinities.fFloat = -.infinity
        infinities.rDouble = [-.infinity, .infinity, .leastNonzeroMagnitude]
        infinities.rFloat = [.infinity, -1.5]
        infinities.mDouble = ["+inf": .infinity, "-inf": -.infinity]

        var extremes = Sample()
        extremes.fInt32 = .min
        extremes.fInt64 = .min
        extremes.fUint32 = .max
        extremes.fUint64 = .max
        extremes.fSint32 = .min
        extremes.fSint64 = .min
        extremes.fFixed32 = .max
        extremes.fFixed64 = .max
        extremes.fSfixed32 = .max
        extremes.fSfixed64 = .min
        extremes.rInt64 = [.min, .max, -1, 0]
        extremes.rUint32 = [0, .max]

        var oneofEmptyPoint = Sample()
        oneofEmptyPoint.choice = .cPoint(SamplePoint())
        oneofEmptyPoint.oStep = 0

        var mapOrder = Sample()
        mapOrder.mString = ["f": "1", "e\u{301}": "2", "ab": "3", "a": "4"]
        var one = SamplePoint()
        one.step = 1
        var m = SamplePoint()
        m.key = "m"
        mapOrder.mPoint = [1: one, 5: SamplePoint(), -1: m, .min: SamplePoint()]

        return [
            "sample_map_order": mapOrder,
            "sample_unicode": unicode,
            "sample_empty_strings": emptyStrings,
            "sample_unknown_enum": unknownEnum,
            "sample_infinities": infinities,
            "sample_int_extremes": extremes,
            "sample_oneof_point_empty": oneofEmptyPoint,
        ]
    }()

    @Test("hand-picked vectors decode to the expected values and encode to Python's bytes",
          arguments: expected.keys.sorted())
    func handPicked(name: String) throws {
        let vector = try #require(VectorFile.named(name))
        let expected = try #require(Self.expected[name])
        let decoded = try Sample(serializedBytes: vector.bytes)
        Self.expectFields(decoded, expected)
        #expect(try expected.serializedBytes() == vector.bytes)
    }

    @Test("a string with a NUL byte is rejected when encoding, never truncated")
    func encodeNul() throws {
        var sample = Sample()
        sample.fString = "a\u{0}b"
        let rejected = Self.encodeError(sample)
        let error = try #require(rejected)
        #expect(error.code == .invalidString)
        #expect(error.fieldPath == "tally.v1.Sample.f_string")
        #expect(error.description == "field tally.v1.Sample.f_string: string contains a NUL byte")

        var nested = Sample()
        nested.fPoint = SamplePoint()
        nested.fPoint?.key = "\u{0}"
        #expect(Self.encodeError(nested)?.fieldPath == "tally.v1.Sample.f_point.key")

        var repeated = Sample()
        repeated.rPoint = [SamplePoint(), SamplePoint()]
        repeated.rPoint[1].key = "x\u{0}"
        #expect(Self.encodeError(repeated)?.fieldPath == "tally.v1.Sample.r_point.key")

        var mapKey = Sample()
        mapKey.mString = ["ok": "fine", "k\u{0}": "v"]
        #expect(Self.encodeError(mapKey)?.fieldPath == "tally.v1.Sample.m_string.key")

        var mapValue = Sample()
        mapValue.mPoint = [3: SamplePoint()]
        mapValue.mPoint[3]?.key = "\u{0}"
        #expect(Self.encodeError(mapValue)?.fieldPath == "tally.v1.Sample.m_point.value.key")

        var oneof = Sample()
        oneof.choice = .cString("\u{0}")
        #expect(Self.encodeError(oneof)?.code == .invalidString)

        var list = Sample()
        list.rString = ["a", "b\u{0}"]
        #expect(Self.encodeError(list)?.code == .invalidString)

        var deep = EchoRequest()
        deep.sample = sample
        #expect(Self.encodeError(deep)?.fieldPath == "tally.v1.EchoRequest.sample.f_string")
    }

    static func encodeError(_ message: some ProtoMessage) -> ProtoError? {
        do {
            _ = try message.serializedBytes()
            return nil
        } catch {
            return error
        }
    }

    @Test("decode errors name the field and the problem")
    func decodeErrorMessage() throws {
        let rejected = VectorTests.decodeError(Sample.self, [0x72, 0x03, 0x61, 0x00, 0x62])
        let error = try #require(rejected)
        #expect(error.code == .invalidString)
        #expect(error.fieldPath == "tally.v1.Sample.f_string")
        #expect(error.description.hasPrefix("field tally.v1.Sample.f_string: string contains a NUL byte"))

        let rejectedNested = VectorTests.decodeError(EchoRequest.self, [0x0A, 0x06, 0x8A, 0x01, 0x03, 0x0A, 0x01, 0xFF])
        let nested = try #require(rejectedNested)
        #expect(nested.fieldPath == "tally.v1.EchoRequest.sample.f_point.key")
        #expect(nested.description.contains("not valid UTF-8"))

        let rejectedTruncated = VectorTests.decodeError(Sample.self, [0x18, 0xFF])
        let truncated = try #require(rejectedTruncated)
        #expect(truncated.code == .malformed)
        #expect(truncated.description.hasPrefix("cannot decode tally.v1.Sample: truncated"))
    }

    @Test("unknown enum values survive a round trip")
    func unknownEnum() throws {
        var sample = Sample()
        sample.fKind = SampleKind(rawValue: 12345)
        sample.rKind = [SampleKind(rawValue: -7), .large, SampleKind(rawValue: Int32.max)]
        let decoded = try Sample(serializedBytes: sample.serializedBytes())
        #expect(decoded == sample)
        #expect(decoded.fKind.rawValue == 12345)
        #expect(decoded.fKind.description == "12345")
        #expect(SampleKind.large.description == "SAMPLE_KIND_LARGE")
        #expect(SampleKind.knownValues == [.unspecified, .small, .large])
    }

    @Test("a oneof member set to its zero value is still present")
    func oneofPresence() throws {
        var sample = Sample()
        #expect(try sample.serializedBytes() == [])
        sample.choice = .cInt64(0)
        #expect(try sample.serializedBytes() == [0xE0, 0x01, 0x00])
        #expect(try Sample(serializedBytes: sample.serializedBytes()).choice == .cInt64(0))

        sample.choice = .cString("")
        #expect(try sample.serializedBytes() == [0xDA, 0x01, 0x00])
        #expect(try Sample(serializedBytes: sample.serializedBytes()).choice == .cString(""))

        sample.choice = .cPoint(SamplePoint())
        #expect(try Sample(serializedBytes: sample.serializedBytes()).choice == .cPoint(SamplePoint()))

        sample.choice = nil
        #expect(try Sample(serializedBytes: sample.serializedBytes()).choice == nil)
    }

    @Test("a one-field oneof is an Optional: zero is present, nil is absent")
    func optionalPresence() throws {
        var sample = Sample()
        #expect(try Sample(serializedBytes: sample.serializedBytes()).oStep == nil)
        sample.oStep = 0
        #expect(try sample.serializedBytes() == [0xF0, 0x01, 0x00])
        #expect(try Sample(serializedBytes: sample.serializedBytes()).oStep == 0)
        sample.oStep = -5
        #expect(try Sample(serializedBytes: sample.serializedBytes()).oStep == -5)
    }

    @Test("later members of a oneof win, as in every protobuf decoder")
    func oneofLastWins() throws {
        // c_string "a", then c_int64 7.
        let bytes: [UInt8] = [0xDA, 0x01, 0x01, 0x61, 0xE0, 0x01, 0x07]
        #expect(try Sample(serializedBytes: bytes).choice == .cInt64(7))
    }

    @Test("unknown fields are skipped")
    func unknownFields() throws {
        var sample = Sample()
        sample.fInt32 = 5
        let known = try sample.serializedBytes()
        // Field 1000 as a varint and as a length-delimited value (with a NUL: not a string of this message).
        let unknown: [UInt8] = [0xC0, 0x3E, 0x01, 0xC2, 0x3E, 0x02, 0x00, 0xFF]
        #expect(try Sample(serializedBytes: known + unknown) == sample)
    }

    @Test("map entries with default keys or values decode to the same map")
    func defaultMapEntries() throws {
        var sample = Sample()
        sample.mString = ["": "", "k": ""]
        sample.mDouble = ["": 0]
        sample.mPoint = [0: SamplePoint(), -1: SamplePoint()]
        #expect(try Sample(serializedBytes: sample.serializedBytes()) == sample)
    }

    @Test("map entries are written in the order of Python's deterministic serialization")
    func mapKeyOrder() throws {
        var sample = Sample()
        // By UTF-8 bytes ("e\u{301}" is 65 CC 81), not by Swift's String order (which puts "f" first);
        // a key before its own prefixes.
        sample.mDouble = ["f": 1, "e\u{301}": 2, "a": 3, "ab": 4]
        sample.mPoint = [0: SamplePoint(), 5: SamplePoint(), -1: SamplePoint(), .min: SamplePoint()]
        let decoded = try Sample(serializedBytes: sample.serializedBytes())
        #expect(decoded == sample)
        let keys = Self.mapKeys(try sample.serializedBytes())
        #expect(keys[25] == [Array("ab".utf8), Array("a".utf8), Array("e\u{301}".utf8), Array("f".utf8)])
        // Varint keys -1, .min, 5, 0 (descending as unsigned 64-bit).
        #expect(keys[26] == [
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            [0x05], [0x00],
        ])
    }

    /// The raw key bytes of the map entries of each field, in wire order (small test-only walker:
    /// top-level fields all length-delimited, keys at the start of each entry).
    static func mapKeys(_ bytes: [UInt8]) -> [Int: [[UInt8]]] {
        var out: [Int: [[UInt8]]] = [:]
        var i = 0
        func varint() -> Int {
            var value = 0, shift = 0
            while true {
                let b = bytes[i]
                i += 1
                value |= Int(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while i < bytes.count {
            let field = varint() >> 3
            let length = varint()
            let entryEnd = i + length
            let keyTag = bytes[i]
            i += 1
            let key: [UInt8]
            if keyTag == 0x0A {
                let n = varint()
                key = Array(bytes[i..<(i + n)])
            } else {
                let start = i
                _ = varint()
                key = Array(bytes[start..<i])
            }
            out[field, default: []].append(key)
            i = entryEnd
        }
        return out
    }

    @Test("large repeated fields round-trip")
    func largeArrays() throws {
        let count = 100_000
        var sample = Sample()
        sample.rDouble = (0..<count).map { Double($0) * 0.5 - 1000 }
        sample.rInt64 = (0..<count).map { Int64($0) * -3_000_000_007 }
        sample.rFloat = (0..<count).map { Float($0) / 3 }
        sample.rUint32 = (0..<count).map { UInt32($0) &* 2_654_435_761 }
        sample.rBool = (0..<count).map { $0 % 3 == 0 }
        sample.rKind = (0..<count).map { SampleKind(rawValue: Int32($0 % 5) - 1) }
        let bytes = try sample.serializedBytes()
        let decoded = try Sample(serializedBytes: bytes)
        #expect(decoded.rDouble == sample.rDouble)
        #expect(decoded.rInt64 == sample.rInt64)
        #expect(decoded.rFloat == sample.rFloat)
        #expect(decoded.rUint32 == sample.rUint32)
        #expect(decoded.rBool == sample.rBool)
        #expect(decoded.rKind == sample.rKind)
        #expect(try decoded.serializedBytes() == bytes)
    }

    @Test("many strings and sub-messages round-trip")
    func manyMessages() throws {
        var sample = Sample()
        sample.rPoint = (0..<5_000).map { i in
            var p = SamplePoint()
            p.key = "metric/\(i)/é"
            p.value = Double(i)
            p.step = Int64(i)
            return p
        }
        sample.rString = (0..<5_000).map { "s\($0)" }
        sample.mPoint = Dictionary(uniqueKeysWithValues: (0..<1_000).map { (Int64($0) - 500, SamplePoint()) })
        #expect(try Sample(serializedBytes: sample.serializedBytes()) == sample)
    }
}
