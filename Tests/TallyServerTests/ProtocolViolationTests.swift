import Foundation
import Logging
import TallyAPI
import TallyClient
import Testing
import TallyProto
import TallyRPC
import TallyServer
import TallyTransport

@Suite("Protocol violations on a real socket", .serialized)
struct ProtocolViolationTests {
    func goAway(_ frame: (kind: UInt8, flags: UInt8, callID: UInt32, payload: [UInt8])?) throws -> GoAway {
        let frame = try #require(frame)
        #expect(frame.kind == 9)
        return try GoAway(serializedBytes: frame.payload)
    }

    @Test("a first frame other than HELLO gets GOAWAY INVALID_ARGUMENT and a close")
    func noHello() async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.start(callID: 1, method: "/tally.v1.System/Info")
            let away = try goAway(try await raw.readFrame())
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(away.message.contains("HELLO"))
            #expect(await raw.waitForClose())
        }
    }

    @Test("an unsupported protocol version is refused with FAILED_PRECONDITION")
    func badVersion() async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello(minVersion: 7, maxVersion: 9)
            let away = try goAway(try await raw.readFrame())
            #expect(away.code == RPCError.Code.failedPrecondition.rawValue)
            #expect(away.message.contains("7–9"))
            #expect(await raw.waitForClose())
        }
    }

    @Test("a connection that never says HELLO is closed after the handshake timeout")
    func handshakeTimeout() async throws {
        try await withDaemon(limits: ConnectionLimits(handshakeTimeout: .milliseconds(200))) { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            let away = try goAway(try await raw.readFrame())
            #expect(away.code == RPCError.Code.deadlineExceeded.rawValue)
            #expect(await raw.waitForClose())
        }
    }

    @Test("bad magic, unknown kinds and backwards call ids close the connection with a reason",
          arguments: ["magic", "kind", "backwards", "reused"])
    func connectionErrors(violation: String) async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello()
            _ = try #require(try await raw.read(kind: 1))
            switch violation {
            case "magic":
                try raw.send(RawSocket.frame(kind: 7, callID: 0, magic: 0x47))
            case "kind":
                try raw.send(RawSocket.frame(kind: 0x55, callID: 1))
            case "backwards":
                try raw.start(callID: 5, method: "/tally.v1.System/Info")
                try raw.start(callID: 3, method: "/tally.v1.System/Info")
            default:
                try raw.start(callID: 5, method: "/tally.v1.System/Info")
                try raw.start(callID: 5, method: "/tally.v1.System/Info")
            }
            let away = try goAway(try await raw.read(kind: 9))
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(!away.message.isEmpty)
            #expect(await raw.waitForClose())
            // The daemon is still up for everyone else.
            let client = try await daemon.client()
            _ = try await client.system.info()
            await client.close()
        }
    }

    @Test("an over-size frame ends its call with RESOURCE_EXHAUSTED and the connection goes on")
    func oversizeFrame() async throws {
        try await withDaemon(limits: ConnectionLimits(maxFrameSize: 1024)) { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello()
            _ = try #require(try await raw.read(kind: 1))
            try raw.start(callID: 1, method: "/tally.v1.Diagnostics/Echo")
            var request = EchoRequest()
            request.payload = Array(repeating: 1, count: 4000)
            try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: request.serializedBytes()))
            let end = try #require(try await raw.read(kind: 5))
            #expect(end.callID == 1)
            let status = try CallEnd(serializedBytes: end.payload)
            #expect(status.code == RPCError.Code.resourceExhausted.rawValue)
            // Same connection, next call works.
            try raw.start(callID: 2, method: "/tally.v1.System/Ping")
            try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 2, payload: []))
            let message = try #require(try await raw.read(kind: 3))
            #expect(message.callID == 2)
            let ok = try #require(try await raw.read(kind: 5))
            #expect(ok.callID == 2)
            #expect(try CallEnd(serializedBytes: ok.payload).code == 0)
        }
    }

    @Test("PING is answered with PONG carrying the same payload")
    func ping() async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello()
            _ = try #require(try await raw.read(kind: 1))
            try raw.send(RawSocket.frame(kind: 7, callID: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8]))
            let pong = try #require(try await raw.read(kind: 8))
            #expect(pong.payload == [1, 2, 3, 4, 5, 6, 7, 8])
        }
    }

    @Test("a half frame followed by a hang-up leaves the daemon serving")
    func halfFrameHangUp() async throws {
        try await withDaemon { daemon in
            do {
                let raw = try RawSocket(path: daemon.socketPath)
                try raw.hello()
                _ = try #require(try await raw.read(kind: 1))
                try raw.send(Array(RawSocket.frame(kind: 2, callID: 1, payload: Array(repeating: 0, count: 100)).prefix(30)))
            }
            let client = try await daemon.client()
            #expect(try await eventually { try await client.system.info().openConnections == 1 })
            await client.close()
        }
    }

    @Test("a second MESSAGE on a unary call is INVALID_ARGUMENT")
    func twoUnaryRequests() async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello()
            _ = try #require(try await raw.read(kind: 1))
            var slow = EchoRequest()
            slow.delayMs = 500
            try raw.start(callID: 1, method: "/tally.v1.Diagnostics/Echo")
            try raw.send(RawSocket.frame(kind: 3, callID: 1, payload: slow.serializedBytes()))
            try raw.send(RawSocket.frame(kind: 3, callID: 1, payload: slow.serializedBytes()))
            let end = try #require(try await raw.read(kind: 5))
            let status = try CallEnd(serializedBytes: end.payload)
            #expect(status.code == RPCError.Code.invalidArgument.rawValue)
        }
    }
}

