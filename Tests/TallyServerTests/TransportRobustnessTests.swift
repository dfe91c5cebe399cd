import Foundation
import Logging
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC
import TallyServer
import TallyTransport
import Testing
#if canImport(Glibc)
import Glibc
#endif

private func goAway(_ frame: (kind: UInt8, flags: UInt8, callID: UInt32, payload: [UInt8])?) throws -> GoAway {
    let frame = try #require(frame)
    #expect(frame.kind == 9)
    return try GoAway(serializedBytes: frame.payload)
}

private func callStart(_ method: String) throws -> [UInt8] {
    var start = CallStart()
    start.method = method
    return try start.serializedBytes()
}

/// A transport server in process with one probe method, for tests that need a router or a peer
/// policy of their own.
private struct ProbeServer {
    let server: TransportServer
    let task: Task<Void, any Error>
    let directory: String
    var socketPath: String { server.configuration.socketPath }

    /// `/test.Probe/Where` answers with the name of the thread its handler runs on.
    static let whereMethod = MethodDescriptor(service: "test.Probe", method: "Where", kind: .unary)
    /// The same, registered as non-blocking (``RPCRouter/markNonBlocking(_:)``).
    static let whereNonBlockingMethod = MethodDescriptor(service: "test.Probe", method: "WhereNonBlocking", kind: .unary)

    static func start(
        limits: ConnectionLimits = ConnectionLimits(),
        maxConnections: Int = 1024,
        peerPolicy: PeerPolicy = .currentUser
    ) async throws -> ProbeServer {
        let directory = try TestDaemon.makeDirectory()
        var router = RPCRouter()
        let answerThreadName: RouteHandler = { call in
            // The kernel's name of the calling thread.
            var name = [UInt8](repeating: 0, count: 64)
            let fd = open("/proc/thread-self/comm", O_RDONLY)
            let count = fd >= 0 ? read(fd, &name, name.count) : 0
            if fd >= 0 { close(fd) }
            try await call.responses.write(Array(name.prefix(max(count, 0))))
        }
        router.register(whereMethod, handler: answerThreadName)
        router.register(whereNonBlockingMethod, handler: answerThreadName)
        router.markNonBlocking(whereNonBlockingMethod)
        var logger = Logger(label: "tally.test")
        logger.logLevel = .critical
        let server = TransportServer(
            configuration: TransportServerConfiguration(
                socketPath: directory + "/probe.sock",
                limits: limits,
                maxConnections: maxConnections,
                peerPolicy: peerPolicy
            ),
            router: router,
            logger: logger
        )
        let task = Task { try await server.run() }
        try await server.waitUntilBound()
        return ProbeServer(server: server, task: task, directory: directory)
    }

