/// Changes to a provider; `nil` keeps a value. `encryptedKey: .some(nil)` removes the key.
public struct ProviderUpdate: Sendable {
    public var baseURL: String?
    public var encryptedKey: [UInt8]??
    public var isActive: Bool?
    public var command: [String]?

    public init(baseURL: String? = nil, encryptedKey: [UInt8]?? = nil, isActive: Bool? = nil, command: [String]? = nil) {
        self.baseURL = baseURL
        self.encryptedKey = encryptedKey
        self.isActive = isActive
        self.command = command
    }
}
