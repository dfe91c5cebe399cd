import Foundation
import TallyTransport

extension TallyClient {
    /// The environment of this process.
    public static var processEnvironment: [String: String] {
        ProcessInfo.processInfo.environment
    }
}

extension TallyClient {
    /// The socket a client connects to: `path` when given, else `$TALLY_SOCKET`, else the per-user
    /// default path.
    public static func socketPath(_ path: String? = nil, environment: [String: String] = TallyClient.processEnvironment) -> String {
        path ?? SocketLocation.defaultPath(environment: environment)
    }
}
