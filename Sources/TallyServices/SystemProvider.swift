import Foundation
public import TallyAPI
public import TallyProto
public import TallyRPC
package import TallyStore

/// Serves `tally.v1.System`: the daemon's information and liveness, and its access tokens.
public struct SystemProvider: SystemServiceProtocol {
    private let status: DaemonStatus
    let store: any StoreEngine
    let tokens: TokenBook
    private let protocolVersion: UInt32

    /// Creates the provider.
    /// - Parameters:
    ///   - status: What to report about the daemon.
    ///   - store: The store, for its applied migrations.
    ///   - tokens: The access tokens, reloaded when one is made or revoked.
    ///   - protocolVersion: The wire protocol version in use.
    package init(status: DaemonStatus, store: any StoreEngine, tokens: TokenBook, protocolVersion: UInt32) {
        self.status = status
        self.store = store
        self.tokens = tokens
        self.protocolVersion = protocolVersion
    }

    public func info(request: InfoRequest, context: ServerContext) async throws -> InfoResponse {
        var response = InfoResponse()
        response.version = status.version
        response.protocolVersion = protocolVersion
        response.pid = Int64(ProcessInfo.processInfo.processIdentifier)
        let uptime = ContinuousClock.now - status.startedAt
        response.uptimeMs = UInt64(max(0, uptime.wholeMilliseconds))
        response.storePath = status.storePath
        response.artifactPath = status.artifactPath
        response.socketPath = status.socketPath
        response.startedAtMs = status.startedAtMs
        let counters = status.counters()
        response.openConnections = UInt32(clamping: counters.connections)
        response.callsInFlight = UInt32(clamping: counters.calls)
        response.migrations = try await store.appliedMigrations()
        response.listenUrls = status.listenURLs()
        if let url = status.dashboardURL() {
            // The token is the daemon user's secret: an allowed group's peer gets the address only.
            response.dashboardUrl = context.caller.isDaemonUser ? url : String(url.prefix { $0 != "?" })
        }
        return response
    }

    public func ping(request: PingRequest, context: ServerContext) async throws -> PingResponse {
        var response = PingResponse()
        response.payload = request.payload
        response.serverTimeMs = Int64(Date().timeIntervalSince1970 * 1000)
        return response
    }
}
