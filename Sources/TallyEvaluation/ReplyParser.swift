import Foundation

/// Turns a model's reply text into a validated ``Prediction``.
///
/// Rules:
/// - The reply is the first balanced `{…}` in the text (braces inside JSON strings do not count),
///   so a JSON object wrapped in ```` ```json ```` fences or surrounded by prose is accepted.
/// - `label` (a string) must name a label of the set by id (exact, then case-insensitive) or by
///   name (case-insensitive), surrounding whitespace ignored; otherwise the reply is off-label.
/// - `confidence` must be present, a number (or a string holding one) in 0...1; otherwise the reply
///   is malformed.
/// - `reasoning` is optional (a string). `alternatives` is optional: an array of labels, each a
///   string or an object `{"label": …, "confidence": …}` (a confidence outside 0...1 or not a
///   number is dropped, the label kept), or one string; names are resolved like `label`, unknown
///   ones, duplicates and the chosen label are dropped, and all the others are kept.
public enum ReplyParser {
    /// Parses `text` against `labels`.
    /// - Throws: ``EvaluationError`` `.malformedReply` or `.offLabel`.
    public static func parse(_ text: String, labels: [LabelDefinition]) throws -> Prediction {
        guard let object = firstJSONObject(in: text) else {
            throw EvaluationError(code: .malformedReply, message: "the reply holds no JSON object: \(quoted(text))")
        }
        let reply: Reply
        do {
            reply = try JSONDecoder().decode(Reply.self, from: Data(object.utf8))
        } catch let error as EvaluationError {
            throw error
        } catch {
            throw EvaluationError(
                code: .malformedReply, message: "the reply is not the expected JSON object: \(quoted(object))", cause: error)
        }
        guard let label = resolve(reply.label, in: labels) else {
            let known = labels.map(\.id).joined(separator: ", ")
            throw EvaluationError(code: .offLabel, message: "the reply's label \(quoted(reply.label)) is not one of: \(known)")
        }
        guard let confidence = reply.confidence else {
            throw EvaluationError(code: .malformedReply, message: "the reply has no numeric confidence: \(quoted(object))")
        }
        guard confidence.isFinite, (0...1).contains(confidence) else {
            throw EvaluationError(code: .malformedReply, message: "the reply's confidence \(confidence) is outside 0...1")
        }
        var alternatives: [String] = []
        var confidences: [String: Double] = [:]
        for alternative in reply.alternatives {
            guard let id = resolve(alternative.label, in: labels), id != label, !alternatives.contains(id) else { continue }
            alternatives.append(id)
            if let value = alternative.confidence, value.isFinite, (0...1).contains(value) { confidences[id] = value }
        }
        return Prediction(
            label: label, confidence: confidence, reasoning: reply.reasoning, alternatives: alternatives,
            alternativeConfidence: confidences)
    }

    /// The label id `name` refers to, or `nil`.
    static func resolve(_ name: String, in labels: [LabelDefinition]) -> String? {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if let label = labels.first(where: { $0.id == name }) { return label.id }
        let lowered = name.lowercased()
        if let label = labels.first(where: { $0.id.lowercased() == lowered }) { return label.id }
        return labels.first(where: { $0.name.lowercased() == lowered })?.id
    }

    /// The first balanced `{…}` of `text`, skipping braces inside JSON strings; `nil` when there is none.
    static func firstJSONObject(in text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        guard let start = scalars.firstIndex(of: "{") else { return nil }
        var depth = 0
        var inString = false
        var escaped = false
        for index in start..<scalars.count {
            let scalar = scalars[index]
            if inString {
                if escaped {
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else if scalar == "\"" {
                    inString = false
                }
                continue
            }
            switch scalar {
            case "\"": inString = true
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 {
                    var view = String.UnicodeScalarView()
                    view.append(contentsOf: scalars[start...index])
                    return String(view)
                }
            default: break
            }
        }
        return nil
    }

    /// `text` in quotes, cut to 200 characters, for messages.
    static func quoted(_ text: String) -> String {
        let cut = text.count > 200 ? String(text.prefix(200)) + "…" : text
        return "\"\(cut)\""
    }

    /// The reply object, lenient in the types it accepts where models commonly vary.
    struct Reply: Decodable {
        var label: String
        var confidence: Double?
        var reasoning: String
        var alternatives: [Alternative]

        /// One alternative: a label, or `{"label": …, "confidence": …}` (also `id` or `name`).
        struct Alternative: Decodable {
            var label: String
            var confidence: Double?

            enum CodingKeys: String, CodingKey { case label, id, name, confidence }

            init(label: String, confidence: Double? = nil) {
                self.label = label
                self.confidence = confidence
            }

            init(from decoder: any Decoder) throws {
                if let single = try? decoder.singleValueContainer().decode(String.self) {
                    label = single
                    confidence = nil
                    return
                }
                let container = try decoder.container(keyedBy: CodingKeys.self)
                label = (try? container.decode(String.self, forKey: .label))
                    ?? (try? container.decode(String.self, forKey: .id))
                    ?? (try? container.decode(String.self, forKey: .name)) ?? ""
                confidence = Reply.number(in: container, forKey: .confidence)
            }
        }

        enum CodingKeys: String, CodingKey { case label, confidence, reasoning, alternatives }

        /// A number, or a string holding one (models vary); `nil` when absent or neither.
        static func number<Key: CodingKey>(in container: KeyedDecodingContainer<Key>, forKey key: Key) -> Double? {
            if let number = try? container.decode(Double.self, forKey: key) { return number }
            if let string = try? container.decode(String.self, forKey: key) {
                return Double(string.trimmingCharacters(in: .whitespaces))
            }
            return nil
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard let label = try? container.decode(String.self, forKey: .label) else {
                throw EvaluationError(code: .malformedReply, message: "the reply has no string \"label\"")
            }
            self.label = label
            confidence = Self.number(in: container, forKey: .confidence)
            reasoning = (try? container.decodeIfPresent(String.self, forKey: .reasoning)) ?? ""
            if let list = try? container.decodeIfPresent([Alternative].self, forKey: .alternatives) {
                alternatives = list
            } else if let single = try? container.decodeIfPresent(String.self, forKey: .alternatives) {
                alternatives = [Alternative(label: single)]
            } else {
                alternatives = []
            }
        }
    }
}