    func stop() async {
        server.beginShutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite("Transport robustness: bounded buffers, idle and refused connections, descriptors", .serialized)
struct TransportRobustnessTests {
    // MARK: - Item 2: a peer that grants a huge window and never reads

    @Test("a peer granting a 4 GiB window that never reads leaves the daemon up, serving, and bounded in memory")
    func neverReadingPeerWithHugeWindow() async throws {
        let daemon = try SpawnedDaemon()
        defer { daemon.stop() }
        try await daemon.waitUntilReady()
        let before = try #require(daemon.residentBytes())

        let raw = try RawSocket(path: daemon.socketPath)
        _ = try #require(try await raw.handshake(initialWindow: 0xFFFF_FFFF))
        var request = EchoRequest()
        request.count = 1_000_000
        request.payload = Array(repeating: 7, count: 3 << 20)
        let requestBytes = try request.serializedBytes()
        // Once the first call's answers fill the socket the daemon stops reading this peer, so
        // the later requests may not get through: sending gives up after 2 s.
        raw.setSendTimeout(2)
        sending: for callID in UInt32(1)...4 {
            do {
                try raw.send(RawSocket.frame(kind: 2, callID: callID, payload: try callStart("/tally.v1.Diagnostics/EchoStream")))
                try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: callID, payload: requestBytes))
            } catch {
                break sending
            }
        }
        // Never read `raw`. The daemon would buffer at GB/s without a bound; watch it for 4 s.
        var peak = before
        let client = try await TallyClient.connect(socketPath: daemon.socketPath)
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(500))
            #expect(daemon.isRunning)
            guard daemon.isRunning else { break }
            peak = max(peak, daemon.residentBytes() ?? 0)
            // Other clients are served meanwhile.
            _ = try await client.system.info()
        }
        await client.close()
        let grown = peak - before
        // 4 calls each hold one 3 MiB response (and its encoding) while they wait; the outbox
        // holds at most 1 MiB plus one message.
        #expect(grown < 160 << 20, "RSS grew by \(grown >> 20) MiB")
        _ = raw
    }

    // MARK: - Item 17: send window overflow

    @Test("a WINDOW that would raise a call's send window above 2^32-1 is a connection error")
    func windowOverflow() async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            _ = try #require(try await raw.handshake(initialWindow: 0xFFFF_FFF0))
            var slow = EchoRequest()
            slow.count = 1
            slow.delayMs = 5_000
            try raw.send(RawSocket.frame(kind: 2, callID: 1, payload: try callStart("/tally.v1.Diagnostics/EchoStream")))
            try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: slow.serializedBytes()))
            // Up to the bound is fine.
            try raw.send(RawSocket.frame(kind: 10, callID: 1, payload: [0, 0, 0, 0x0F]))
            try raw.send(RawSocket.frame(kind: 7, callID: 0, payload: [1]))
            _ = try #require(try await raw.read(kind: 8))
            // One more byte is not.
            try raw.send(RawSocket.frame(kind: 10, callID: 1, payload: [0, 0, 0, 1]))
            let away = try goAway(try await raw.read(kind: 9))
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(away.message.contains("WINDOW"))
            #expect(away.lastCallId == 1)
            #expect(await raw.waitForClose())
        }
    }

    // MARK: - Item 17: refused connections

    @Test("a connection refused for the connection limit is closed right after its GOAWAY")
    func refusedConnectionClosedAtOnce() async throws {
        // The owner may open 8 connections past the limit; every test connection is the owner's.
        try await withDaemon(maxConnections: 1) { daemon in
            var held: [RawSocket] = []
            for _ in 0..<9 {
                let raw = try RawSocket(path: daemon.socketPath)
                _ = try #require(try await raw.handshake())
                held.append(raw)
            }
            let refused = try RawSocket(path: daemon.socketPath, receiveTimeout: 3)
            let away = try goAway(try await refused.readFrame())
            #expect(away.code == RPCError.Code.resourceExhausted.rawValue)
            // The server closes without waiting for this side to close.
            #expect(await refused.waitForClose())
            _ = held
        }
    }

    // MARK: - Item 7: reserved slots, idle timeout

    @Test("with --max-connections filled, the daemon's own uid still connects, up to 8 more")
    func ownerReservedSlots() async throws {
        try await withDaemon(maxConnections: 3) { daemon in
            var held: [RawSocket] = []
            for index in 0..<(3 + 8) {
                let raw = try RawSocket(path: daemon.socketPath)
                let reply = try await raw.handshake()
                #expect(reply != nil, "connection \(index + 1) was refused")
                held.append(raw)
            }
            let refused = try RawSocket(path: daemon.socketPath)
            let away = try goAway(try await refused.readFrame())
            #expect(away.code == RPCError.Code.resourceExhausted.rawValue)
            _ = held
        }
    }

    @Test("the reserved slots are not for peers of another uid")
    func reservedSlotsNotForOthers() async throws {
        // This process is not the server's owner here; it is let in as a member of its group.
        let policy = PeerPolicy(ownerUID: getuid() &+ 4242, allowedGroupID: getgid())
        let server = try await ProbeServer.start(maxConnections: 2, peerPolicy: policy)
        var held: [RawSocket] = []
        for _ in 0..<2 {
            let raw = try RawSocket(path: server.socketPath)
            _ = try #require(try await raw.handshake())
            held.append(raw)
        }
        let refused = try RawSocket(path: server.socketPath)
        let away = try goAway(try await refused.readFrame())
        #expect(away.code == RPCError.Code.resourceExhausted.rawValue)
        held.removeAll()
        await server.stop()
    }

    @Test("an idle connection gets GOAWAY UNAVAILABLE and is closed; a pinging one and a busy one stay")
    func idleTimeout() async throws {
        // Pings every 100 ms against a timeout of 800 ms: a loaded machine may stall the test for
        // most of a timeout without closing the pinging connection.
        try await withDaemon(limits: ConnectionLimits(idleTimeout: .milliseconds(800))) { daemon in
            let idle = try RawSocket(path: daemon.socketPath)
            _ = try #require(try await idle.handshake())
            let pinging = try RawSocket(path: daemon.socketPath)
            _ = try #require(try await pinging.handshake())
            let busy = try RawSocket(path: daemon.socketPath)
            _ = try #require(try await busy.handshake())
            var slow = EchoRequest()
            slow.count = 1
            slow.delayMs = 2_500
            try busy.send(RawSocket.frame(kind: 2, callID: 1, payload: try callStart("/tally.v1.Diagnostics/EchoStream")))
            try busy.send(RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: slow.serializedBytes()))

            // The pinging one outlives several timeouts.
            for index in 0..<24 {
                try pinging.send(RawSocket.frame(kind: 7, callID: 0, payload: [UInt8(index)]))
                let pong = try #require(try await pinging.readFrame())
                #expect(pong.kind == 8)
                try await Task.sleep(for: .milliseconds(100))
            }
            // The idle one was told and closed.
            let away = try goAway(try await idle.readFrame())
            #expect(away.code == RPCError.Code.unavailable.rawValue)
            #expect(away.message.contains("idle"))
            #expect(await idle.waitForClose())

            // The busy one gets its answer after 2.5 s, far past the timeout.
            let message = try #require(try await busy.readFrame())
            #expect(message.kind == 3)
            let end = try #require(try await busy.readFrame())
            #expect(end.kind == 5)
            #expect(try CallEnd(serializedBytes: end.payload).code == 0)
        }
    }

    // MARK: - Item 8: descriptors exhausted

    @Test("with descriptors exhausted the daemon backs off instead of spinning, and serves again afterwards")
    func descriptorExhaustion() async throws {
        let daemon = try SpawnedDaemon(arguments: ["--max-connections", "1000"], fileLimit: 96)
        defer { daemon.stop() }
        try await daemon.waitUntilReady()
        var held: [RawSocket] = []
        // Connect well past the limit: the rest wait in the listen backlog.
        for _ in 0..<150 {
            held.append(try RawSocket(path: daemon.socketPath, receiveTimeout: 1))
        }
        try await Task.sleep(for: .milliseconds(500))
        let cpuBefore = try #require(daemon.cpuSeconds())
        try await Task.sleep(for: .seconds(2))
        let cpuAfter = try #require(daemon.cpuSeconds())
        #expect(daemon.isRunning)
        #expect(cpuAfter - cpuBefore < 0.5, "the daemon used \(cpuAfter - cpuBefore) s of CPU in 2 s")
        held.removeAll()
        // Descriptors are free again: a new client is served within the backoff.
        let fresh = try RawSocket(path: daemon.socketPath, receiveTimeout: 10)
        let reply = try await fresh.handshake()
        #expect(reply != nil)
    }

    // MARK: - Item 9: where handlers run

    @Test("handlers run off the event loops by default, and on them when asked",
          arguments: [ConnectionLimits.HandlerExecutor.global, .eventLoop])
    func handlerExecutor(executor: ConnectionLimits.HandlerExecutor) async throws {
        let server = try await ProbeServer.start(limits: ConnectionLimits(handlerExecutor: executor))
        let raw = try RawSocket(path: server.socketPath)
        _ = try #require(try await raw.handshake())
        try raw.send(RawSocket.frame(kind: 2, callID: 1, payload: try callStart(ProbeServer.whereMethod.path)))
        try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: []))
        let message = try #require(try await raw.read(kind: 3))
        let thread = String(decoding: message.payload, as: UTF8.self)
        // NIO names its event loop threads NIO-ELT-… (NIO-SGLTN-… for the singleton group).
        #expect(thread.hasPrefix("NIO-") == (executor == .eventLoop), "handler ran on thread \"\(thread)\"")
        // A route marked non-blocking runs on the event loop whatever the default.
        try raw.send(RawSocket.frame(kind: 2, callID: 3, payload: try callStart(ProbeServer.whereNonBlockingMethod.path)))
        try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 3, payload: []))
        let second = try #require(try await raw.read(kind: 3))
        let secondThread = String(decoding: second.payload, as: UTF8.self)
        #expect(secondThread.hasPrefix("NIO-"), "non-blocking handler ran on thread \"\(secondThread)\"")
        await server.stop()
    }
}

