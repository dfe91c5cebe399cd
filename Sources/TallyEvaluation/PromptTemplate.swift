import Crypto
import Foundation

/// Prompt templates: the default prompt, rendering and the hash recorded with a run.
public enum PromptTemplate {
    /// The default template. It lists the labels with their descriptions and asks for a JSON
    /// object with the label, a confidence from 0 to 1, one sentence of reasoning and, when its
    /// confidence is under 0.9, the other labels that could fit, each with its confidence.
    public static let `default`: String = """
        Classify the message below into exactly one of these topics.

        Topics (id: name — description):
        {{labels}}

        Message:
        \"\"\"
        {{text}}
        \"\"\"

        Reply with one JSON object and nothing else:
        {"label": "<topic id>", "confidence": <number from 0 to 1>, "reasoning": "<one sentence>", "alternatives": [{"label": "<topic id>", "confidence": <number from 0 to 1>}]}

        - "label": the id of the single best topic.
        - "confidence": the probability that "label" is correct, from 0 to 1; be honest, not optimistic.
        - "reasoning": one sentence explaining the choice.
        - "alternatives": when your confidence is under 0.9, every other topic that could also fit, each with the probability that it is the right one; otherwise [].
        """

    /// The system message sent before the rendered prompt to chat providers.
    public static let systemMessage =
        "You are a careful topic classifier. You answer with a single JSON object and nothing else."

    /// Renders `template`: `{{text}}` becomes the item's text and `{{labels}}` one line per label,
    /// `- id: name — description` (without ` — description` when it is empty). Other text,
    /// including unknown `{{…}}` placeholders, is kept as is. The text is inserted last, so
    /// placeholders inside a message are not expanded.
    public static func render(_ template: String, item: EvaluationItem, labels: [LabelDefinition]) -> String {
        let list = labels.map { label in
            label.description.isEmpty ? "- \(label.id): \(label.name)" : "- \(label.id): \(label.name) — \(label.description)"
        }.joined(separator: "\n")
        // Split on {{text}} first, so a label description containing {{text}} stays literal and
        // the message is never scanned for placeholders.
        return template.components(separatedBy: "{{text}}")
            .map { $0.replacingOccurrences(of: "{{labels}}", with: list) }
            .joined(separator: item.text)
    }

    /// The SHA-256 of the template's UTF-8 bytes, as 64 lowercase hex digits (for the run's
    /// `prompt_sha256` parameter).
    public static func hash(_ template: String) -> String {
        SHA256.hash(data: Array(template.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
