import Crypto
import Foundation
package import Logging
import Synchronization
public import TallyRPC
package import TallyStore

/// The daemon's view of the access tokens (docs/teams.md): made, listed and revoked through the
/// store, and checked in memory when a TCP client presents one in its HELLO, so that the event
/// loop reading the HELLO never waits on the store.
///
/// A token reads `tally_<id>_<secret>`: `id` is 12 lower-case hex characters, stored as is, and
/// `secret` 32 random bytes in unpadded base64url, of which the store keeps only the SHA-256.
/// A presented token is looked up by its id and its secret's hash compared in constant time.
///
/// The book reloads from the store after each change made through it, and every
/// ``refreshInterval`` (``run()``), so that tokens made or revoked through another daemon on the
/// same database take effect here within that time.
public final class TokenBook: Sendable {
    private let store: any StoreEngine
    private let logger: Logger
    /// How often ``run()`` reloads the tokens (default 5 s).
    public let refreshInterval: Duration
    private let byID = Mutex<[String: AccessTokenRecord]>([:])
    /// Ends ``run()``: set once by ``stop()``, with the continuation that wakes it.
    private let stopping = Mutex<(stopped: Bool, wake: AsyncStream<Void>.Continuation?)>((false, nil))

    /// Creates an empty book; ``reload()`` fills it.
    package init(store: any StoreEngine, logger: Logger, refreshInterval: Duration = .seconds(5)) {
        self.store = store
        self.logger = logger
        self.refreshInterval = refreshInterval
    }

    /// Told when a token is made or revoked through this daemon (the ``ChangeRelay`` tells the
    /// other daemons of the store, which reload at once).
    private let changed = Mutex<(@Sendable () -> Void)?>(nil)

    /// Sets what is told of changes made here.
    func onChange(_ hook: @escaping @Sendable () -> Void) {
        changed.withLock { $0 = hook }
    }

    /// Tells the relay that the tokens changed here.
    func announceChange() {
        changed.withLock { $0 }?()
    }

    /// Told after every reload (the transports close the connections of tokens no longer valid).
    private let reloaded = Mutex<(@Sendable () -> Void)?>(nil)

    /// Sets what is told after every reload.
    package func onReload(_ hook: @escaping @Sendable () -> Void) {
        reloaded.withLock { $0 = hook }
    }

    /// Reads every token from the store.
    package func reload() async throws {
        let tokens = try await store.accessTokens()
        let table = Dictionary(tokens.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        byID.withLock { $0 = table }
        reloaded.withLock { $0 }?()
    }

    /// Whether a caller may go on: one without a token (the Unix socket), or one whose token is
    /// still known and not expired.
    /// - Parameters:
    ///   - caller: A caller ``authenticate(_:nowMs:)`` returned.
    ///   - nowMs: The current time, Unix milliseconds.
    package func isCurrent(_ caller: Caller, nowMs: Int64) -> Bool {
        guard let id = caller.tokenID else { return true }
        guard let record = byID.withLock({ $0[id] }) else { return false }
        return record.expiresAtMs == 0 || nowMs < record.expiresAtMs
    }

    /// Reloads every ``refreshInterval`` until ``stop()`` or cancellation; a failed reload is
    /// logged and the tokens known before stay in force.
    package func run() async {
        let (stopped, wake) = AsyncStream.makeStream(of: Void.self)
        let already = stopping.withLock { state in
            state.wake = wake
            return state.stopped
        }
        guard !already else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in stopped {}
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: refreshInterval)
                    } catch {
                        return
                    }
                    do {
                        try await reload()
                    } catch {
                        logger.warning("cannot reload the access tokens", metadata: ["error": "\(error)"])
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends ``run()``.
    package func stop() {
        let wake = stopping.withLock { state in
            state.stopped = true
            return state.wake
        }
        wake?.finish()
    }

    /// The caller a presented token stands for.
    /// - Parameters:
    ///   - token: The text the client sent.
    ///   - nowMs: The current time, Unix milliseconds (expiry).
    /// - Returns: The caller, or UNAUTHENTICATED saying why (never which part was wrong beyond
    ///   "malformed", "unknown or revoked" and "expired").
    public func authenticate(_ token: String, nowMs: Int64) -> Result<Caller, RPCError> {
        guard !token.isEmpty else {
            return .failure(RPCError(code: .unauthenticated, message: "an access token is required on TCP: set TALLY_TOKEN (tally tokens create NAME --role ROLE)"))
        }
        guard let (id, secret) = Self.parse(token) else {
            return .failure(RPCError(code: .unauthenticated, message: "the access token is malformed: tokens read tally_<id>_<secret>"))
        }
        let hash = Array(SHA256.hash(data: secret))
        guard let record = byID.withLock({ $0[id] }), Self.constantTimeEqual(hash, record.secretHash) else {
            return .failure(RPCError(code: .unauthenticated, message: "the access token is unknown or revoked"))
        }
        if record.expiresAtMs != 0 && nowMs >= record.expiresAtMs {
            return .failure(RPCError(code: .unauthenticated, message: "the access token \(record.name) expired"))
        }
        guard let role = Role(name: record.role) else {
            return .failure(RPCError(code: .unauthenticated, message: "the access token \(record.name) has an unknown role"))
        }
        return .success(Caller(tokenUser: record.name, role: role, tokenID: id))
    }

    // MARK: - Making and reading tokens

    /// A new token: its text (shown once), its id and its secret's hash (stored).
    package static func make() -> (text: String, id: String, secretHash: [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<6).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let id = idBytes.map { String(format: "%02x", $0) }.joined()
        let text = "tally_\(id)_\(base64URL(secret))"
        return (text, id, Array(SHA256.hash(data: secret)))
    }

    /// Splits a token into its id and its secret's bytes; `nil` unless well formed.
    package static func parse(_ token: String) -> (id: String, secret: [UInt8])? {
        let parts = token.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "tally", parts[1].utf8.count == 12,
              parts[1].utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              parts[2].utf8.count == 43 else { return nil }
        var text = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += "="
        guard let data = Data(base64Encoded: text), data.count == 32 else { return nil }
        return (String(parts[1]), [UInt8](data))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether two byte strings are equal, in a time that depends on their lengths only.
    package static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices {
            difference |= a[index] ^ b[index]
        }
        return difference == 0
    }
}
