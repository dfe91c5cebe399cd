import Foundation
public import TallyProto
public import TallyRPC
import TallyStore

extension ExperimentsProvider {
    /// What only the daemon's own user may do, named in PERMISSION_DENIED answers.
    static let managingProviders = "managing providers (they hold API keys and commands the daemon runs)"

    /// The base URL a provider of `kind` gets when its request names none: OpenAI's public
    /// endpoint, and Ollama's default local address.
    static func defaultBaseURL(for kind: ProviderKind) -> String {
        switch kind {
        case .openai: "https://api.openai.com/v1"
        case .ollama: "http://127.0.0.1:11434"
        default: ""
        }
    }

    public func createProvider(request: CreateProviderRequest, context: ServerContext) async throws -> Provider {
        try context.caller.require(.admin, for: Self.managingProviders)
        guard !request.name.isEmpty, request.name.count <= 128 else {
            throw invalid("provider name must be 1 to 128 characters", field: "name")
        }
        let baseURL = request.baseUrl.isEmpty ? Self.defaultBaseURL(for: request.kind) : request.baseUrl
        try validateProvider(kind: request.kind, baseURL: baseURL, command: request.command, apiKey: request.apiKey)
        let sealed = request.apiKey.isEmpty ? nil : try secrets.seal(request.apiKey)
        let record = try await mapStoreErrors {
            try await store.createProvider(Store.NewProvider(
                name: request.name,
                kind: Int(request.kind.rawValue),
                baseURL: baseURL,
                command: request.command,
                encryptedKey: sealed,
                isActive: !request.inactive
            ))
        }
        return Provider(record)
    }

    func validateProvider(kind: ProviderKind, baseURL: String, command: [String], apiKey: String) throws {
        switch kind {
        case .openai, .ollama:
            guard let url = URL(string: baseURL), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil else {
                throw invalid("base_url must be an http or https URL, got \"\(baseURL)\"", field: "base_url")
            }
            if kind == .ollama, !apiKey.isEmpty {
                throw invalid("ollama providers take no API key", field: "api_key")
            }
        case .command:
            guard let executable = command.first, !executable.isEmpty else {
                throw invalid("a command provider needs the executable to run in command", field: "command")
            }
        default:
            throw invalid("kind must be OPENAI, OLLAMA or COMMAND", field: "kind")
        }
    }

    public func updateProvider(request: UpdateProviderRequest, context: ServerContext) async throws -> Provider {
        try context.caller.require(.admin, for: Self.managingProviders)
        let current = try await mapStoreErrors { try await store.provider(request.provider) }
        let kind = ProviderKind(rawValue: Int32(current.kind))
        try validateProvider(
            kind: kind,
            baseURL: request.baseUrl ?? current.baseURL,
            command: request.command.isEmpty ? current.command : request.command,
            apiKey: request.apiKey ?? ""
        )
        var update = Store.ProviderUpdate()
        update.baseURL = request.baseUrl
        update.isActive = request.isActive
        update.command = request.command.isEmpty ? nil : request.command
        if let key = request.apiKey {
            update.encryptedKey = .some(key.isEmpty ? nil : try secrets.seal(key))
        }
        return Provider(try await mapStoreErrors { try await store.updateProvider(request.provider, update) })
    }

    public func listProviders(request: ListProvidersRequest, context: ServerContext) async throws -> ListProvidersResponse {
        var response = ListProvidersResponse()
        response.providers = try await mapStoreErrors { try await store.listProviders() }.map(Provider.init)
        return response
    }

    public func deleteProvider(request: DeleteProviderRequest, context: ServerContext) async throws -> DeleteProviderResponse {
        try context.caller.require(.admin, for: Self.managingProviders)
        try await mapStoreErrors { try await store.deleteProvider(request.provider) }
        return DeleteProviderResponse()
    }
}

extension Provider {
    /// The provider as clients see it: never with its key.
    init(_ record: ProviderRecord) {
        self.init()
        id = record.id
        name = record.name
        kind = ProviderKind(rawValue: Int32(record.kind))
        baseUrl = record.baseURL
        command = record.command
        isActive = record.isActive
        hasApiKey = record.encryptedKey != nil
        createdAtMs = record.createdAtMs
        updatedAtMs = record.updatedAtMs
    }
}
