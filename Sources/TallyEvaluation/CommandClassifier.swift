import Foundation

/// A classifier that runs a local executable once per item.
///
/// The executable gets one JSON object and a newline on standard input:
/// `{"id", "text", "labels": [{"id", "name", "description"}], "model", "prompt"}`, and writes a
/// reply like a model's (`{"label", "confidence", "reasoning", "alternatives"}`, parsed by
/// ``ReplyParser``) on standard output. A non-zero exit status or a signal is `.commandFailed`
/// (with the start of standard error); running past the timeout terminates it (SIGTERM, then
/// SIGKILL after 0.5 s) and is `.timeout`; an executable that cannot be started is `.unreachable`.
public struct CommandClassifier: Classifier {
    /// The executable (a path, or a name looked up on `PATH`) and its arguments.
    public let command: [String]
    let environment: [String: String]

    /// Creates a classifier for `command`; `environment` (default: this process's) supplies `PATH`.
    /// - Throws: `.invalidConfiguration` when `command` is empty.
    public init(command: [String], environment: [String: String]? = nil) throws {
        guard let first = command.first, !first.isEmpty else {
            throw EvaluationError(code: .invalidConfiguration, message: "the command provider has no executable")
        }
        self.command = command
        self.environment = environment ?? ProcessInfo.processInfo.environment
    }

    struct Input: Encodable {
        var id: String
        var text: String
        var labels: [LabelDefinition]
        var model: String
        var prompt: String
    }

    public func classify(
        _ item: EvaluationItem, labels: [LabelDefinition], model: String, prompt: String, timeout: Duration
    ) async throws -> Prediction {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var input = try encoder.encode(Input(id: item.id, text: item.text, labels: labels, model: model, prompt: prompt))
        input.append(0x0A)
        let executable = try resolveExecutable()
        let outcome = try await ChildProcess(executable: executable, arguments: Array(command.dropFirst()))
            .run(input: input, timeout: timeout)
        guard outcome.status == 0, !outcome.signaled else {
            let stderr = String(decoding: outcome.stderr.prefix(200), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let how = outcome.signaled ? "was killed by signal \(outcome.status)" : "exited with status \(outcome.status)"
            throw EvaluationError(
                code: .commandFailed, message: "\(command[0]) \(how)\(stderr.isEmpty ? "" : ": \(stderr)")")
        }
        return try ReplyParser.parse(String(decoding: outcome.stdout, as: UTF8.self), labels: labels)
    }

    /// The executable's path: the first element itself when it contains `/`, else the first
    /// executable file of that name on `PATH`.
    func resolveExecutable() throws -> String {
        let name = command[0]
        if name.contains("/") { return name }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw EvaluationError(code: .unreachable, message: "cannot start \(name): not found on PATH")
    }
}
