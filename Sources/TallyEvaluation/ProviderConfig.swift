/// A configured classifier backend.
public struct ProviderConfig: Sendable, Hashable {
    /// The provider's name in the registry.
    public var name: String
    /// Which backend it is.
    public var kind: ProviderKind
    /// Base URL for `openai` (for example `http://127.0.0.1:8080/v1`) and `ollama`
    /// (for example `http://127.0.0.1:11434`); ignored for `command`.
    public var baseURL: String
    /// The decrypted API key, sent as `Authorization: Bearer …`; `openai` only, optional.
    public var apiKey: String?
    /// Executable and arguments; `command` only. A first element without `/` is looked up on `PATH`.
    public var command: [String]

    /// Creates a provider configuration.
    public init(name: String, kind: ProviderKind, baseURL: String = "", apiKey: String? = nil, command: [String] = []) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.command = command
    }
}
