public import AsyncHTTPClient
import Foundation

/// A classifier over an OpenAI-compatible chat-completions endpoint.
///
/// Request: `POST {baseURL}/chat/completions` with `Authorization: Bearer {apiKey}` (when a key
/// is set) and `{"model", "messages": [system, user], "temperature": 0,
/// "response_format": {"type": "json_object"}}`. Reply: `choices[0].message.content`, parsed by
/// ``ReplyParser``.
public struct OpenAIClassifier: Classifier {
    /// The endpoint's base URL, for example `http://127.0.0.1:8080/v1`.
    public let baseURL: String
    let apiKey: String?
    let transport: HTTPChatTransport

    /// Creates a classifier using the shared `httpClient`.
    public init(baseURL: String, apiKey: String?, httpClient: HTTPClient) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.transport = HTTPChatTransport(client: httpClient)
    }

    struct Request: Encodable {
        struct ResponseFormat: Encodable { var type = "json_object" }
        var model: String
        var messages: [ChatMessage]
        var temperature: Double = 0
        var response_format = ResponseFormat()
    }

    struct Reply: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { var content: String? }
            var message: Message
        }
        var choices: [Choice]
    }

    public func classify(
        _ item: EvaluationItem, labels: [LabelDefinition], model: String, prompt: String, timeout: Duration
    ) async throws -> Prediction {
        let url = HTTPChatTransport.join(baseURL, "/chat/completions")
        let body = try JSONEncoder().encode(Request(model: model, messages: ChatMessage.conversation(prompt: prompt)))
        var headers: [(String, String)] = []
        if let apiKey, !apiKey.isEmpty { headers.append(("Authorization", "Bearer \(apiKey)")) }
        let data = try await transport.post(url: url, headers: headers, body: body, timeout: timeout)
        let reply: Reply
        do {
            reply = try JSONDecoder().decode(Reply.self, from: data)
        } catch {
            throw EvaluationError(
                code: .malformedReply,
                message: "the reply is not a chat completion: \(ReplyParser.quoted(String(decoding: data, as: UTF8.self)))",
                cause: error)
        }
        guard let content = reply.choices.first?.message.content else {
            throw EvaluationError(code: .malformedReply, message: "the chat completion has no message content")
        }
        return try ReplyParser.parse(content, labels: labels)
    }
}
