public import AsyncHTTPClient
import Foundation

/// Builds the classifier for a provider configuration.
public enum ClassifierFactory {
    /// Returns the classifier of `provider`, sharing `httpClient` (which the caller owns and shuts down).
    /// - Throws: `.invalidConfiguration` for an `openai`/`ollama` base URL that is not an absolute
    ///   `http` or `https` URL with a host, or an empty `command`.
    public static func make(_ provider: ProviderConfig, httpClient: HTTPClient) throws -> any Classifier {
        switch provider.kind {
        case .openai:
            try validate(baseURL: provider.baseURL, provider: provider.name)
            return OpenAIClassifier(baseURL: provider.baseURL, apiKey: provider.apiKey, httpClient: httpClient)
        case .ollama:
            try validate(baseURL: provider.baseURL, provider: provider.name)
            return OllamaClassifier(baseURL: provider.baseURL, httpClient: httpClient)
        case .command:
            do {
                return try CommandClassifier(command: provider.command)
            } catch var error as EvaluationError {
                error.message = "provider \(provider.name): \(error.message)"
                throw error
            }
        }
    }

    static func validate(baseURL: String, provider: String) throws {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw EvaluationError(
                code: .invalidConfiguration,
                message: "provider \(provider): base URL \"\(baseURL)\" is not an absolute http(s) URL")
        }
    }
}
