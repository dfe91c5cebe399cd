import AsyncHTTPClient
import Foundation
import Synchronization
import TallyEvaluation

/// The label set of the tests.
let testLabels = [
    LabelDefinition(id: "sports", name: "Sports", description: "games, athletes, matches"),
    LabelDefinition(id: "politics", name: "Politics", description: "government, elections, laws"),
    LabelDefinition(id: "tech", name: "Technology", description: "software, hardware, the internet"),
]

/// Collects the results a run reports.
final class ResultCollector: Sendable {
    private let storage = Mutex<[ItemResult]>([])

    var results: [ItemResult] { storage.withLock { $0 } }
    var byID: [String: ItemResult] {
        Dictionary(results.map { ($0.itemID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func append(_ result: ItemResult) { storage.withLock { $0.append(result) } }
}

/// Runs `body` with an HTTP client that is shut down afterwards.
@discardableResult
func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let value = try await body(client)
        try await client.shutdown()
        return value
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Runs `body` with a fresh temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tally-eval-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Milliseconds since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let (seconds, attoseconds) = (ContinuousClock.now - start).components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

/// Builds an item.
func item(_ id: String, _ text: String, _ label: String = "sports") -> EvaluationItem {
    EvaluationItem(id: id, text: text, label: label)
}
