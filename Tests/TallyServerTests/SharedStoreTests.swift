import Foundation
import Logging
import TallyAPI
import TallyClient
import TallyPostgres
import TallyProto
import TallyRPC
import TallyServer
import TallyStore
import Testing

/// Two daemons on one PostgreSQL database (docs/teams.md, "Several daemons"): what is committed
/// through one reaches the watchers of the other. Runs when `TALLY_TEST_POSTGRES_URL` names a
/// server (scripts/test starts one).
@Suite("Several daemons on one PostgreSQL store")
struct SharedStoreTests {
    static let server = ProcessInfo.processInfo.environment["TALLY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// Two daemons on a fresh database of the test server.
    static func withTwoDaemons(_ body: (TestDaemon, TestDaemon) async throws -> Void) async throws {
        guard let server else {
            if ProcessInfo.processInfo.environment["TALLY_REQUIRE_POSTGRES"] == "1" {
                Issue.record("TALLY_REQUIRE_POSTGRES=1 but TALLY_TEST_POSTGRES_URL is not set")
            }
            return
        }
        let serverURL = try PostgresURL(server)
        let password = PostgresPassword.resolve(for: serverURL)
        let name = "tally_shared_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try await admin(serverURL, password) { try await $0.executeUnsafe("CREATE DATABASE \(name)") }
        let url = String(server.prefix { $0 != "?" }.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")) + "/\(name)"
        let shared = try TestDaemon.makeDirectory()
        func configure(_ configuration: inout DaemonConfiguration) {
            configuration.storeURL = url
            configuration.artifactFolder = shared + "/artifacts"
            configuration.http = nil
            configuration.tcpListeners = [TCPListenAddress(host: "127.0.0.1", port: 0, tls: nil)]
            // Tokens reach the other daemon through the change feed, not the periodic reload.
            configuration.tokenRefreshInterval = .seconds(600)
        }
        let a = try await TestDaemon.start(configure: configure)
        let b = try await TestDaemon.start(configure: configure)
        do {
            try await body(a, b)
        } catch {
            try? await a.stop()
            try? await b.stop()
            try? await admin(serverURL, password) { try await $0.executeUnsafe("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
            throw error
        }
        try await a.stop()
        try await b.stop()
        try? FileManager.default.removeItem(atPath: shared)
        try await admin(serverURL, password) { try await $0.executeUnsafe("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    static func admin(_ server: PostgresURL, _ password: String?, _ body: @escaping @Sendable (PostgresStore) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = PostgresStore(url: server, password: password, maximumConnections: 1, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            try await body(store)
        }
    }

    @Test("a watcher on one daemon sees every point, param and the end of a run written through the other")
    func watchAcrossDaemons() async throws {
        try await Self.withTwoDaemons { a, b in
            let writer = try await a.client()
            let watcher = try await b.client()
            defer {
                Task {
                    await writer.close()
                    await watcher.close()
                }
            }
            let run = try await writer.tracking.startRun(inExperiment: "shared")

            var watch = WatchRunRequest()
            watch.runId = run.id
            // Bounded: without the relay the watcher would never see the run end.
            let events = try await watcher.tracking.watchRun(watch, options: CallOptions(timeout: .seconds(30)))
            let (snapshotSeen, snapshotContinuation) = AsyncStream.makeStream(of: Void.self)
            let collected = Task {
                var steps: [Int64] = []
                var values: [Double] = []
                var params: [String: ParamValue] = [:]
                var ended: RunStatus?
                for try await event in events {
                    switch event.event {
                    case .snapshot?:
                        snapshotContinuation.yield()
                    case .points(let points)?:
                        steps += points.steps
                        values += points.values
                    case .params(let logged)?:
                        params.merge(logged.params) { _, new in new }
                    case .status(let status)?:
                        ended = status.status
                    default:
                        break
                    }
                }
                return (steps, values, params, ended)
            }
            // Write once the watcher has its snapshot: what follows is what it must be sent.
            var snapshots = snapshotSeen.makeAsyncIterator()
            _ = await snapshots.next()
            for batch in 0..<20 {
                var points = MetricBatch()
                points.runId = run.id
                points.keys = ["loss"]
                points.keyIndex = [UInt32](repeating: 0, count: 50)
                points.steps = (0..<50).map { Int64(batch * 50 + $0) }
                points.values = points.steps.map { 1.0 / Double($0 + 1) }
                _ = try await writer.tracking.logMetrics(points)
            }
            var lr = ParamValue()
            lr.kind = .doubleValue(0.01)
            var params = LogParamsRequest()
            params.runId = run.id
            params.params = ["lr": lr]
            _ = try await writer.tracking.logParams(params)
            var end = EndRunRequest()
            end.runId = run.id
            end.status = .completed
            _ = try await writer.tracking.endRun(end)

            let (steps, values, seenParams, ended) = try await collected.value
            #expect(steps == (0..<1000).map(Int64.init))
            #expect(values == steps.map { 1.0 / Double($0 + 1) })
            #expect(seenParams["lr"] == lr)
            #expect(ended == .completed)
        }
    }

    @Test("a job run by one daemon is followed to its end by a watcher of the other")
    func jobAcrossDaemons() async throws {
        try await Self.withTwoDaemons { a, b in
            let owner = try await a.client()
            let watcher = try await b.client()
            defer {
                Task {
                    await owner.close()
                    await watcher.close()
                }
            }
            let request = try await setUpEvaluation(owner.experiments, script: try classifierScript(in: a.directory, sleep: 0.1), items: 20)
            let job = try await owner.experiments.createJob(request)
            var watch = WatchJobRequest()
            watch.jobId = job.id
            var progress: [UInt64] = []
            var last: JobEvent?
            for try await event in try await watcher.experiments.watchJob(watch, options: CallOptions(timeout: .seconds(60))) {
                if case .progress(let step)? = event.event { progress.append(step.current) }
                last = event
            }
            guard case .completed(let completed)? = last?.event else {
                Issue.record("no completed event through the other daemon: \(String(describing: last))")
                return
            }
            #expect(completed.results?.models.first?.accuracy == 0.5)
            #expect(!progress.isEmpty && progress == progress.sorted())
            var get = GetJobRequest()
            get.jobId = job.id
            #expect(try await watcher.experiments.getJob(get).status == .completed)
        }
    }

    @Test("a token made through one daemon is accepted by the other at once, and refused there once revoked")
    func tokensAcrossDaemons() async throws {
        try await Self.withTwoDaemons { a, b in
            let port = try #require(b.daemon.listenURLs.first.flatMap { Int($0.split(separator: ":").last ?? "") })
            let admin = try await a.client()
            defer { Task { await admin.close() } }
            var create = CreateTokenRequest()
            create.name = "erin"
            create.role = "viewer"
            let secret = try await admin.system.createToken(create).secret
            func accepted() async -> Bool {
                guard let client = try? await TallyClient.connect(url: "tally+tcp://127.0.0.1:\(port)", token: secret, environment: [:]) else {
                    return false
                }
                await client.close()
                return true
            }
            #expect(await eventually(timeout: .seconds(3)) { await accepted() })
            var revoke = RevokeTokenRequest()
            revoke.name = "erin"
            _ = try await admin.system.revokeToken(revoke)
            #expect(await eventually(timeout: .seconds(3)) { await !accepted() })
        }
    }
}