@Suite("Call edge cases on a real socket", .serialized)
struct CallEdgeCaseTests {
    func handshake(_ daemon: TestDaemon) async throws -> RawSocket {
        let raw = try RawSocket(path: daemon.socketPath)
        try raw.hello()
        _ = try #require(try await raw.read(kind: 1))
        return raw
    }

    @Test("CANCEL ends a client-streaming call with END CANCELLED, not with the handler's answer")
    func cancelClientStreaming() async throws {
        try await withDaemon { daemon in
            let raw = try await handshake(daemon)
            try raw.start(callID: 1, method: "/tally.v1.Diagnostics/EchoCollect")
            try raw.send(RawSocket.frame(kind: 3, callID: 1, payload: EchoRequest().serializedBytes()))
            try raw.send(RawSocket.frame(kind: 6, callID: 1))
            let end = try #require(try await raw.read(kind: 5))
            #expect(try CallEnd(serializedBytes: end.payload).code == RPCError.Code.cancelled.rawValue)
        }
    }

    @Test("a unary call whose request never arrives ends at its deadline")
    func requestNeverArrives() async throws {
        try await withDaemon { daemon in
            let raw = try await handshake(daemon)
            var start = CallStart()
            start.method = "/tally.v1.System/Info"
            start.timeoutMs = 100
            try raw.send(RawSocket.frame(kind: 2, callID: 1, payload: start.serializedBytes()))
            let end = try #require(try await raw.read(kind: 5))
            #expect(try CallEnd(serializedBytes: end.payload).code == RPCError.Code.deadlineExceeded.rawValue)
        }
    }

    @Test("frames for calls that were never started close the connection", arguments: [UInt8(6), 10, 3])
    func neverStarted(kind: UInt8) async throws {
        try await withDaemon(limits: ConnectionLimits(maxFrameSize: 64)) { daemon in
            let raw = try await handshake(daemon)
            // kind 3 (MESSAGE) is sent over-size: the daemon skips it, yet must still notice the unknown call.
            let payload: [UInt8] = kind == 10 ? [0, 0, 0, 1] : (kind == 3 ? Array(repeating: 0, count: 100) : [])
            try raw.send(RawSocket.frame(kind: kind, callID: 9, payload: payload))
            let away = try GoAway(serializedBytes: try #require(try await raw.read(kind: 9)).payload)
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(away.message.contains("never started"))
            #expect(await raw.waitForClose())
        }
    }

    @Test("a graceful shutdown closes connections still busy after the grace period")
    func gracePeriod() async throws {
        let daemon = try await TestDaemon.start(shutdownGracePeriod: .milliseconds(300))
        let client = try await daemon.client()
        let call: BidirectionalCall<EchoRequest, EchoResponse> = try await client.diagnostics.echoBidi()
        try await call.requests.write(EchoRequest())
        var iterator = call.responses.makeAsyncIterator()
        _ = try await iterator.next()
        let started = ContinuousClock.now
        daemon.daemon.shutdown()
        try await daemon.task.value  // returns although the bidi call never half-closed
        #expect(ContinuousClock.now - started < .seconds(10))
        await #expect(throws: RPCError.self) { while try await iterator.next() != nil {} }
        await client.close()
        try? FileManager.default.removeItem(atPath: daemon.directory)
    }

    @Test("cancelled calls keep their slot until the daemon ends them, so the limit is never exceeded")
    func slotsAfterCancel() async throws {
        try await withDaemon(limits: ConnectionLimits(maxConcurrentCalls: 2)) { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            for _ in 0..<20 {
                var slow = EchoRequest()
                slow.count = 1000
                slow.delayMs = 50
                let a = try await client.diagnostics.echoStream(slow)
                let b = try await client.diagnostics.echoStream(slow)
                a.cancel()
                b.cancel()
                _ = try await client.diagnostics.echo(EchoRequest())
                _ = try await client.diagnostics.echo(EchoRequest())
            }
        }
    }
}
