import Foundation
import Logging
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC
import TallyServer
@testable import TallyServices
import TallyStore
import TallyTransport
import Testing

/// Teams (docs/teams.md): the daemon on TCP with TLS, access tokens, and the role of every method,
/// through the real transport on loopback.
@Suite("Teams: TCP, TLS, tokens and roles")
struct TeamsTests {
    /// A daemon listening on its socket and on 127.0.0.1 (a port the system picks), with TLS
    /// on a certificate of a private CA, or in plaintext.
    static func withTeamDaemon<T>(tls: Bool, _ body: (TestDaemon, TestCertificates, Int) async throws -> T) async throws -> T {
        let directory = try TestDaemon.makeDirectory()
        let certificates = try TestCertificates.make(in: directory + "/tls")
        let daemon = try await TestDaemon.start(directory: directory) { configuration in
            configuration.tcpListeners = [TCPListenAddress(
                host: "127.0.0.1", port: 0,
                tls: tls ? TLSFiles(certificateChain: certificates.certificateFile, privateKey: certificates.keyFile) : nil
            )]
        }
        do {
            let urls = daemon.daemon.listenURLs
            let port = try #require(urls.first.flatMap { Int($0.split(separator: ":").last ?? "") })
            #expect(urls == ["\(tls ? "tls" : "tcp")://127.0.0.1:\(port)"])
            let result = try await body(daemon, certificates, port)
            try await daemon.stop()
            return result
        } catch {
            try? await daemon.stop()
            throw error
        }
    }

    /// Makes a token over the Unix socket, where the daemon's own user is an admin.
    static func token(_ daemon: TestDaemon, _ name: String, _ role: String, expiresInS: UInt64 = 0) async throws -> String {
        let admin = try await daemon.client()
        defer { Task { await admin.close() } }
        var request = CreateTokenRequest()
        request.name = name
        request.role = role
        request.expiresInS = expiresInS
        return try await admin.system.createToken(request).secret
    }

