import AsyncHTTPClient
import Foundation
import Testing
@testable import TallyEvaluation

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

    @Test("a wrong API key fails the run at once with the provider's 401 message, without retries")
    func unauthorized() async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        let error = await #expect(throws: EvaluationError.self) {
            try await withHTTPClient { client in
                let classifier = try ClassifierFactory.make(Self.provider(.openai, server, apiKey: "wrong"), httpClient: client)
                let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(concurrency: 2), labels: testLabels)
                try await runner.run(model: "m", items: (0..<20).map { item("\($0)", "text \($0)") }, completed: []) {
                    collector.append($0)
                }
            }
        }
        try await server.stop()
        #expect(error?.code == .providerRefused)
        #expect(error?.httpStatus == 401)
        #expect(error?.message.contains("HTTP 401") == true && error?.message.contains("bad api key") == true, "\(String(describing: error))")
        #expect(collector.results.isEmpty)
        // Stopped at the first answer: the requests already in flight, not twenty, and no retry.
        #expect(server.snapshot.requests <= 2)
    }

    @Test("a model the provider does not have (404) fails the run at once", arguments: [ProviderKind.openai, .ollama])
    func missingModel(kind: ProviderKind) async throws {
        let server = try await StubModelServer.start()
        let error = await #expect(throws: EvaluationError.self) {
            try await withHTTPClient { client in
                let classifier = try ClassifierFactory.make(Self.provider(kind, server), httpClient: client)
                let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(concurrency: 1), labels: testLabels)
                try await runner.run(model: "missing-model", items: (0..<10).map { item("\($0)", "text \($0)") }, completed: []) { _ in }
            }
        }
        try await server.stop()
        #expect(error?.code == .providerRefused && error?.httpStatus == 404)
        #expect(error?.message.contains("not found") == true)
        #expect(server.snapshot.requests == 1)
    }

    @Test("one item's content refused (400) fails that item only; the first five all refused fail the run")
    func refusedContent() async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(.openai, server), httpClient: client)
            let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(concurrency: 1), labels: testLabels)
            let items = [item("ok", "fine LABEL=sports"), item("bad", "FAIL400 text"), item("ok2", "fine again LABEL=sports")]
            try await runner.run(model: "m", items: items, completed: []) { collector.append($0) }
        }
        let results = Dictionary(uniqueKeysWithValues: collector.results.map { ($0.itemID, $0) })
        #expect(results["bad"]?.error?.contains("HTTP 400") == true)
        #expect(results["ok"]?.error == nil && results["ok2"]?.error == nil)
        #expect(server.snapshot.attemptsByMessage.first { $0.key.contains("FAIL400") }?.value == 1)  // not retried

        let error = await #expect(throws: EvaluationError.self) {
            try await withHTTPClient { client in
                let classifier = try ClassifierFactory.make(Self.provider(.openai, server), httpClient: client)
                let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(concurrency: 1), labels: testLabels)
                try await runner.run(model: "m", items: (0..<9).map { item("r\($0)", "FAIL400 item \($0)") }, completed: []) { _ in }
            }
        }
        try await server.stop()
        #expect(error?.code == .providerRefused && error?.httpStatus == 400)
        #expect(error?.message.contains("refused the first 5 requests") == true, "\(String(describing: error))")
    }

    @Test("Retry-After on a 429 is honoured: the retry waits what the provider asked, not the backoff")
    func retryAfterHonoured() async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        let clock = ContinuousClock()
        let started = clock.now
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(.openai, server), httpClient: client)
            let runner = EvaluationRunner(classifier: classifier, settings: Self.settings(concurrency: 1), labels: testLabels)
            try await runner.run(model: "m", items: [item("x", "FAIL429RA2ONCE LABEL=sports")], completed: []) { collector.append($0) }
        }
        let elapsed = clock.now - started
        try await server.stop()
        #expect(collector.results.first?.error == nil)
        #expect(server.snapshot.requests == 2)
        // The backoff is 10 ms; the provider asked for 2 s.
        #expect(elapsed >= .seconds(2), "retried after \(elapsed)")
    }

    @Test("a Retry-After that would end past the deadline is not waited for; the deadline stops the run")
    func retryAfterPastDeadline() async throws {
        let server = try await StubModelServer.start()
        let collector = ResultCollector()
        let clock = ContinuousClock()
        let started = clock.now
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(.openai, server), httpClient: client)
            var settings = Self.settings(concurrency: 1)
            settings.deadline = clock.now.advanced(by: .seconds(20))
            let runner = EvaluationRunner(classifier: classifier, settings: settings, labels: testLabels)
            try await runner.run(model: "m", items: [item("x", "FAIL503RA60 LABEL=sports")], completed: []) { collector.append($0) }
        }
        #expect(clock.now - started < .seconds(15))  // not the 60 s asked, nor the 20 s deadline
        let error = try #require(collector.results.first?.error)
        #expect(error.contains("HTTP 503") && error.contains("past the job's deadline"), "\(error)")
        #expect(server.snapshot.requests == 1)

        // Without a deadline, a Retry-After longer than maxRetryAfter is not waited for either.
        let noDeadline = ResultCollector()
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(Self.provider(.openai, server), httpClient: client)
            var settings = Self.settings(concurrency: 1)
            settings.maxRetryAfter = .seconds(30)
            let runner = EvaluationRunner(classifier: classifier, settings: settings, labels: testLabels)
            try await runner.run(model: "m", items: [item("y", "FAIL503RA60 again")], completed: []) { noDeadline.append($0) }
        }
        #expect(noDeadline.results.first?.error?.contains("longer than") == true)

        // The deadline itself ends the run.
        let deadlineError = await #expect(throws: EvaluationError.self) {
            try await withHTTPClient { client in
                let classifier = try ClassifierFactory.make(Self.provider(.openai, server), httpClient: client)
                var settings = Self.settings(concurrency: 1)
                settings.deadline = clock.now.advanced(by: .milliseconds(300))
                let runner = EvaluationRunner(classifier: classifier, settings: settings, labels: testLabels)
                try await runner.run(model: "m", items: (0..<3).map { item("d\($0)", "DELAY1000 LABEL=sports \($0)") }, completed: []) { _ in }
            }
        }
        try await server.stop()
        #expect(deadlineError?.code == .deadlineExceeded)
    }

    @Test("Retry-After is read as seconds or as an HTTP date")
    func retryAfterParsing() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(HTTPChatTransport.retryAfter("2", now: now) == .seconds(2))
        #expect(HTTPChatTransport.retryAfter(" 1.5 ", now: now) == .milliseconds(1500))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(HTTPChatTransport.retryAfter(formatter.string(from: now.addingTimeInterval(30)), now: now) == .seconds(30))
        #expect(HTTPChatTransport.retryAfter(formatter.string(from: now.addingTimeInterval(-30)), now: now) == .zero)
        #expect(HTTPChatTransport.retryAfter("soon", now: now) == nil)
        #expect(HTTPChatTransport.retryAfter("-3", now: now) == nil)
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
