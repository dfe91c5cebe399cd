import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TallyAPI
import TallyGateway
import TallyProto
import TallyRPC
import TallyServices
import Testing

/// The HTTP gateway on a real loopback port, called over HTTP.
@Suite(.serialized) struct HTTPGatewayTests {
    static let token = DashboardToken("test-token-0123456789abcdef")

    /// Runs a gateway over the Diagnostics service on port 0 (or `address`) for `body`.
    func withGateway(
        address: GatewayAddress = GatewayAddress(host: "127.0.0.1", port: 0),
        _ body: (GatewayAddress, HTTPClient) async throws -> Void
    ) async throws {
        var router = RPCRouter()
        DiagnosticsProvider().registerMethods(with: &router)
        let assets = FileManager.default.temporaryDirectory.appendingPathComponent("tally-gateway-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: assets, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: assets) }
        try Data("<!doctype html><title>tally</title>".utf8).write(to: URL(fileURLWithPath: assets + "/index.html"))
        try Data("export const x = 1;\n".utf8).write(to: URL(fileURLWithPath: assets + "/app.js"))
        let gateway = HTTPGateway(
            configuration: .init(address: address, token: Self.token, assetsFolder: assets, keepAliveInterval: .milliseconds(200)),
            router: router,
            logger: Logger(label: "test.http")
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gateway.run() }
            guard let bound = try await gateway.waitUntilBound() else {
                throw GatewayError(code: .bindFailed, message: "stopped before it listened")
            }
            defer { gateway.beginShutdown() }
            try await body(bound, client)
        }
        try await client.shutdown()
    }

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    func request(_ client: HTTPClient, _ address: GatewayAddress, _ path: String, method: String = "GET", body: String? = nil, cookie: String? = nil, bearer: String? = nil, accept: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(address.port)\(path)")
        request.method = .init(rawValue: method)
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return Answer(status: Int(response.status.code), headers: headers, body: String(buffer: bytes))
    }

