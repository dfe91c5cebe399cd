import Synchronization
import Testing
@testable import TallyEvaluation

/// The runner's retry and unreachable rules with an in-process classifier whose failures are
/// chosen per item id (the HTTP behaviour itself is tested against the loopback server).
@Suite("EvaluationRunner")
struct EvaluationRunnerTests {
    /// Fails items whose id starts with `down` with `.unreachable`, `flaky` items on their first
    /// attempt with `.timeout`; answers `sports` with confidence 0.7 otherwise.
    final class ScriptedClassifier: Classifier {
        let attempts = Mutex<[String: Int]>([:])

        func classify(
            _ item: EvaluationItem, labels: [LabelDefinition], model: String, prompt: String, timeout: Duration
        ) async throws -> Prediction {
            let attempt = attempts.withLock { attempts in
                attempts[item.id, default: 0] += 1
                return attempts[item.id]!
            }
            if item.id.hasPrefix("down") {
                throw EvaluationError(code: .unreachable, message: "connection refused")
            }
            if item.id.hasPrefix("flaky"), attempt == 1 {
                throw EvaluationError(code: .timeout, message: "slow")
            }
            return Prediction(label: "sports", confidence: 0.7)
        }
    }

    static let settings = EvaluationSettings(
        models: ["m"], sampleSize: 10, concurrency: 1, retries: 2, retryBackoff: .milliseconds(1))

    @Test("connection errors before the provider answered are held back, then reported once it answers")
    func heldThenReported() async throws {
        let classifier = ScriptedClassifier()
        let runner = EvaluationRunner(classifier: classifier, settings: Self.settings, labels: testLabels)
        let collector = ResultCollector()
        let items = ["down1", "down2", "down3", "up1", "down4", "flaky1"].map { item($0, "x") }
        try await runner.run(model: "m", items: items, completed: []) { collector.append($0) }
        // down1…down3 reported only when up1 answered, so after it; down4 is a plain item error.
        #expect(collector.results.map(\.itemID) == ["down1", "down2", "down3", "up1", "down4", "flaky1"])
        #expect(collector.results.filter { $0.error?.hasPrefix("unreachable: ") == true }.count == 4)
        #expect(collector.byID["flaky1"]?.isCorrect == true)
        #expect(classifier.attempts.withLock { $0 } == ["down1": 3, "down2": 3, "down3": 3, "up1": 1, "down4": 3, "flaky1": 2])
    }

    @Test("the run fails when the first five items are all unreachable", arguments: [5, 8])
    func unreachable(count: Int) async throws {
        let classifier = ScriptedClassifier()
        let runner = EvaluationRunner(classifier: classifier, settings: Self.settings, labels: testLabels)
        let collector = ResultCollector()
        let items = (0..<count).map { item("down\($0)", "x") } + [item("up", "x")]
        await #expect {
            try await runner.run(model: "m", items: items, completed: []) { collector.append($0) }
        } throws: { error in
            (error as? EvaluationError)?.code == .unreachable
        }
        #expect(collector.results.isEmpty)
        #expect(classifier.attempts.withLock { $0["up"] } == nil)  // never tried
        #expect(classifier.attempts.withLock { $0.count } == 5)
    }

    @Test("fewer unreachable items than the threshold before an answer do not fail the run", arguments: [1, 4])
    func belowThreshold(count: Int) async throws {
        let runner = EvaluationRunner(classifier: ScriptedClassifier(), settings: Self.settings, labels: testLabels)
        let collector = ResultCollector()
        // threshold min(5, count + 1) = count + 1, and `up` answers first
        let items = (0..<count).map { item("down\($0)", "x") } + [item("up", "x")]
        try await runner.run(model: "m", items: items, completed: []) { collector.append($0) }
        // the held items are reported once `up` has answered, before it
        #expect(collector.results.map(\.itemID) == (0..<count).map { "down\($0)" } + ["up"])
    }

    @Test("a run of only unreachable items fails even when there are fewer than five")
    func fewUnreachable() async throws {
        let runner = EvaluationRunner(classifier: ScriptedClassifier(), settings: Self.settings, labels: testLabels)
        await #expect {
            try await runner.run(model: "m", items: [item("down1", "x"), item("down2", "x")], completed: []) { _ in }
        } throws: { error in
            (error as? EvaluationError)?.code == .unreachable
        }
    }

    @Test("backoff doubles up to eight times the base")
    func backoff() {
        let runner = EvaluationRunner(
            classifier: ScriptedClassifier(),
            settings: EvaluationSettings(models: ["m"], sampleSize: 1, retryBackoff: .milliseconds(100)),
            labels: testLabels)
        #expect(runner.backoff(beforeRetry: 1) == .milliseconds(100))
        #expect(runner.backoff(beforeRetry: 2) == .milliseconds(200))
        #expect(runner.backoff(beforeRetry: 3) == .milliseconds(400))
        #expect(runner.backoff(beforeRetry: 4) == .milliseconds(800))
        #expect(runner.backoff(beforeRetry: 9) == .milliseconds(800))
        #expect(runner.sample([item("a", "x"), item("b", "y")]).count == 1)
        #expect(runner.promptTemplate == PromptTemplate.default)
    }
}
