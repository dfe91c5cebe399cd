/// Fields of a new provider.
public struct NewProvider: Sendable {
    public var name: String
    public var kind: Int
    public var baseURL: String
    public var command: [String]
    public var encryptedKey: [UInt8]?
    public var isActive: Bool

    public init(name: String, kind: Int, baseURL: String, command: [String], encryptedKey: [UInt8]?, isActive: Bool) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.command = command
        self.encryptedKey = encryptedKey
        self.isActive = isActive
    }
}