    @Test func withoutTheTokenEverythingIs401AndNoData() async throws {
        try await withGateway { address, client in
            for (path, method) in [("/", "GET"), ("/assets/app.js", "GET"), ("/api/methods", "GET"), ("/api/tally.v1.Diagnostics/Echo", "POST")] {
                let answer = try await request(client, address, path, method: method, body: method == "POST" ? #"{"payload":"AAEC"}"# : nil)
                #expect(answer.status == 401, "\(method) \(path)")
                #expect(!answer.body.contains("AAEC"))
                #expect(!answer.body.contains("export const"))
                #expect(answer.body.contains("UNAUTHENTICATED"))
            }
            let wrong = try await request(client, address, "/api/methods", bearer: "test-token-0123456789abcdeX")
            #expect(wrong.status == 401)
            let wrongCookie = try await request(client, address, "/api/methods", cookie: "tally_token=nope")
            #expect(wrongCookie.status == 401)
            let wrongQuery = try await request(client, address, "/?token=nope")
            #expect(wrongQuery.status == 401)
        }
    }

    @Test func theTokenInTheURLBecomesACookieAndIsDroppedFromTheAddress() async throws {
        try await withGateway { address, client in
            let answer = try await request(client, address, "/?token=\(Self.token.value)&x=1#/runs")
            #expect(answer.status == 303)
            #expect(answer.headers["location"] == "/?x=1")
            let cookie = try #require(answer.headers["set-cookie"])
            #expect(cookie.hasPrefix("tally_token=\(Self.token.value);"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            let page = try await request(client, address, "/", cookie: "tally_token=\(Self.token.value)")
            #expect(page.status == 200)
            #expect(page.body.contains("<title>tally</title>"))
            let asset = try await request(client, address, "/assets/app.js", cookie: "other=1; tally_token=\(Self.token.value)")
            #expect(asset.status == 200)
            #expect(asset.body == "export const x = 1;\n")
        }
    }

    @Test func aUnaryCallIsJSONInAndOut() async throws {
        try await withGateway { address, client in
            let answer = try await request(client, address, "/api/tally.v1.Diagnostics/Echo", method: "POST", body: #"{"payload":"AAEC","sample":{"fDouble":"NaN"}}"#, bearer: Self.token.value)
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/json")
            let json = try JSONValue.parse(answer.body)
            guard case .object(let members) = json, case .object(let sample)? = members["sample"] else {
                Issue.record("unexpected \(answer.body)")
                return
            }
            #expect(members["payload"] == .string("AAEC"))
            #expect(sample["fDouble"] == .string("NaN"))
        }
    }

    @Test func errorsMapToHTTPStatusesWithTheMessage() async throws {
        try await withGateway { address, client in
            let notFound = try await request(client, address, "/api/tally.v1.Diagnostics/Echo", method: "POST", body: #"{"failCode":5,"failMessage":"gone"}"#, bearer: Self.token.value)
            #expect(notFound.status == 404)
            #expect(notFound.body.contains("\"codeName\":\"NOT_FOUND\""))
            #expect(notFound.body.contains("gone"))
            let bad = try await request(client, address, "/api/tally.v1.Diagnostics/Echo", method: "POST", body: #"{"payload":"AAEC""#, bearer: Self.token.value)
            #expect(bad.status == 400)
            #expect(bad.body.contains("INVALID_ARGUMENT"))
            let unknown = try await request(client, address, "/api/tally.v1.Nowhere/Nothing", method: "POST", body: "{}", bearer: Self.token.value)
            #expect(unknown.status == 501)
            let provider = try await request(client, address, "/api/tally.v1.Experiments/CreateProvider", method: "POST", body: "{}", bearer: Self.token.value)
            #expect(provider.status == 403)
        }
    }

    @Test func aServerStreamingCallIsServerSentEventsEndingWithItsStatus() async throws {
        try await withGateway { address, client in
            let answer = try await request(client, address, "/api/tally.v1.Diagnostics/EchoStream", method: "POST", body: #"{"count":3}"#, bearer: Self.token.value, accept: "text/event-stream")
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "text/event-stream")
            let events = answer.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.count == 4)
            #expect(events.first?.hasPrefix("data: {") == true)
            #expect(events.last == #"event: end"# + "\n" + #"data: {"code":0,"codeName":"OK","message":""}"#)
            let failing = try await request(client, address, "/api/tally.v1.Diagnostics/EchoStream?request=" + "{\"count\":1,\"failCode\":9,\"failMessage\":\"no\"}".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, bearer: Self.token.value)
            #expect(failing.status == 200)
            #expect(failing.body.contains("event: end\ndata: {\"code\":9,\"codeName\":\"FAILED_PRECONDITION\""))
        }
    }

    @Test func aSlowStreamGetsKeepAliveComments() async throws {
        try await withGateway { address, client in
            let answer = try await request(client, address, "/api/tally.v1.Diagnostics/EchoStream", method: "POST", body: #"{"count":2,"delayMs":500}"#, bearer: Self.token.value, accept: "text/event-stream")
            #expect(answer.body.contains(": keep-alive\n\n"))
            #expect(answer.body.contains("event: end"))
        }
    }

    @Test func aTakenDefaultPortMovesToTheNextFreeOne() async throws {
        // Hold a port, then ask for it as the default address.
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let taken = try #require(holder.localAddress?.port)
        try await withGateway(address: GatewayAddress(host: "127.0.0.1", port: taken, isDefault: true)) { address, _ in
            #expect(address.port != taken)
        }
        // A port given explicitly must be free.
        var router = RPCRouter()
        DiagnosticsProvider().registerMethods(with: &router)
        let gateway = HTTPGateway(configuration: .init(address: GatewayAddress(host: "127.0.0.1", port: taken), token: Self.token), router: router, logger: Logger(label: "test.http"))
        await #expect(throws: GatewayError.self) { try await gateway.run() }
        try await holder.close()
    }

    @Test func aGatewayStoppedBeforeItListensReleasesItsWaiters() async throws {
        // The daemon waits for the gateway to listen; a SIGTERM that comes first must not leave
        // that wait hanging (the daemon then never stopped).
        var router = RPCRouter()
        DiagnosticsProvider().registerMethods(with: &router)
        let gateway = HTTPGateway(configuration: .init(address: GatewayAddress(host: "127.0.0.1", port: 0), token: Self.token), router: router, logger: Logger(label: "test.http"))
        gateway.beginShutdown()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gateway.run() }
            let bound = try await gateway.waitUntilBound()
            #expect(bound == nil)
            try await group.waitForAll()
        }
        #expect(try await gateway.waitUntilBound() == nil)
        #expect(gateway.dashboardURL == nil)
    }

    @Test func addressesParse() throws {
        #expect(try GatewayAddress.parse("off") == nil)
        #expect(try GatewayAddress.parse("127.0.0.1:7311") == GatewayAddress(host: "127.0.0.1", port: 7311))
        #expect(try GatewayAddress.parse(":8080") == GatewayAddress(host: "127.0.0.1", port: 8080))
        #expect(try GatewayAddress.parse("[::1]:9") == GatewayAddress(host: "::1", port: 9))
        for bad in ["7311", "host:", "host:65536", "host:-1", "host:x"] {
            #expect(throws: GatewayError.self, "\(bad)") { try GatewayAddress.parse(bad) }
        }
    }
}
