public import AsyncHTTPClient
import Foundation

/// A classifier over an Ollama server's chat API.
///
/// Request: `POST {baseURL}/api/chat` with `{"model", "messages": [system, user], "stream": false,
/// "format": "json", "options": {"temperature": 0}}`. Reply: `message.content`, parsed by
/// ``ReplyParser``.
public struct OllamaClassifier: Classifier {
    /// The server's base URL, for example `http://127.0.0.1:11434`.
    public let baseURL: String
    let transport: HTTPChatTransport

    /// Creates a classifier using the shared `httpClient`.
    public init(baseURL: String, httpClient: HTTPClient) {
        self.baseURL = baseURL
        self.transport = HTTPChatTransport(client: httpClient)
    }

    struct Request: Encodable {
        struct Options: Encodable { var temperature: Double = 0 }
        var model: String
        var messages: [ChatMessage]
        var stream = false
        var format = "json"
        var options = Options()
    }

    struct Reply: Decodable {
        struct Message: Decodable { var content: String? }
        var message: Message?
        var error: String?
    }

    public func classify(
        _ item: EvaluationItem, labels: [LabelDefinition], model: String, prompt: String, timeout: Duration
    ) async throws -> Prediction {
        let url = HTTPChatTransport.join(baseURL, "/api/chat")
        let body = try JSONEncoder().encode(Request(model: model, messages: ChatMessage.conversation(prompt: prompt)))
        let data = try await transport.post(url: url, headers: [], body: body, timeout: timeout)
        let reply: Reply
        do {
            reply = try JSONDecoder().decode(Reply.self, from: data)
        } catch {
            throw EvaluationError(
                code: .malformedReply,
                message: "the reply is not an Ollama chat response: \(ReplyParser.quoted(String(decoding: data, as: UTF8.self)))",
                cause: error)
        }
        guard let content = reply.message?.content else {
            throw EvaluationError(
                code: .malformedReply, message: "the Ollama chat response has no message content\(reply.error.map { ": \($0)" } ?? "")")
        }
        return try ReplyParser.parse(content, labels: labels)
    }
}