    static func refusal(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            return RPCError(code: .unknown, message: "\(error)")
        }
    }

    @Test("over TLS a member logs a run that is created by the token's name; the client sees its user, role and the daemon's certificate")
    func memberOverTLS() async throws {
        try await Self.withTeamDaemon(tls: true) { daemon, certificates, port in
            let secret = try await Self.token(daemon, "alice", "member")
            #expect(secret.hasPrefix("tally_"))
            let client = try await TallyClient.connect(
                url: "tally+tls://localhost:\(port)", token: secret, caFile: certificates.caFile, environment: [:]
            )
            defer { Task { await client.close() } }
            #expect(client.connection.serverHello.user == "alice")
            #expect(client.connection.serverHello.role == "member")
            #expect(client.connection.transportName == "tls")
            let subject = await client.connection.peerCertificateSubject()
            #expect(subject?.contains("CN=localhost") == true)

            let run = try await client.tracking.startRun(inExperiment: "teams")
            #expect(run.createdBy == "alice")
            var batch = MetricBatch()
            batch.runId = run.id
            batch.keys = ["loss"]
            batch.keyIndex = [UInt32](repeating: 0, count: 500)
            batch.values = (0..<500).map { 1.0 / Double($0 + 1) }
            batch.steps = (0..<500).map(Int64.init)
            let logged = try await client.tracking.logMetrics(batch)
            #expect(logged.accepted == 500)
            var get = GetRunRequest()
            get.runId = run.id
            let stored = try await client.tracking.getRun(get)
            #expect(stored.createdBy == "alice")
            #expect(stored.metrics.first?.count == 500)
            var getExperiment = GetExperimentRequest()
            var reference = ExperimentRef()
            reference.ref = .name("teams")
            getExperiment.experiment = reference
            #expect(try await client.tracking.getExperiment(getExperiment).createdBy == "alice")

            // The same run seen from the daemon's own user, over the socket.
            let owner = try await daemon.client()
            defer { Task { await owner.close() } }
            #expect(try await owner.tracking.getRun(get).createdBy == "alice")
        }
    }

    @Test("TCP refuses a missing, malformed, forged, revoked or expired token with UNAUTHENTICATED, and a client refuses a daemon its CA did not sign")
    func refusals() async throws {
        try await Self.withTeamDaemon(tls: true) { daemon, certificates, port in
            let url = "tally+tls://localhost:\(port)"
            func connect(_ token: String?, ca: String? = certificates.caFile) async -> RPCError? {
                await Self.refusal {
                    let client = try await TallyClient.connect(url: url, token: token, caFile: ca, environment: [:])
                    _ = try await client.system.info()
                    await client.close()
                }
            }
            let secret = try await Self.token(daemon, "bob", "viewer")
            #expect(await connect(secret) == nil)

            let missing = await connect(nil)
            #expect(missing?.code == .unauthenticated)
            #expect(missing?.message.contains("TALLY_TOKEN") == true)
            #expect(await connect("not-a-token")?.code == .unauthenticated)
            // The right id with another secret of the same shape.
            var forged = Array(secret)
            forged[forged.count - 2] = forged[forged.count - 2] == "A" ? "B" : "A"
            let refusedForgery = await connect(String(forged))
            #expect(refusedForgery?.code == .unauthenticated)
            #expect(refusedForgery?.message.contains("unknown or revoked") == true)

            let owner = try await daemon.client()
            defer { Task { await owner.close() } }
            var revoke = RevokeTokenRequest()
            revoke.name = "bob"
            #expect(try await owner.system.revokeToken(revoke).token?.name == "bob")
            #expect(await connect(secret)?.code == .unauthenticated)
            #expect(try await owner.system.listTokens(ListTokensRequest()).tokens.isEmpty)

            // A client that trusts another CA, or only the system's, does not talk to this daemon.
            let other = try await Self.token(daemon, "carol", "viewer")
            let wrongCA = await connect(other, ca: certificates.otherCAFile)
            #expect(wrongCA?.code == .unavailable)
            #expect(wrongCA?.message.contains("TLS") == true)
            #expect(await connect(other, ca: nil)?.code == .unavailable)
            #expect(await connect(other) == nil)
        }
    }

    @Test("revoking a token closes its open connections at once, ending their streams; other tokens' connections go on")
    func revocationClosesOpenConnections() async throws {
        try await Self.withTeamDaemon(tls: true) { daemon, certificates, port in
            let url = "tally+tls://localhost:\(port)"
            let owner = try await daemon.client()
            defer { Task { await owner.close() } }
            let run = try await owner.tracking.startRun(inExperiment: "watched")

            let revoked = try await TallyClient.connect(url: url, token: try await Self.token(daemon, "erin", "viewer"), caFile: certificates.caFile, environment: [:])
            let kept = try await TallyClient.connect(url: url, token: try await Self.token(daemon, "finn", "viewer"), caFile: certificates.caFile, environment: [:])
            defer {
                Task {
                    await revoked.close()
                    await kept.close()
                }
            }
            var watch = WatchRunRequest()
            watch.runId = run.id
            // Bounded, so that a stream the revocation failed to end fails the test instead of hanging it.
            let events = try await revoked.tracking.watchRun(watch, options: CallOptions(timeout: .seconds(30)))
            let (snapshotSeen, snapshotContinuation) = AsyncStream.makeStream(of: Void.self)
            let watching = Task {
                await Self.refusal {
                    for try await event in events {
                        if case .snapshot? = event.event { snapshotContinuation.yield() }
                    }
                }
            }
            var seen = snapshotSeen.makeAsyncIterator()
            _ = await seen.next()
            #expect(try await revoked.system.info().version.isEmpty == false)

            var revoke = RevokeTokenRequest()
            revoke.name = "erin"
            _ = try await owner.system.revokeToken(revoke)
            let ended = await watching.value
            #expect(ended?.code == .unauthenticated || ended?.code == .unavailable, "\(String(describing: ended))")
            #expect(ended?.code != .deadlineExceeded)
            #expect(ended?.message.contains("revoked") == true, "\(String(describing: ended))")
            let after = await Self.refusal { _ = try await revoked.system.info() }
            #expect(after != nil, "the revoked token's connection still answers")

            // Another token's connection is untouched.
            var get = GetRunRequest()
            get.runId = run.id
            #expect(try await kept.tracking.getRun(get).id == run.id)
        }
    }

    @Test("an expired token is refused; an unexpired one is not")
    func expiry() async throws {
        let directory = try TestDaemon.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(path: directory + "/tally.sqlite", logger: Logger(label: "test"))
        defer { try? store.close() }
        let book = TokenBook(store: store, logger: Logger(label: "test"))
        let made = TokenBook.make()
        _ = try await store.createAccessToken(AccessTokenRecord(
            name: "dave", role: "member", id: made.id, secretHash: made.secretHash, createdAtMs: 1000, expiresAtMs: 5000, createdBy: "test"
        ))
        // Not known until the book reloads.
        #expect(throws: RPCError.self) { try book.authenticate(made.text, nowMs: 2000).get() }
        try await book.reload()
        let caller = try book.authenticate(made.text, nowMs: 4999).get()
        #expect(caller.tokenUser == "dave" && caller.role == .member && !caller.isDaemonUser)
        // What decides whether its open connections stay, at each reload.
        #expect(book.isCurrent(caller, nowMs: 4999))
        #expect(!book.isCurrent(caller, nowMs: 5000))
        #expect(book.isCurrent(Caller.daemonUser, nowMs: 5000))
        let expired = book.authenticate(made.text, nowMs: 5000)
        guard case .failure(let error) = expired else {
            Issue.record("an expired token was accepted")
            return
        }
        #expect(error.code == .unauthenticated && error.message.contains("expired"))
    }

    @Test("tokens: made tokens parse back to their id and secret; hashes compare equal only when equal")
    func tokenFormat() throws {
        let made = TokenBook.make()
        let parsed = try #require(TokenBook.parse(made.text))
        #expect(parsed.id == made.id && parsed.secret.count == 32)
        #expect(TokenBook.parse(made.text + "x") == nil)
        #expect(TokenBook.parse("tally_" + made.id) == nil)
        #expect(TokenBook.parse(made.text.uppercased()) == nil)
        #expect(TokenBook.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!TokenBook.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!TokenBook.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(TokenBook.make().text != made.text)
    }

    @Test("daemon URLs: the socket, TLS and plaintext TCP, IPv6 literals; anything else is refused with the accepted forms")
    func daemonURLs() throws {
        #expect(try DaemonAddress(url: "unix:///run/tally.sock") == .unix("/run/tally.sock"))
        #expect(try DaemonAddress(url: "tally+tls://tally.internal:7312") == .tcp(host: "tally.internal", port: 7312, tls: true))
        #expect(try DaemonAddress(url: "tally+tcp://127.0.0.1:9/") == .tcp(host: "127.0.0.1", port: 9, tls: false))
        #expect(try DaemonAddress(url: "tally+tls://[::1]:7312") == .tcp(host: "::1", port: 7312, tls: true))
        #expect(DaemonAddress.tcp(host: "::1", port: 7312, tls: true).description == "tally+tls://[::1]:7312")
        for bad in ["unix://relative.sock", "https://host:1", "tally+tls://host", "tally+tls://host:0", "tally+tls://host:65536",
                    "tally+tls://:7312", "tally+tls://user@host:1", "tally+tls://::1:7312", "tally+tls://[::1]7312", ""] {
            #expect(throws: DaemonAddressError.self, "\(bad)") { try DaemonAddress(url: bad) }
        }
        #expect(try DaemonAddress.hostAndPort("0.0.0.0:0", url: "tcp://0.0.0.0:0", allowingPortZero: true) == ("0.0.0.0", 0))
        // TALLY_URL is used unless a socket path is given.
        #expect(try TallyClient.address(environment: ["TALLY_URL": "tally+tls://h:1", "TALLY_SOCKET": "/s"]) == .tcp(host: "h", port: 1, tls: true))
        #expect(try TallyClient.address(socketPath: "/x", environment: ["TALLY_URL": "tally+tls://h:1"]) == .unix("/x"))
        #expect(try TallyClient.address(environment: ["TALLY_SOCKET": "/s"]) == .unix("/s"))
        #expect(throws: RPCError.self) { try TallyClient.address(environment: ["TALLY_URL": "nonsense"]) }
    }

    @Test("the role table covers exactly the methods of the service descriptors")
    func tableCoversEveryMethod() {
        let paths = Set(MethodRoles.allMethods.map(\.path))
        #expect(paths.count == MethodRoles.allMethods.count)
        #expect(Set(MethodRoles.table.keys) == paths)
    }

    @Test("every method, called as every role over TCP, is refused with PERMISSION_DENIED exactly when the role is below the method's")
    func everyMethodEveryRole() async throws {
        try await Self.withTeamDaemon(tls: false) { daemon, _, port in
            var tokens: [Role: String] = [:]
            for role in Role.allCases {
                tokens[role] = try await Self.token(daemon, "user-\(role)", role.name)
            }
            var checked = 0
            for role in Role.allCases {
                let client = try await TallyClient.connect(url: "tally+tcp://127.0.0.1:\(port)", token: tokens[role], environment: [:])
                #expect(client.connection.serverHello.role == role.name)
                try await withThrowingTaskGroup(of: (String, RPCError?).self) { group in
                    for method in MethodRoles.allMethods {
                        group.addTask {
                            (method.path, await Self.call(client.connection, method))
                        }
                    }
                    for try await (path, error) in group {
                        let needed = try #require(MethodRoles.table[path])
                        if role < needed {
                            #expect(error?.code == .permissionDenied, "\(path) as \(role)")
                            #expect(error?.message.contains("needs the \(needed) role") == true, "\(path) as \(role)")
                        } else {
                            #expect(error?.code != .permissionDenied, "\(path) as \(role): \(error?.message ?? "")")
                        }
                        checked += 1
                    }
                }
                await client.close()
            }
            #expect(checked == MethodRoles.allMethods.count * Role.allCases.count)
        }
    }

    /// Calls a method with one empty request and a short deadline; the call's status.
    static func call(_ connection: ClientConnection, _ method: MethodDescriptor) async -> RPCError? {
        let options = CallOptions(timeout: .milliseconds(800))
        return await refusal {
            if method.kind == .unary {
                _ = try await connection.unaryCall(method, request: [], options: options)
                return
            }
            let call = try await connection.openCall(method, options: options)
            try await call.send([], endStream: true)
            for try await _ in call.responses {}
        }
    }
}
