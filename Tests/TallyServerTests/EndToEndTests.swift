import Foundation
import Logging
import TallyAPI
import TallyClient
import Testing
import TallyProto
import TallyRPC
import TallyServer
import TallyTransport
#if canImport(Glibc)
import Glibc
#endif

extension Sample {
    /// A sample with every kind of field set.
    static var full: Sample {
        var sample = Sample()
        sample.fDouble = -1.5
        sample.fFloat = 2.25
        sample.fInt32 = -7
        sample.fInt64 = .min
        sample.fUint64 = .max
        sample.fSint64 = -123_456_789
        sample.fBool = true
        sample.fString = "héllo 中文 🚀"
        sample.fBytes = [0, 1, 2, 255]
        sample.fKind = .large
        var point = SamplePoint()
        point.key = "loss"
        point.value = .infinity
        point.step = 42
        sample.fPoint = point
        sample.rDouble = [1, -2, .nan]
        sample.rString = ["", "a", "ß"]
        sample.rPoint = [point, SamplePoint()]
        sample.mString = ["b": "2", "a": "1"]
        sample.mPoint = [3: point]
        sample.choice = .cString("chosen")
        sample.oStep = 0
        return sample
    }
}

@Suite("End to end over a Unix socket", .serialized)
struct EndToEndTests {
    @Test("handshake and unary Info report the daemon")
    func info() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            #expect(client.connection.serverHello.version == 1)
            #expect(client.connection.serverHello.maxFrameSize == 4 << 20)
            let info = try await client.system.info()
            #expect(info.version == TallyDaemon.version)
            #expect(info.pid == Int64(getpid()))
            #expect(info.socketPath == daemon.socketPath)
            #expect(info.storePath == daemon.directory + "/home/tally.sqlite")
            #expect(info.migrations.contains("v1_store_meta"))
            #expect(info.openConnections >= 1)
            #expect(info.callsInFlight == 1)  // this call
            let ping = try await client.system.ping({ var r = PingRequest(); r.payload = [1, 2, 3]; return r }())
            #expect(ping.payload == [1, 2, 3])
        }
    }

    @Test("unary echo carries every kind of field intact")
    func echoSample() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            var request = EchoRequest()
            request.sample = .full
            request.payload = Array(repeating: 7, count: 100_000)
            let response = try await client.diagnostics.echo(request)
            // NaN != NaN, so compare the encodings.
            #expect(try response.sample?.serializedBytes() == Sample.full.serializedBytes())
            #expect(response.payload == request.payload)
        }
    }

    @Test("server streaming delivers every response in order")
    func serverStreaming() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            var request = EchoRequest()
            request.count = 200
            request.payload = Array(repeating: 1, count: 64 * 1024)  // 12.8 MiB in all: credit must cycle
            var indices: [UInt32] = []
            for try await response in try await client.diagnostics.echoStream(request) {
                indices.append(response.index)
                #expect(response.payload.count == 64 * 1024)
            }
            #expect(indices == Array(0..<200))
        }
    }

    @Test("client streaming receives every request, beyond the flow-control window")
    func clientStreaming() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            let response = try await client.diagnostics.echoCollect { writer in
                for _ in 0..<64 {
                    var request = EchoRequest()
                    request.payload = Array(repeating: 3, count: 128 * 1024)
                    try await writer.write(request)
                }
            }
            #expect(response.index == 64)
            #expect(response.receivedBytes == 64 * 128 * 1024)
        }
    }

    @Test("bidirectional calls answer each request as it arrives")
    func bidirectional() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            let call: BidirectionalCall<EchoRequest, EchoResponse> = try await client.diagnostics.echoBidi()
            var iterator = call.responses.makeAsyncIterator()
            for i in 0..<10 {
                var request = EchoRequest()
                request.payload = [UInt8(i)]
                try await call.requests.write(request)
                let response = try #require(try await iterator.next())
                #expect(response.index == UInt32(i))
                #expect(response.payload == [UInt8(i)])
            }
            try await call.finish()
            #expect(try await iterator.next() == nil)
        }
    }

    @Test("a status thrown by the service reaches the client with its message")
    func errorStatus() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            var request = EchoRequest()
            request.failCode = RPCError.Code.notFound.rawValue
            request.failMessage = "experiment 42 not found"
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.diagnostics.echo(request)
            }
            #expect(error?.code == .notFound)
            #expect(error?.message == "experiment 42 not found")
            // The connection is still usable.
            _ = try await client.system.info()
        }
    }

    @Test("an unknown method is UNIMPLEMENTED")
    func unknownMethod() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            let method = MethodDescriptor(service: "tally.v1.Nope", method: "Nothing", kind: .unary)
            let error = await #expect(throws: RPCError.self) {
                let _: InfoResponse = try await client.connection.unary(method, request: InfoRequest(), options: CallOptions())
            }
            #expect(error?.code == .unimplemented)
            #expect(error?.message.contains("/tally.v1.Nope/Nothing") == true)
        }
    }

    @Test("an undecodable request is INVALID_ARGUMENT and the daemon stays up")
    func malformedPayload() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            for garbage: [UInt8] in [[0xFF, 0xFF, 0xFF], [0x0A, 0x05, 0x01], [0x0A, 0x03, 0x72, 0x01, 0x00]] {
                let call = try await client.connection.openCall(DiagnosticsService.Method.echo, options: CallOptions())
                try await call.send(garbage, endStream: true)
                let error = await #expect(throws: RPCError.self) {
                    for try await _ in call.responses {}
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains("tally.v1.EchoRequest") == true)
            }
            _ = try await client.system.info()
        }
    }

    @Test("a deadline ends a slow call with DEADLINE_EXCEEDED")
    func deadline() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            var request = EchoRequest()
            request.delayMs = 10_000
            let started = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.diagnostics.echo(request, options: CallOptions(timeout: .milliseconds(100)))
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(ContinuousClock.now - started < .seconds(5))
            // The server-side handler was cancelled too.
            #expect(try await eventually { try await client.system.info().callsInFlight == 1 })
        }
    }

    @Test("cancelling a stream stops the server's handler")
    func cancel() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            var request = EchoRequest()
            request.count = 100_000
            request.delayMs = 20
            let stream = try await client.diagnostics.echoStream(request)
            var iterator = stream.makeAsyncIterator()
            _ = try await iterator.next()
            _ = try await iterator.next()
            #expect(try await client.system.info().callsInFlight == 2)
            stream.cancel()
            let error = await #expect(throws: RPCError.self) {
                while try await iterator.next() != nil {}
            }
            #expect(error?.code == .cancelled)
            #expect(try await eventually { try await client.system.info().callsInFlight == 1 })
        }
    }

    @Test("a unary call cancelled in flight ends with CANCELLED at once, and its slot returns when the daemon ends it", .timeLimit(.minutes(1)))
    func cancelUnary() async throws {
        try await withDaemon(limits: ConnectionLimits(maxConcurrentCalls: 2)) { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            for round in 0..<10 {
                // The last round's call has ended on the daemon too: otherwise it and the Info
                // call below would count 2 before this round's call is sent, and the cancel could
                // come before the call starts.
                #expect(try await eventually { try await client.system.info().callsInFlight == 1 }, "round \(round)")
                let slow = Task {
                    var request = EchoRequest()
                    request.delayMs = 10_000
                    return try await client.diagnostics.echo(request)
                }
                // The slow call and this Info call: both of the connection's slots.
                #expect(try await eventually { try await client.system.info().callsInFlight == 2 }, "round \(round)")
                let cancelledAt = ContinuousClock.now
                slow.cancel()
                let error = await #expect(throws: RPCError.self) { try await slow.value }
                #expect(error?.code == .cancelled)
                #expect(ContinuousClock.now - cancelledAt < .seconds(5))
            }
            // Every slot came back: two calls at once still go through.
            async let first = client.diagnostics.echo(EchoRequest())
            async let second = client.diagnostics.echo(EchoRequest())
            _ = try await (first, second)
            #expect(try await eventually { try await client.system.info().callsInFlight == 1 })
        }
    }

    @Test("100 concurrent calls share one connection")
    func concurrentCalls() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            let observer = try await daemon.client()
            defer { Task { await client.close(); await observer.close() } }
            let observed = try await withThrowingTaskGroup(of: UInt32.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        var request = EchoRequest()
                        request.delayMs = 1500
                        request.payload = Array("call \(i)".utf8)
                        let response = try await client.diagnostics.echo(request)
                        #expect(response.payload == Array("call \(i)".utf8))
                        return 0
                    }
                }
                var peak: UInt32 = 0
                _ = await eventually(timeout: .seconds(1)) {
                    peak = max(peak, (try? await observer.system.info().callsInFlight) ?? 0)
                    return peak >= 101
                }
                try await group.waitForAll()
                return peak
            }
            #expect(observed == 101)  // all 100 in flight at once on one connection, plus the observer's Info call
        }
    }

    @Test("calls past the concurrency limit are refused with RESOURCE_EXHAUSTED by the server")
    func concurrencyLimit() async throws {
        try await withDaemon(limits: ConnectionLimits(maxConcurrentCalls: 2)) { daemon in
            let raw = try RawSocket(path: daemon.socketPath)
            try raw.hello()
            _ = try #require(try await raw.read(kind: 1))
            var slow = EchoRequest()
            slow.delayMs = 2000
            for id: UInt32 in 1...3 {
                try raw.start(callID: id, method: "/tally.v1.Diagnostics/Echo")
                try raw.send(RawSocket.frame(kind: 3, flags: 1, callID: id, payload: slow.serializedBytes()))
            }
            let end = try #require(try await raw.read(kind: 5))
            #expect(end.callID == 3)
            let status = try CallEnd(serializedBytes: end.payload)
            #expect(status.code == RPCError.Code.resourceExhausted.rawValue)
        }
    }

    @Test("50 connections at once are served")
    func manyConnections() async throws {
        try await withDaemon { daemon in
            let clients = try await withThrowingTaskGroup(of: TallyClient.self) { group in
                for i in 0..<50 {
                    group.addTask { try await daemon.client(name: "client-\(i)") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let info = try await clients[0].system.info()
            #expect(info.openConnections == 50)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, client) in clients.enumerated() {
                    group.addTask {
                        var request = EchoRequest()
                        request.payload = Array("\(i)".utf8)
                        let response = try await client.diagnostics.echo(request)
                        #expect(response.payload == request.payload)
                    }
                }
                try await group.waitForAll()
            }
            for client in clients { await client.close() }
        }
    }

    @Test("a client that never reads does not block other clients")
    func nonReadingClient() async throws {
        try await withDaemon { daemon in
            // Ask for 256 MiB of responses and never read them.
            let hog = try RawSocket(path: daemon.socketPath)
            try hog.hello()
            var request = EchoRequest()
            request.count = 4096
            request.payload = Array(repeating: 9, count: 64 * 1024)
            try hog.start(callID: 1, method: "/tally.v1.Diagnostics/EchoStream")
            try hog.send(RawSocket.frame(kind: 3, flags: 1, callID: 1, payload: request.serializedBytes()))
            try await Task.sleep(for: .milliseconds(200))

            let client = try await daemon.client()
            defer { Task { await client.close() } }
            for _ in 0..<20 {
                var echo = EchoRequest()
                echo.payload = [1, 2, 3]
                let response = try await client.diagnostics.echo(echo, options: CallOptions(timeout: .seconds(2)))
                #expect(response.payload == [1, 2, 3])
            }
            // The hog's handler is parked on flow control, not buffering: it is still in flight.
            #expect(try await client.system.info().callsInFlight == 2)
        }
    }

    @Test("graceful shutdown lets calls in flight finish and refuses new ones")
    func gracefulShutdown() async throws {
        let daemon = try await TestDaemon.start()
        let client = try await daemon.client()
        var slow = EchoRequest()
        slow.delayMs = 700
        slow.payload = [42]
        let inFlight = Task { try await client.diagnostics.echo(slow) }
        #expect(try await eventually { try await client.system.info().callsInFlight == 2 })
        daemon.daemon.shutdown()
        let response = try await inFlight.value
        #expect(response.payload == [42])
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.system.info()
        }
        #expect(error?.code == .unavailable)
        try await daemon.task.value
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        await client.close()
        try? FileManager.default.removeItem(atPath: daemon.directory)
    }

    @Test("a second daemon on the same socket refuses to start and names the first one's pid")
    func secondDaemonRefused() async throws {
        try await withDaemon { first in
            var configuration = first.daemon.configuration
            configuration.homeDirectory = first.directory + "/other"
            let second = TallyDaemon(configuration: configuration, logger: .init(label: "second"))
            let error = await #expect(throws: DaemonError.self) {
                try await second.run()
            }
            #expect(error?.code == .alreadyRunning)
            #expect(error?.message.contains("pid \(getpid())") == true)
            // The first daemon still serves.
            let client = try await first.client()
            _ = try await client.system.info()
            await client.close()
        }
    }

    @Test("a stale socket file from a crashed daemon is cleaned up; socket is 0600 in a 0700 folder")
    func staleSocketAndPermissions() async throws {
        let directory = try TestDaemon.makeDirectory()
        let runDirectory = directory + "/run"
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Leave a bound socket file behind, as a killed daemon would.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array((runDirectory + "/tally.sock").utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(fd)
        #expect(FileManager.default.fileExists(atPath: runDirectory + "/tally.sock"))

        let daemon = try await TestDaemon.start(directory: directory)
        let socketMode = try FileManager.default.attributesOfItem(atPath: daemon.socketPath)[.posixPermissions] as? Int
        let folderMode = try FileManager.default.attributesOfItem(atPath: runDirectory)[.posixPermissions] as? Int
        #expect(socketMode == 0o600)
        #expect(folderMode == 0o700)
        let client = try await daemon.client()
        _ = try await client.system.info()
        await client.close()
        try await daemon.stop()
    }

    @Test("connecting where no daemon listens names the socket and how to start one")
    func noDaemon() async throws {
        let error = await #expect(throws: RPCError.self) {
            _ = try await TallyClient.connect(socketPath: "/tmp/tally-nowhere-\(getpid())/tally.sock")
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("/tmp/tally-nowhere-\(getpid())/tally.sock") == true)
        #expect(error?.message.contains("tally serve") == true)
    }
}
