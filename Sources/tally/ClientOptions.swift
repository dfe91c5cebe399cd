import ArgumentParser
import Foundation
import Synchronization
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// Options every command talking to the daemon takes.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Path of the daemon's Unix socket (default: $TALLY_URL, else $TALLY_SOCKET, else the per-user default).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("The daemon's URL: unix:///PATH, tally+tls://HOST:PORT (with TALLY_TOKEN, and TALLY_CA for a private CA) or tally+tcp://HOST:PORT (default: $TALLY_URL).", valueName: "url"))
    var url: String?

    @Flag(help: "Print the response messages as proto3 JSON instead of tables.")
    var json = false

    @Option(help: ArgumentHelp("Seconds to wait for each answer of the daemon (default 30; transfers and watching have no limit unless given).", valueName: "seconds"))
    var timeout: Double?

    @Flag(name: .customLong("no-color"), help: "No colour, even on a terminal (also when NO_COLOR is set).")
    var noColor = false

    func validate() throws {
        if noColor { Style.turnedOff.store(true, ordering: .relaxed) }
        if url != nil && socket != nil {
            throw ValidationError("give --url or --socket, not both")
        }
        if let timeout, !(timeout > 0) {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }

    /// Options of a call answered at once: the given timeout, else 30 seconds.
    var unary: CallOptions {
        CallOptions(timeout: .milliseconds(Int64((timeout ?? 30) * 1000)))
    }

    /// Options of a call that may take long (transfers, watching): the given timeout, else none.
    var streaming: CallOptions {
        CallOptions(timeout: timeout.map { .milliseconds(Int64($0 * 1000)) })
    }

    /// Connects, runs `body`, closes; an `RPCError` becomes "CODE: message" with exit code 1.
    func withClient<T>(_ command: String, _ body: (TallyClient) async throws -> T) async throws -> T {
        let client: TallyClient
        do {
            client = try await TallyClient.connect(url: url, socketPath: socket, clientName: "tally-cli/\(command)")
        } catch let error as RPCError {
            throw CLIError(error)
        }
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch let error as RPCError {
            await client.close()
            throw CLIError(error)
        } catch {
            await client.close()
            throw error
        }
    }
}

/// A failed call, shown as "Error: CODE: message" with exit code 1.
func CLIError(_ error: RPCError) -> ValidationErrorMessage {
    ValidationErrorMessage(message: "\(error.code.name): \(error.message.terminalSafe)")
}

/// A "KEY=VALUE" argument.
func splitPair(_ text: String, option: String, valueRequired: Bool = true) throws -> (key: String, value: String?) {
    guard let eq = text.firstIndex(of: "=") else {
        if valueRequired { throw ValidationError("\(option) expects KEY=VALUE, got \"\(text)\"") }
        guard !text.isEmpty else { throw ValidationError("\(option) expects a non-empty KEY") }
        return (text, nil)
    }
    let key = String(text[..<eq])
    guard !key.isEmpty else { throw ValidationError("\(option) expects KEY=VALUE with a non-empty KEY, got \"\(text)\"") }
    return (key, String(text[text.index(after: eq)...]))
}

/// "K=V" arguments as a map (a later key wins).
func pairs(_ texts: [String], option: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for text in texts {
        let (k, v) = try splitPair(text, option: option)
        guard out[k] == nil else { throw ValidationError("\(option) \(k) is given twice") }
        out[k] = v ?? ""
    }
    return out
}

/// Tags given as "K=V" or a bare "K" (a label, empty value).
func tagPairs(_ texts: [String], option: String = "--tag") throws -> [String: String] {
    var out: [String: String] = [:]
    for text in texts {
        let (k, v) = try splitPair(text, option: option, valueRequired: false)
        guard out[k] == nil else { throw ValidationError("\(option) \(k) is given twice") }
        out[k] = v ?? ""
    }
    return out
}

/// A typed param value from the command line: integer, then double, then true/false, else a
/// string; a value in double quotes is always a string (`name="123"`).
func parseParamValue(_ text: String) -> ParamValue {
    var value = ParamValue()
    if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
        value.kind = .stringValue(String(text.dropFirst().dropLast()))
    } else if let i = Int64(text) {
        value.kind = .intValue(i)
    } else if let d = Double(text), text.lowercased() != "nan", !text.lowercased().contains("inf") {
        value.kind = .doubleValue(d)
    } else if text == "true" || text == "false" {
        value.kind = .boolValue(text == "true")
    } else {
        value.kind = .stringValue(text)
    }
    return value
}

/// Whether a string has the shape of a record id (16 lower-case hex digits).
func looksLikeID(_ text: String) -> Bool {
    text.utf8.count == 16 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
}

