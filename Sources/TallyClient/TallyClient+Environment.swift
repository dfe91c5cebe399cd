import Foundation

extension TallyClient {
    /// The environment of this process.
    public static var processEnvironment: [String: String] {
        ProcessInfo.processInfo.environment
    }
}
