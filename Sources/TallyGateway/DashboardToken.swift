import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The secret that opens the dashboard: 32 random bytes as base64url, kept in the daemon's home
/// folder in a file only its user can read (0600), made on first start and kept afterwards so a
/// bookmarked URL keeps working.
///
/// A TCP port on loopback is open to every local user, unlike the daemon's 0600 socket; the token
/// is what stands in for the socket's permission check (docs/dashboard.md, "Security").
public struct DashboardToken: Sendable, Equatable, CustomStringConvertible {
    /// The token's text.
    public let value: String

    /// Wraps a token's text.
    public init(_ value: String) {
        self.value = value
    }

    /// The token, not written out (logs).
    public var description: String { "DashboardToken(…)" }

    /// The name of the file in the home folder.
    public static let fileName = "dashboard-token"

    /// A new random token.
    public static func random() -> DashboardToken {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return DashboardToken(text)
    }

    /// Reads the token file of `folder`, or makes it (0600, created exclusively) when missing.
    /// - Throws: ``GatewayError`` when the file cannot be read or made, or is readable by others.
    public static func loadOrCreate(inFolder folder: String) throws -> DashboardToken {
        let path = folder + "/" + fileName
        for _ in 0..<2 {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                let token = random()
                let bytes = Array((token.value + "\n").utf8)
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                guard written == bytes.count else {
                    unlink(path)
                    throw GatewayError(code: .setupFailed, message: "cannot write the dashboard token to \(path)")
                }
                return token
            }
            guard errno == EEXIST else {
                throw GatewayError(code: .setupFailed, message: "cannot create the dashboard token file \(path): \(String(cString: strerror(errno)))")
            }
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
            let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value ?? UInt32.max
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
            guard owner == getuid() else {
                throw GatewayError(code: .setupFailed, message: "the dashboard token file \(path) belongs to uid \(owner), not to the daemon's user")
            }
            if mode & 0o077 != 0 {
                // A token others could read opens the dashboard to them: make it private again.
                guard chmod(path, 0o600) == 0 else {
                    throw GatewayError(code: .setupFailed, message: "the dashboard token file \(path) is readable by others and cannot be made private")
                }
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw GatewayError(code: .setupFailed, message: "cannot read the dashboard token file \(path)")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard value.count >= 16 else {
                throw GatewayError(code: .setupFailed, message: "the dashboard token file \(path) holds no token (16 characters or more); delete it to make a new one")
            }
            return DashboardToken(value)
        }
        throw GatewayError(code: .setupFailed, message: "cannot read or create the dashboard token file \(path)")
    }

    /// Whether `candidate` is this token, in time that does not depend on where they differ.
    public func matches(_ candidate: some StringProtocol) -> Bool {
        let a = Array(value.utf8)
        let b = Array(candidate.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<a.count {
            difference |= a[i] ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
