import AsyncHTTPClient
import Foundation
import Testing
import TallyEvaluation

/// The OpenAI and Ollama classifiers and the runner against a real HTTP server on loopback.
@Suite("HTTP providers")
struct HTTPProviderTests {
    static func provider(_ kind: ProviderKind, _ server: StubModelServer, apiKey: String? = "test-key") -> ProviderConfig {
        switch kind {
        case .openai: ProviderConfig(name: "stub", kind: .openai, baseURL: server.openAIBaseURL, apiKey: apiKey)
        default: ProviderConfig(name: "stub", kind: .ollama, baseURL: server.ollamaBaseURL)
        }
    }

    static func settings(
        concurrency: Int = 3, timeout: Duration = .seconds(5), retries: Int = 2
    ) -> EvaluationSettings {
        EvaluationSettings(
            models: ["stub-model"], sampleSize: 100, concurrency: concurrency, requestTimeout: timeout, retries: retries,
            retryBackoff: .milliseconds(10))
    }

    @Test("replies are parsed; bad replies and HTTP errors become item errors; 5xx is retried", arguments: [ProviderKind.openai, .ollama])
    func parsing(kind: ProviderKind) async throws {
        let server = try await StubModelServer.start()
        let items = [
            item("a", "Match report LABEL=sports CONF=0.8"),
            item("b", "Parliament vote LABEL=Politics CONF=0.6 ALT=tech", "politics"),
            item("c", "FENCED LABEL=tech CONF=0.7", "tech"),
            item("d", "GARBAGE"),
            item("e", "OFFLABEL"),
            item("f", "NOCONF"),
            item("g", "FAIL500 forever"),
            item("h", "FAIL500ONCE LABEL=tech CONF=0.5", "politics"),
        ]
        let collector = ResultCollector()
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(kind, server), httpClient: client)
            let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(), labels: testLabels)
            try await runner.run(model: "stub-model", items: items, completed: []) { collector.append($0) }
        }
        try await server.stop()
        let results = collector.byID
        #expect(results.count == 8)

        let a = try #require(results["a"])
        #expect(a.predicted == "sports" && a.confidence == 0.8 && a.reasoning == "stub" && a.error == nil && a.isCorrect)
        #expect(a.excerpt == "Match report LABEL=sports CONF=0.8")
        #expect(a.latencyMs > 0)
        let b = try #require(results["b"])
        #expect(b.predicted == "politics" && b.alternatives == ["tech"] && b.isCorrect)
        #expect(results["c"]?.predicted == "tech")
        for (id, code) in [("d", "malformed_reply"), ("e", "off_label"), ("f", "malformed_reply"), ("g", "http")] {
            let result = try #require(results[id])
            #expect(result.predicted == nil && result.confidence == 0 && !result.isCorrect)
            #expect(result.error?.hasPrefix("\(code): ") == true, "\(id): \(result.error ?? "nil")")
        }
        #expect(results["g"]?.error?.contains("500") == true)
        let h = try #require(results["h"])
        #expect(h.predicted == "tech" && h.error == nil && !h.isCorrect)

        let stats = server.snapshot
        #expect(stats.attemptsByMessage.first { $0.key.contains("FAIL500 forever") }?.value == 3)  // 1 + 2 retries
        #expect(stats.attemptsByMessage.first { $0.key.contains("FAIL500ONCE") }?.value == 2)
        #expect(stats.attemptsByMessage.first { $0.key.contains("GARBAGE") }?.value == 1)  // not retried
        #expect(stats.requests == 8 + 2 + 1)
        #expect(stats.lastPath == (kind == .openai ? "/v1/chat/completions" : "/api/chat"))
        #expect(stats.lastBody["model"] as? String == "stub-model")
        #expect(stats.lastBody["system"] as? String == PromptTemplate.systemMessage)
        #expect((stats.lastBody["user"] as? String)?.contains("- tech: Technology — software, hardware, the internet") == true)

        let metrics = MetricsCalculator.compute(model: "stub-model", results: collector.results, labels: testLabels)
        #expect(metrics.total == 8 && metrics.errors == 4)
        #expect(metrics.accuracy == 3.0 / 8.0)  // a, b, c
    }

    @Test("a wrong API key is an HTTP 401 item error, not retried, and the run goes on")
    func unauthorized() async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(.openai, server, apiKey: "wrong"), httpClient: client)
            let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(), labels: testLabels)
            try await runner.run(model: "m", items: (0..<6).map { item("\($0)", "text \($0)") }, completed: []) {
                collector.append($0)
            }
        }
        try await server.stop()
        #expect(collector.results.count == 6)
        #expect(collector.results.allSatisfy { $0.error?.hasPrefix("http: ") == true && $0.error!.contains("401") })
        #expect(server.snapshot.requests == 6)
    }

    @Test("a slow reply times out, is retried, and becomes an item error", arguments: [ProviderKind.openai, .ollama])
    func timeout(kind: ProviderKind) async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(kind, server), httpClient: client)
            let runner = EvaluationRunner(
                classifier: classifier, settings: Self.settings(timeout: .milliseconds(300), retries: 1), labels: testLabels)
            try await runner.run(model: "m", items: [item("slow", "SLOW"), item("ok", "fine LABEL=sports")], completed: []) {
                collector.append($0)
            }
        }
        try await server.stop()
        let slow = try #require(collector.byID["slow"])
        #expect(slow.error?.hasPrefix("timeout: ") == true, "\(slow.error ?? "nil")")
        #expect(slow.latencyMs >= 600)  // two attempts of 300 ms
        #expect(slow.latencyMs < 8000)  // both attempts gave up long before the 10 s reply
        #expect(collector.byID["ok"]?.isCorrect == true)
        #expect(server.snapshot.attemptsByMessage.first { $0.key.contains("SLOW") }?.value == 2)
    }

    @Test("requests run in parallel up to the concurrency and never beyond", arguments: [ProviderKind.openai, .ollama])
    func concurrency(kind: ProviderKind) async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        let items = (0..<20).map { item("\($0)", "item \($0) DELAY200 LABEL=sports") }
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(kind, server), httpClient: client)
            let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(concurrency: 5), labels: testLabels)
            try await runner.run(model: "m", items: items, completed: []) { collector.append($0) }
        }
        try await server.stop()
        #expect(collector.results.count == 20)
        #expect(collector.results.allSatisfy { $0.isCorrect })
        let stats = server.snapshot
        #expect(stats.requests == 20)
        #expect(stats.maxInFlight == 5)
    }

    @Test("items already completed are skipped")
    func resume() async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        let items = (0..<5).map { item("\($0)", "item \($0)") }
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(.ollama, server), httpClient: client)
            let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(), labels: testLabels)
            try await runner.run(model: "m", items: items, completed: ["0", "3"]) { collector.append($0) }
            try await runner.run(model: "m", items: items, completed: Set(items.map(\.id))) { collector.append($0) }
        }
        try await server.stop()
        #expect(Set(collector.results.map(\.itemID)) == ["1", "2", "4"])
        #expect(server.snapshot.requests == 3)
    }

    @Test("cancelling the task stops new requests, cancels those in flight and throws CancellationError")
    func cancellation() async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        let items = (0..<10).map { item("\($0)", "item \($0) DELAY20000") }
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(.openai, server), httpClient: client)
            let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(concurrency: 2), labels: testLabels)
            let task = Task {
                try await runner.run(model: "m", items: items, completed: []) { collector.append($0) }
            }
            while server.snapshot.inFlight < 2 { try await Task.sleep(for: .milliseconds(10)) }
            let start = ContinuousClock.now
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(milliseconds(since: start) < 10_000)  // far less than the 20 s the replies take
        }
        try await server.stop()
        #expect(collector.results.isEmpty)
        #expect(server.snapshot.requests == 2)
    }

    @Test("a provider that cannot be reached fails the run with .unreachable", arguments: [ProviderKind.openai, .ollama])
    func unreachable(kind: ProviderKind) async throws {
        let port = try await StubModelServer.closedPort()
        let provider =
            kind == .openai
            ? ProviderConfig(name: "gone", kind: .openai, baseURL: "http://127.0.0.1:\(port)/v1", apiKey: "k")
            : ProviderConfig(name: "gone", kind: .ollama, baseURL: "http://127.0.0.1:\(port)")
        let collector = ResultCollector()
        let start = ContinuousClock.now
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(provider, httpClient: client)
            let runner = EvaluationRunner(
                classifier: classifier, settings: Self.settings(concurrency: 4, timeout: .milliseconds(400), retries: 1),
                labels: testLabels)
            let error = await #expect(throws: EvaluationError.self) {
                try await runner.run(model: "m", items: (0..<12).map { item("\($0)", "t") }, completed: []) {
                    collector.append($0)
                }
            }
            #expect(error?.code == .unreachable)
            #expect(error?.message.contains("cannot be reached") == true, "\(error?.message ?? "")")
        }
        #expect(collector.results.isEmpty)  // held back, so a resumed run tries them again
        #expect(milliseconds(since: start) < 30_000)  // it ends; about 2 s on an idle machine
    }

    @Test("invalid base URLs are rejected by the factory", arguments: ["", "127.0.0.1:8080", "ftp://host/v1", "http://"])
    func invalidURL(url: String) async throws {
        try await withHTTPClient { client in
            #expect {
                try ClassifierFactory.make(ProviderConfig(name: "x", kind: .openai, baseURL: url), httpClient: client)
            } throws: { error in
                (error as? EvaluationError)?.code == .invalidConfiguration
            }
        }
    }
}