extension TrackingClient {
    /// The experiment named by an id or a name: an id-shaped argument is tried as an id first.
    func experiment(_ ref: String, options: CallOptions) async throws -> Experiment {
        var request = GetExperimentRequest()
        var byName = ExperimentRef()
        byName.ref = .name(ref)
        if looksLikeID(ref) {
            var byID = ExperimentRef()
            byID.ref = .id(ref)
            request.experiment = byID
            do {
                return try await getExperiment(request, options: options)
            } catch let error as RPCError where error.code == .notFound {
                request.experiment = byName
                do {
                    return try await getExperiment(request, options: options)
                } catch let other as RPCError where other.code == .notFound {
                    throw error
                }
            }
        }
        request.experiment = byName
        return try await getExperiment(request, options: options)
    }

    /// The ids of experiments named by ids or names.
    func experimentIDs(_ refs: [String], options: CallOptions) async throws -> [String] {
        var ids: [String] = []
        for ref in refs {
            ids.append(try await experiment(ref, options: options).id)
        }
        return ids
    }

    /// A run by id.
    func run(_ id: String, options: CallOptions) async throws -> Run {
        var request = GetRunRequest()
        request.runId = id
        return try await getRun(request, options: options)
    }

    /// The id of the run `ref` names: a run id as it is, or `EXPERIMENT/RUN_NAME` (the
    /// experiment by id or name, then the run of that name in it). An experiment name holding
    /// "/" works too: each "/" is tried from the left until an experiment of that name exists.
    /// - Throws: NOT_FOUND when no run has that name there; INVALID_ARGUMENT listing the runs
    ///   when several do.
    func runID(_ ref: String, options: CallOptions) async throws -> String {
        guard !looksLikeID(ref), ref.contains("/") else { return ref }
        var lastError: RPCError?
        var cut = ref.startIndex
        while let slash = ref[cut...].firstIndex(of: "/") {
            let (experimentRef, name) = (String(ref[..<slash]), String(ref[ref.index(after: slash)...]))
            cut = ref.index(after: slash)
            guard !experimentRef.isEmpty, !name.isEmpty else { continue }
            let found: Experiment
            do {
                found = try await experiment(experimentRef, options: options)
            } catch let error as RPCError where error.code == .notFound {
                lastError = error
                continue
            }
            var search = SearchRunsRequest()
            search.experimentIds = [found.id]
            search.filter = "name = \"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            search.orderBy = ["started_at desc"]
            search.pageSize = 20
            let matches = try await searchRuns(search, options: options)
            switch matches.runs.count {
            case 0:
                throw RPCError(code: .notFound, message: "no run named \"\(name)\" in experiment \(found.name)")
            case 1:
                return matches.runs[0].id
            default:
                let listed = matches.runs.map { "\($0.id) (started \(Format.time(ms: $0.startedAtMs)), \(Format.status($0.status)))" }
                let more = matches.totalCount > UInt64(matches.runs.count) ? ", …" : ""
                throw RPCError(
                    code: .invalidArgument,
                    message: "\(matches.totalCount) runs are named \"\(name)\" in experiment \(found.name): \(listed.joined(separator: ", "))\(more); give the run's id")
            }
        }
        throw lastError ?? RPCError(code: .invalidArgument, message: "\"\(ref)\" is neither a run id nor EXPERIMENT/RUN_NAME")
    }

    /// The ids of the runs `refs` name (``runID(_:options:)``).
    func runIDs(_ refs: [String], options: CallOptions) async throws -> [String] {
        var ids: [String] = []
        for ref in refs { ids.append(try await runID(ref, options: options)) }
        return ids
    }
}

/// Looks experiment names up once per id, for tables showing them.
actor ExperimentNames {
    private let client: TrackingClient
    private let options: CallOptions
    private var names: [String: String] = [:]

    init(client: TrackingClient, options: CallOptions) {
        self.client = client
        self.options = options
    }

    func name(_ id: String) async -> String {
        if let name = names[id] { return name }
        var request = GetExperimentRequest()
        var ref = ExperimentRef()
        ref.ref = .id(id)
        request.experiment = ref
        let name = (try? await client.getExperiment(request, options: options).name) ?? id
        names[id] = name
        return name
    }
}

/// Prints a message as proto3 JSON.
func printJSON(_ value: some ProtoJSONEncodable) {
    print(value.jsonString())
}

/// Prints a list of messages as a JSON array.
func printJSON(_ values: [some ProtoJSONEncodable]) {
    print(JSONValue.array(values.map(\.protoJSON)).serialized())
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
