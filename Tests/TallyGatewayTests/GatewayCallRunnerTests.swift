import Logging
import TallyAPI
import TallyGateway
import TallyProto
import TallyRPC
import TallyServices
import Testing

/// The gateway's calls over the real Diagnostics service: each call shape, in JSON.
@Suite struct GatewayCallRunnerTests {
    let methods: GatewayMethods
    let runner = GatewayCallRunner(logger: Logger(label: "test.gateway"))

    init() {
        var router = RPCRouter()
        DiagnosticsProvider().registerMethods(with: &router)
        methods = GatewayMethods(router: router)
    }

    func entry(_ method: String) throws -> GatewayMethods.Entry {
        try methods.lookup(service: "tally.v1.Diagnostics", method: method).get()
    }

    @Test func unaryCallRoundTripsJSON() async throws {
        let echo = try entry("Echo")
        let requests = try runner.decodeRequests(Array(#"{"sample": {"fInt64": "9007199254740993", "fString": "héllo"}, "payload": "AAEC"}"#.utf8), for: echo.schema)
        let answer = try await runner.collect(echo, requests: requests).get()
        guard case .object(let members) = answer, case .object(let sample)? = members["sample"] else {
            Issue.record("not an object: \(answer)")
            return
        }
        #expect(sample["fInt64"] == .string("9007199254740993"))
        #expect(sample["fString"] == .string("héllo"))
        #expect(members["payload"] == .string("AAEC"))
        #expect(members["receivedBytes"] == .string("3"))
    }

    @Test func anEmptyBodyIsTheDefaultRequest() async throws {
        let echo = try entry("Echo")
        let requests = try runner.decodeRequests([], for: echo.schema)
        #expect(requests == [[]])
        #expect(try await runner.collect(echo, requests: requests).get() == .object([:]))
    }

    @Test func serverStreamingEmitsEachResponseInOrder() async throws {
        let stream = try entry("EchoStream")
        let requests = try runner.decodeRequests(Array(#"{"count": 5}"#.utf8), for: stream.schema)
        let seen = Collected()
        let status = await runner.stream(stream, requests: requests) { json in await seen.append(json) }
        #expect(status == nil)
        let indexes = await seen.items.map { json -> Int64 in
            if case .object(let m) = json, case .integer(let i)? = m["index"] { return i }
            return 0
        }
        #expect(indexes == [0, 1, 2, 3, 4])
    }

    @Test func aFailingStreamReportsItsStatus() async throws {
        let stream = try entry("EchoStream")
        let requests = try runner.decodeRequests(Array(#"{"count": 2, "failCode": 5, "failMessage": "nothing here"}"#.utf8), for: stream.schema)
        let status = await runner.stream(stream, requests: requests) { _ in }
        #expect(status?.code == .notFound)
        #expect(status?.message == "nothing here")
        #expect(status.map { $0.code.httpStatus } == 404)
    }

    @Test func clientStreamingTakesAnArray() async throws {
        let collect = try entry("EchoCollect")
        let requests = try runner.decodeRequests(Array(#"[{"payload": "AA=="}, {"payload": "AAA="}, {}]"#.utf8), for: collect.schema)
        #expect(requests.count == 3)
        let answer = try await runner.collect(collect, requests: requests).get()
        guard case .object(let members) = answer else { Issue.record("not an object"); return }
        #expect(members["index"] == .integer(3))
        #expect(members["receivedBytes"] == .string("3"))
    }

    @Test func bidirectionalAnswersAnArray() async throws {
        let bidi = try entry("EchoBidi")
        let requests = try runner.decodeRequests(Array(#"[{"payload": "AA=="}, {"payload": "AAA="}]"#.utf8), for: bidi.schema)
        let answer = try await runner.collect(bidi, requests: requests).get()
        guard case .array(let items) = answer else { Issue.record("not an array: \(answer)"); return }
        #expect(items.count == 2)
    }

    @Test func aStreamOfRequestsMustBeAnArray() throws {
        let collect = try entry("EchoCollect")
        #expect(throws: RPCError.self) { try runner.decodeRequests(Array(#"{"payload": "AA=="}"#.utf8), for: collect.schema) }
    }

    @Test func badBodiesAreInvalidArgumentWithTheReason() throws {
        let echo = try entry("Echo")
        for body in [#"{"payload": 12}"#, #"{"nope": 1}"#, "{", #"{"count": 4294967296}"#, "[]"] {
            do {
                _ = try runner.decodeRequests(Array(body.utf8), for: echo.schema)
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.code == .invalidArgument, "\(body)")
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test func providerManagementStaysOnTheSocket() {
        let router = RPCRouter()
        let methods = GatewayMethods(router: router)
        for name in ["CreateProvider", "UpdateProvider", "DeleteProvider"] {
            guard case .failure(let error) = methods.lookup(service: "tally.v1.Experiments", method: name) else {
                Issue.record("\(name) reachable")
                continue
            }
            #expect(error.code == .permissionDenied)
        }
        guard case .failure(let error) = methods.lookup(service: "tally.v1.Nowhere", method: "Nothing") else {
            Issue.record("unknown method reachable")
            return
        }
        #expect(error.code == .unimplemented)
    }

    @Test func errorJSONCarriesTheDetails() throws {
        var details = ErrorDetails()
        details.field = "filter"
        details.position = 7
        let error = RPCError(code: .invalidArgument, message: "bad filter", details: try details.serializedBytes())
        guard case .object(let members) = error.gatewayJSON, case .object(let decoded)? = members["details"] else {
            Issue.record("no details")
            return
        }
        #expect(members["codeName"] == .string("INVALID_ARGUMENT"))
        #expect(decoded["position"] == .string("7"))
        #expect(error.code.httpStatus == 400)
    }

    @Test func theListingNamesEveryRegisteredMethod() {
        guard case .object(let root) = methods.listing, case .array(let list)? = root["methods"] else {
            Issue.record("no listing")
            return
        }
        #expect(list.count == DiagnosticsService.Method.all.count)
    }
}

actor Collected {
    var items: [JSONValue] = []
    func append(_ item: JSONValue) { items.append(item) }
}
