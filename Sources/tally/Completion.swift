import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// Shell completion of ids and names, asked of the daemon (docs/cli.md, "Shell completion").
///
/// The shells call `tally ---completion …` with the words of the command line; these functions
/// connect to the socket those words name (`--socket`, else `$TALLY_SOCKET`, else the default),
/// and answer nothing when no daemon answers within a second, so a tab never hangs.
enum Completion {
    /// Most candidates offered.
    static let limit: UInt32 = 200

    /// Recent runs: ids, and `EXPERIMENT/RUN_NAME` once the word has a "/".
    static let runs = CompletionKind.custom { words, index, _ in
        let prefix = index < words.count ? words[index] : ""
        return await ask(words) { c, options in
            var request = SearchRunsRequest()
            request.orderBy = ["started_at desc"]
            request.pageSize = limit
            if let slash = prefix.lastIndex(of: "/") {
                let experimentRef = String(prefix[..<slash])
                let experiment = try await c.tracking.experiment(experimentRef, options: options)
                request.experimentIds = [experiment.id]
                return try await c.tracking.searchRuns(request, options: options).runs.map { "\(experimentRef)/\($0.name)" }
            }
            return try await c.tracking.searchRuns(request, options: options).runs.map(\.id)
        }.filter { $0.hasPrefix(prefix) }
    }

    /// Experiment names.
    static let experiments = CompletionKind.custom { words, index, _ in
        let prefix = index < words.count ? words[index] : ""
        return await ask(words) { c, options in
            var request = ListExperimentsRequest()
            request.pageSize = limit
            return try await c.tracking.listExperiments(request, options: options).experiments.map(\.name)
        }.filter { $0.hasPrefix(prefix) }
    }

    /// Job ids, newest first.
    static let jobs = jobs(kind: "")
    /// Sweep ids, newest first.
    static let sweeps = jobs(kind: "sweep")

    static func jobs(kind: String) -> CompletionKind {
        .custom { words, index, _ in
            let prefix = index < words.count ? words[index] : ""
            return await ask(words) { c, options in
                var request = ListJobsRequest()
                request.kind = kind
                request.pageSize = limit
                return try await c.experiments.listJobs(request, options: options).jobs.map(\.id)
            }.filter { $0.hasPrefix(prefix) }
        }
    }

    /// Runs `body` against the daemon the command line names; nothing on any failure.
    static func ask(_ words: [String], _ body: (TallyClient, CallOptions) async throws -> [String]) async -> [String] {
        var socket: String?
        var url: String?
        for (index, word) in words.enumerated() {
            if word == "--socket", index + 1 < words.count { socket = words[index + 1] }
            if word.hasPrefix("--socket=") { socket = String(word.dropFirst("--socket=".count)) }
            if word == "--url", index + 1 < words.count { url = words[index + 1] }
            if word.hasPrefix("--url=") { url = String(word.dropFirst("--url=".count)) }
        }
        guard let client = try? await TallyClient.connect(url: url, socketPath: socket, clientName: "tally-cli/completion") else { return [] }
        let answer = try? await body(client, CallOptions(timeout: .seconds(1)))
        await client.close()
        return answer ?? []
    }
}
