import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

#if canImport(Glibc)
import Glibc
#endif

struct Providers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "List, register, change and delete classifier backends (OpenAI-compatible, Ollama, a local command).",
        subcommands: [List.self, Create.self, Update.self, Remove.self],
        aliases: ["provider"]
    )

    static func kindName(_ kind: ProviderKind) -> String {
        switch kind {
        case .openai: "openai"
        case .ollama: "ollama"
        case .command: "command"
        default: String(kind.rawValue)
        }
    }

    /// Where a provider sends items: its base URL, or its command line.
    static func target(_ p: Provider) -> String {
        p.kind == .command ? p.command.map(shellQuote).joined(separator: " ") : p.baseUrl
    }

    static func describe(_ p: Provider) -> String {
        var parts = [kindName(p.kind)]
        let target = target(p)
        if !target.isEmpty { parts.append(target) }
        parts.append(p.isActive ? "active" : "inactive")
        parts.append(p.hasApiKey ? "key stored" : "no key")
        return "\(p.name) (\(p.id)): " + parts.joined(separator: ", ")
    }

    /// How an API key is given: never as an argument (it would land in the shell's history).
    struct KeyOptions: ParsableArguments {
        @Option(name: .customLong("api-key-env"), help: ArgumentHelp("Read the API key from this environment variable.", valueName: "var"))
        var apiKeyEnv: String?

        @Flag(name: .customLong("api-key-stdin"), help: "Read the API key from standard input (prompted without echo on a terminal).")
        var apiKeyStdin = false

        func validate() throws {
            if apiKeyEnv != nil && apiKeyStdin { throw ValidationError("--api-key-env and --api-key-stdin cannot be combined") }
        }

        var given: Bool { apiKeyEnv != nil || apiKeyStdin }

        /// The key, or nil when none was asked for.
        func read() throws -> String? {
            if let apiKeyEnv {
                guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                    throw ValidationErrorMessage(message: "environment variable \(apiKeyEnv) is not set or empty")
                }
                return value
            }
            guard apiKeyStdin else { return nil }
            let key = readSecretFromStandardInput(prompt: "API key: ").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw ValidationErrorMessage(message: "no API key on standard input") }
            return key
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List providers (whether a key is stored, never the key).",
            aliases: ["list"]
        )

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let response = try await client.withClient("providers") { c in
                try await c.experiments.listProviders(options: client.unary)
            }
            if client.json {
                printJSON(response)
                return
            }
            var table = Table(["ID", "NAME", "KIND", "ACTIVE", "HAS KEY", "TARGET", "CREATED"])
            for p in response.providers {
                table.add([p.id, p.name, kindName(p.kind), p.isActive ? "yes" : "no", p.hasApiKey ? "yes" : "no", target(p), Format.time(ms: p.createdAtMs)])
            }
            table.print()
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a provider.",
            discussion: """
                Examples:
                  tally providers create openai --kind openai --api-key-env OPENAI_API_KEY
                  tally providers create azure --kind openai --base-url https://NAME.openai.azure.com/openai/v1 --api-key-env AZURE_KEY
                  tally providers create local --kind ollama
                  tally providers create rules --kind command -- python3 classify.py --strict
                The key is stored encrypted by the daemon and never shown again.
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "Name of the provider (unique); jobs refer to it.")
        var name: String

        @Option(help: ArgumentHelp("openai, ollama or command.", valueName: "kind"))
        var kind: String

        @Option(help: ArgumentHelp("Base URL (openai: …/v1, default https://api.openai.com/v1; ollama: the server, default http://127.0.0.1:11434).", valueName: "url"))
        var baseUrl: String?

        @OptionGroup var key: KeyOptions

        @Option(help: ArgumentHelp("The executable and its arguments in one string (command providers).", valueName: "\"exe arg…\""))
        var command: String?

        @Flag(help: "Register it inactive (jobs cannot use it until activated).")
        var inactive = false

        @Argument(parsing: .postTerminator, help: ArgumentHelp("After --: the executable and its arguments, as separate words.", valueName: "exe args"))
        var commandWords: [String] = []

        func validate() throws {
            if command != nil && !commandWords.isEmpty { throw ValidationError("give the command with --command or after --, not both") }
            guard let kind = Providers.parseKind(kind) else { throw ValidationError("--kind must be openai, ollama or command, got \"\(self.kind)\"") }
            if kind == .command {
                if command == nil && commandWords.isEmpty { throw ValidationError("a command provider needs --command \"exe arg…\" or -- exe args") }
            } else if command != nil || !commandWords.isEmpty {
                throw ValidationError("only command providers take a command")
            }
        }

        func run() async throws {
            var request = CreateProviderRequest()
            request.name = name
            request.kind = Providers.parseKind(kind) ?? .unspecified
            request.baseUrl = baseUrl ?? ""
            request.apiKey = try key.read() ?? ""
            request.command = try command.map(splitCommandLine) ?? commandWords
            request.inactive = inactive
            let provider = try await client.withClient("providers") { c in
                try await c.experiments.createProvider(request, options: client.unary)
            }
            if client.json {
                printJSON(provider)
            } else {
                print(("created provider \(Providers.describe(provider))").terminalSafe)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a provider's activity, URL, key or command.")

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The provider's id or name.", valueName: "name"))
        var provider: String

        @Flag(help: "Let jobs use it.")
        var activate = false

        @Flag(help: "Keep new jobs from using it.")
        var deactivate = false

        @Option(help: ArgumentHelp("A new base URL.", valueName: "url"))
        var baseUrl: String?

        @OptionGroup var key: KeyOptions

        @Flag(help: "Delete the stored API key.")
        var removeKey = false

        @Option(help: ArgumentHelp("A new command line (command providers).", valueName: "\"exe arg…\""))
        var command: String?

        @Argument(parsing: .postTerminator, help: ArgumentHelp("After --: a new command, as separate words.", valueName: "exe args"))
        var commandWords: [String] = []

        func validate() throws {
            if activate && deactivate { throw ValidationError("--activate and --deactivate cannot be combined") }
            if removeKey && key.given { throw ValidationError("--remove-key cannot be combined with --api-key-env or --api-key-stdin") }
            if command != nil && !commandWords.isEmpty { throw ValidationError("give the command with --command or after --, not both") }
            if !activate && !deactivate && baseUrl == nil && !key.given && !removeKey && command == nil && commandWords.isEmpty {
                throw ValidationError("nothing to change: give --activate, --deactivate, --base-url, a key option or a command")
            }
        }

        func run() async throws {
            var request = UpdateProviderRequest()
            request.provider = provider
            if activate { request.isActive = true }
            if deactivate { request.isActive = false }
            request.baseUrl = baseUrl
            if removeKey { request.apiKey = "" } else if let value = try key.read() { request.apiKey = value }
            request.command = try command.map(splitCommandLine) ?? commandWords
            if command != nil && request.command.isEmpty { throw ValidationError("--command is empty") }
            let updated = try await client.withClient("providers") { c in
                try await c.experiments.updateProvider(request, options: client.unary)
            }
            if client.json {
                printJSON(updated)
            } else {
                print(("updated provider \(Providers.describe(updated))").terminalSafe)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete a provider.",
            aliases: ["delete"]
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The provider's id or name.", valueName: "name"))
        var provider: String

        func run() async throws {
            let response = try await client.withClient("providers") { c in
                var request = DeleteProviderRequest()
                request.provider = provider
                return try await c.experiments.deleteProvider(request, options: client.unary)
            }
            if client.json {
                printJSON(response)
            } else {
                print(("deleted provider \(provider)").terminalSafe)
            }
        }
    }

    static func parseKind(_ text: String) -> ProviderKind? {
        switch text.lowercased() {
        case "openai": .openai
        case "ollama": .ollama
        case "command": .command
        default: nil
        }
    }
}

/// Splits a command line into words the way a POSIX shell would for plain words: whitespace
/// separates, single quotes keep everything, double quotes keep all but `\"` and `\\`, a backslash
/// outside quotes escapes the next character. No expansion of any kind.
func splitCommandLine(_ text: String) throws -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var iterator = Array(text).makeIterator()
    while let ch = iterator.next() {
        switch ch {
        case "'":
            inWord = true
            while true {
                guard let c = iterator.next() else { throw ValidationError("unterminated ' in command \"\(text)\"") }
                if c == "'" { break }
                current.append(c)
            }
        case "\"":
            inWord = true
            while true {
                guard let c = iterator.next() else { throw ValidationError("unterminated \" in command \"\(text)\"") }
                if c == "\"" { break }
                if c == "\\" {
                    guard let next = iterator.next() else { throw ValidationError("unterminated \" in command \"\(text)\"") }
                    if next != "\"" && next != "\\" { current.append("\\") }
                    current.append(next)
                } else {
                    current.append(c)
                }
            }
        case "\\":
            inWord = true
            if let next = iterator.next() { current.append(next) }
        case _ where ch.isWhitespace:
            if inWord {
                words.append(current)
                current = ""
                inWord = false
            }
        default:
            inWord = true
            current.append(ch)
        }
    }
    if inWord { words.append(current) }
    return words
}

/// A word as a shell would need it written (for display).
func shellQuote(_ word: String) -> String {
    let plain = !word.isEmpty && word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=@,+%".contains($0) }
    return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Reads standard input to its end; on a terminal, prompts on standard error and reads one line
/// with echo turned off.
func readSecretFromStandardInput(prompt: String) -> String {
    guard isatty(STDIN_FILENO) == 1 else {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self)
    }
    FileHandle.standardError.write(Data(prompt.utf8))
    var saved = termios()
    let haveTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
    if haveTerminal {
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
    }
    let line = readLine(strippingNewline: true) ?? ""
    if haveTerminal {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
    }
    return line
}
