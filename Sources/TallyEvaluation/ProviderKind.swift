/// The kinds of classifier backends.
public enum ProviderKind: String, Sendable, Codable, CaseIterable {
    /// Any OpenAI-compatible chat-completions endpoint (`POST {baseURL}/chat/completions`).
    case openai
    /// An Ollama server (`POST {baseURL}/api/chat`), no API key.
    case ollama
    /// A local executable reading one item as JSON on stdin and writing a prediction as JSON on stdout.
    case command
}
