import Foundation
import TallyAPI
import TallyProto
import TallyRPC
import TallyServer
import TallyTransport
import Testing

/// The Swift client's keepalive PINGs hold a quiet connection open past the daemon's idle timeout.
@Suite("Client keepalive")
struct ClientKeepaliveTests {
    func quietCall(keepalive: Duration?, socketPath: String) async throws -> RPCError? {
        let connection = try await ClientConnection.connect(configuration: ClientConfiguration(
            socketPath: socketPath, keepaliveInterval: keepalive))
        defer { Task { await connection.close() } }
        // Quiet for more than three idle timeouts.
        try await Task.sleep(for: .milliseconds(3_500))
        do {
            _ = try await DiagnosticsClient(transport: connection).echo(EchoRequest())
            return nil
        } catch let error as RPCError {
            return error
        }
    }

    @Test("a quiet client that pings stays connected; one that does not is closed as idle")
    func keepalive() async throws {
        try await withDaemon(limits: ConnectionLimits(idleTimeout: .seconds(1))) { daemon in
            #expect(try await quietCall(keepalive: .milliseconds(100), socketPath: daemon.socketPath) == nil)
            let closed = try await quietCall(keepalive: nil, socketPath: daemon.socketPath)
            #expect(closed?.code == .unavailable)
        }
    }
}