@Suite("Protocol rules where docs/protocol.md was inexact", .serialized)
struct ProtocolRuleTests {
    func handshake(_ daemon: TestDaemon) async throws -> RawSocket {
        let raw = try RawSocket(path: daemon.socketPath)
        _ = try #require(try await raw.handshake())
        return raw
    }

    @Test("before the handshake an over-size HELLO is RESOURCE_EXHAUSTED; any other over-size frame is INVALID_ARGUMENT",
          arguments: [UInt8(1), 2, 3, 7, 9, 0x55])
    func oversizeBeforeHandshake(kind: UInt8) async throws {
        try await withDaemon(limits: ConnectionLimits(maxFrameSize: 1024)) { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.send(RawSocket.frame(kind: kind, callID: kind == 1 ? 0 : 1, payload: Array(repeating: 0, count: 2000)))
            let away = try goAway(try await raw.readFrame())
            let expected: RPCError.Code = kind == 1 ? .resourceExhausted : .invalidArgument
            #expect(away.code == expected.rawValue, "kind \(kind): \(away.message)")
            #expect(await raw.waitForClose())
        }
    }

    @Test("an over-size frame of an unknown kind is INVALID_ARGUMENT (the unknown-kind rule comes first)")
    func oversizeUnknownKind() async throws {
        try await withDaemon(limits: ConnectionLimits(maxFrameSize: 1024)) { daemon in
            let raw = try await handshake(daemon)
            try raw.send(RawSocket.frame(kind: 0x55, callID: 0, payload: Array(repeating: 0, count: 2000)))
            let away = try goAway(try await raw.read(kind: 9))
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(away.message.contains("unknown frame kind"))
        }
    }

