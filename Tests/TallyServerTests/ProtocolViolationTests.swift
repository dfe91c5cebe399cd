import Foundation
import Logging
import TallyAPI
import TallyClient
import Testing
import TallyProto
import TallyRPC
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
            let away = try goAway(try raw.readFrame())
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(away.message.contains("HELLO"))
            #expect(raw.waitForClose())
        }
    }

    @Test("an unsupported protocol version is refused with FAILED_PRECONDITION")
    func badVersion() async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello(minVersion: 7, maxVersion: 9)
            let away = try goAway(try raw.readFrame())
            #expect(away.code == RPCError.Code.failedPrecondition.rawValue)
            #expect(away.message.contains("7–9"))
            #expect(raw.waitForClose())
        }
    }

    @Test("a connection that never says HELLO is closed after the handshake timeout")
    func handshakeTimeout() async throws {
        try await withDaemon(limits: ConnectionLimits(handshakeTimeout: .milliseconds(200))) { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            let away = try goAway(try raw.readFrame())
            #expect(away.code == RPCError.Code.deadlineExceeded.rawValue)
            #expect(raw.waitForClose())
        }
    }

    @Test("bad magic, unknown kinds and backwards call ids close the connection with a reason",
          arguments: ["magic", "kind", "backwards", "reused"])
    func connectionErrors(violation: String) async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello()
            _ = try #require(try raw.read(kind: 1))
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
            let away = try goAway(try raw.read(kind: 9))
            #expect(away.code == RPCError.Code.invalidArgument.rawValue)
            #expect(!away.message.isEmpty)
            #expect(raw.waitForClose())
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
            _ = try #require(try raw.read(kind: 1))
            try raw.start(callID: 1, method: "/tally.v1.Diagnostics/Echo")
            var request = EchoRequest()
            request.payload = Array(repeating: 1, count: 4000)
            try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: request.serializedBytes()))
            let end = try #require(try raw.read(kind: 5))
            #expect(end.callID == 1)
            let status = try CallEnd(serializedBytes: end.payload)
            #expect(status.code == RPCError.Code.resourceExhausted.rawValue)
            // Same connection, next call works.
            try raw.start(callID: 2, method: "/tally.v1.System/Ping")
            try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: 2, payload: []))
            let message = try #require(try raw.read(kind: 3))
            #expect(message.callID == 2)
            let ok = try #require(try raw.read(kind: 5))
            #expect(ok.callID == 2)
            #expect(try CallEnd(serializedBytes: ok.payload).code == 0)
        }
    }

    @Test("PING is answered with PONG carrying the same payload")
    func ping() async throws {
        try await withDaemon { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello()
            _ = try #require(try raw.read(kind: 1))
            try raw.send(RawSocket.frame(kind: 7, callID: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8]))
            let pong = try #require(try raw.read(kind: 8))
            #expect(pong.payload == [1, 2, 3, 4, 5, 6, 7, 8])
        }
    }

    @Test("a half frame followed by a hang-up leaves the daemon serving")
    func halfFrameHangUp() async throws {
        try await withDaemon { daemon in
            do {
                let raw = try RawSocket(path: daemon.socketPath)
                try raw.hello()
                _ = try #require(try raw.read(kind: 1))
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
            _ = try #require(try raw.read(kind: 1))
            var slow = EchoRequest()
            slow.delayMs = 500
            try raw.start(callID: 1, method: "/tally.v1.Diagnostics/Echo")
            try raw.send(RawSocket.frame(kind: 3, callID: 1, payload: slow.serializedBytes()))
            try raw.send(RawSocket.frame(kind: 3, callID: 1, payload: slow.serializedBytes()))
            let end = try #require(try raw.read(kind: 5))
            let status = try CallEnd(serializedBytes: end.payload)
            #expect(status.code == RPCError.Code.invalidArgument.rawValue)
        }
    }
}
