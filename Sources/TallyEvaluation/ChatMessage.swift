/// One message of a chat request, as OpenAI and Ollama spell it.
struct ChatMessage: Sendable, Codable, Hashable {
    var role: String
    var content: String

    /// The system message and the rendered prompt.
    static func conversation(prompt: String) -> [ChatMessage] {
        [ChatMessage(role: "system", content: PromptTemplate.systemMessage), ChatMessage(role: "user", content: prompt)]
    }
}