    @Test("an over-size frame of a known kind other than START or MESSAGE is RESOURCE_EXHAUSTED",
          arguments: [UInt8(4), 6, 7, 10])
    func oversizeControlFrame(kind: UInt8) async throws {
        try await withDaemon(limits: ConnectionLimits(maxFrameSize: 1024)) { daemon in
            let raw = try await handshake(daemon)
            try raw.send(RawSocket.frame(kind: kind, callID: kind == 7 ? 0 : 1, payload: Array(repeating: 0, count: 2000)))
            let away = try goAway(try await raw.read(kind: 9))
            #expect(away.code == RPCError.Code.resourceExhausted.rawValue)
        }
    }

    @Test("END RESOURCE_EXHAUSTED for an over-size MESSAGE comes at its header; the payload must still be sent")
    func oversizeMessageEndsAtHeader() async throws {
        try await withDaemon(limits: ConnectionLimits(maxFrameSize: 1024)) { daemon in
            let raw = try await handshake(daemon)
            try raw.send(RawSocket.frame(kind: 2, callID: 1, payload: try callStart("/tally.v1.Diagnostics/Echo")))
            let frame = RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: Array(repeating: 0, count: 5000))
            // Header and a little of the payload only.
            try raw.send(Array(frame.prefix(100)))
            let end = try #require(try await raw.read(kind: 5))
            #expect(end.callID == 1)
            #expect(try CallEnd(serializedBytes: end.payload).code == RPCError.Code.resourceExhausted.rawValue)
            // The rest of the payload is skipped; the next frames are read in step.
            try raw.send(Array(frame.dropFirst(100)))
            try raw.send(RawSocket.frame(kind: 2, callID: 2, payload: try callStart("/tally.v1.System/Ping")))
            try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 2, payload: []))
            let reply = try #require(try await raw.read(kind: 3))
            #expect(reply.callID == 2)
        }
    }

    @Test("MESSAGE, HALF_CLOSE, CANCEL and WINDOW on call id 0 close the connection with INVALID_ARGUMENT",
          arguments: [UInt8(3), 4, 6, 10])
    func callIDZero(kind: UInt8) async throws {
        try await withDaemon { daemon in
            let raw = try await handshake(daemon)
            try raw.send(RawSocket.frame(kind: kind, callID: 0, payload: kind == 10 ? [0, 0, 0, 1] : []))
            let away = try goAway(try await raw.read(kind: 9))
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(away.message.contains("call id 0"))
            #expect(await raw.waitForClose())
        }
    }

    @Test("a frame cut short by the end of the stream ends the connection without a GOAWAY")
    func truncatedFrameAtEnd() async throws {
        try await withDaemon { daemon in
            let raw = try await handshake(daemon)
            try raw.send(Array(RawSocket.frame(kind: 2, callID: 1, payload: Array(repeating: 0, count: 100)).prefix(30)))
            raw.shutdownWrite()
            // This side can still read: nothing comes but the end of the stream.
            let next = try await raw.readFrame()
            #expect(next == nil, "got a frame of kind \(next?.kind ?? 0)")
        }
    }
}
