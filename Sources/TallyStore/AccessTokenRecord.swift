/// An access token as stored: its public id and the SHA-256 hash of its secret, never the secret.
public struct AccessTokenRecord: Sendable, Hashable {
    /// Unique: the user that runs and experiments made with the token are created by.
    public var name: String
    /// "viewer", "member" or "admin".
    public var role: String
    /// The token's public part (12 lower-case hex characters), unique.
    public var id: String
    /// SHA-256 of the secret's 32 bytes.
    public var secretHash: [UInt8]
    public var createdAtMs: Int64
    /// 0: it does not expire.
    public var expiresAtMs: Int64
    public var createdBy: String

    public init(name: String, role: String, id: String, secretHash: [UInt8], createdAtMs: Int64, expiresAtMs: Int64, createdBy: String) {
        self.name = name
        self.role = role
        self.id = id
        self.secretHash = secretHash
        self.createdAtMs = createdAtMs
        self.expiresAtMs = expiresAtMs
        self.createdBy = createdBy
    }
}
