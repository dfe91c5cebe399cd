import AsyncHTTPClient
import Foundation
import Testing
import TallyEvaluation

/// The `command` provider with small shell scripts written into a temporary directory.
@Suite("Command provider")
struct CommandClassifierTests {
    /// Writes an executable script and returns its path.
    static func script(_ body: String, named name: String, in directory: String) throws -> String {
        let path = "\(directory)/\(name)"
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    static func run(
        _ command: [String], items: [EvaluationItem], timeout: Duration = .seconds(10), retries: Int = 0,
        concurrency: Int = 2
    ) async throws -> ResultCollector {
        let collector = ResultCollector()
        try await withHTTPClient { client in
            let classifier = try ClassifierFactory.make(
                ProviderConfig(name: "script", kind: .command, command: command), httpClient: client)
            let settings = EvaluationSettings(
                models: ["m"], sampleSize: 10, concurrency: concurrency, requestTimeout: timeout, retries: retries,
                retryBackoff: .milliseconds(10))
            let runner = EvaluationRunner(classifier: classifier, settings: settings, labels: testLabels)
            try await runner.run(model: "script-model", items: items, completed: []) { collector.append($0) }
        }
        return collector
    }

    @Test("the script gets the item as JSON on stdin and its JSON reply is parsed")
    func success() async throws {
        try await withTemporaryDirectory { dir in
            let path = try Self.script(
                """
                input=$(cat)
                printf '%s' "$input" > "$1/input-$(printf '%s' "$input" | head -c 12 | tr -dc 'a-z0-9')"
                case "$input" in
                  *'"id":"b"'*) echo 'thinking... {"label":"Politics","confidence":0.4,"reasoning":"guess"}' ;;
                  *'"id":"c"'*) echo 'not json at all' ;;
                  *) echo '{"label":"sports","confidence":0.9,"reasoning":"from script","alternatives":["tech"]}' ;;
                esac
                """, named: "classify.sh", in: dir)
            let collector = try await Self.run(
                [path, dir], items: [item("a", "The match / ended"), item("b", "A vote", "politics"), item("c", "x")])
            let results = collector.byID
            #expect(results["a"]?.predicted == "sports")
            #expect(results["a"]?.confidence == 0.9)
            #expect(results["a"]?.reasoning == "from script")
            #expect(results["a"]?.alternatives == ["tech"])
            #expect(results["b"]?.predicted == "politics" && results["b"]?.isCorrect == true)
            #expect(results["c"]?.error?.hasPrefix("malformed_reply: ") == true)

            // The input of item a: one JSON object and a newline, with labels, model and prompt.
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("input-") }
            #expect(files.count == 3)
            let inputs = try files.map { try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\($0)")) }
            let decoded = try inputs.map { try JSONSerialization.jsonObject(with: $0) as! [String: Any] }
            let a = try #require(decoded.first { $0["id"] as? String == "a" })
            #expect(a["text"] as? String == "The match / ended")
            #expect(a["model"] as? String == "script-model")
            #expect((a["prompt"] as? String)?.contains("The match / ended") == true)
            let labels = try #require(a["labels"] as? [[String: String]])
            #expect(labels.first == ["id": "sports", "name": "Sports", "description": "games, athletes, matches"])
            #expect(labels.count == 3)
        }
    }

    @Test("running many items leaves no descriptor open")
    func noDescriptorLeak() async throws {
        try await withTemporaryDirectory { dir in
            let path = try Self.script(
                """
                cat > /dev/null
                echo '{"label":"sports","confidence":0.9,"reasoning":"r"}'
                echo 'to stderr' >&2
                """, named: "classify.sh", in: dir)
            func openDescriptors() throws -> Int {
                try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
            }
            // One run first, so that whatever a first run sets up for good is not counted.
            _ = try await Self.run([path], items: [item("warm", "x")])
            let before = try openDescriptors()
            let items = (0..<100).map { item("i\($0)", "text \($0)") }
            let collector = try await Self.run([path], items: items)
            #expect(collector.byID.count == 100)
            #expect(collector.byID.values.allSatisfy { $0.predicted == "sports" })
            // Pipes are closed asynchronously just after each run; give the last ones a moment.
            var after = try openDescriptors()
            for _ in 0..<50 where after - before >= 40 {
                try await Task.sleep(for: .milliseconds(20))
                after = try openDescriptors()
            }
            // Two descriptors kept per run would be 200 more; other tests running alongside
            // open and close a few of their own.
            #expect(after - before < 40, "open descriptors went from \(before) to \(after)")
        }
    }

    @Test("a non-zero exit is an item error with the start of stderr, not retried")
    func failure() async throws {
        try await withTemporaryDirectory { dir in
            let path = try Self.script(
                "echo attempt >> \"$1/attempts\"; echo 'model exploded' >&2; exit 1", named: "fail.sh", in: dir)
            let collector = try await Self.run([path, dir], items: [item("a", "x"), item("b", "y")], retries: 2)
            #expect(collector.results.count == 2)
            for result in collector.results {
                #expect(result.error?.hasPrefix("command_failed: ") == true)
                #expect(result.error?.contains("exited with status 1: model exploded") == true, "\(result.error ?? "")")
                #expect(result.confidence == 0 && result.predicted == nil)
            }
            let attempts = try String(contentsOfFile: "\(dir)/attempts", encoding: .utf8)
            #expect(attempts.split(separator: "\n").count == 2)
        }
    }

    @Test("a script that hangs is killed at the timeout, even when a child holds its output open")
    func hang() async throws {
        try await withTemporaryDirectory { dir in
            // `sleep` runs as a child of the shell and keeps stdout open after the shell is terminated;
            // its pid is kept so the test can end it.
            let path = try Self.script(
                "cat > /dev/null; sleep 30 & echo $! >> \"$1/children\"; wait; echo '{}'", named: "hang.sh", in: dir)
            let start = ContinuousClock.now
            let collector = try await Self.run([path, dir], items: [item("a", "x")], timeout: .milliseconds(300), retries: 1)
            let elapsed = milliseconds(since: start)
            let children = (try? String(contentsOfFile: "\(dir)/children", encoding: .utf8)) ?? ""
            for pid in children.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            let result = try #require(collector.results.first)
            #expect(result.error?.hasPrefix("timeout: ") == true, "\(result.error ?? "")")
            #expect(elapsed >= 600)  // two attempts
            #expect(elapsed < 20_000)  // not waiting for `sleep 30`
            #expect(children.split(separator: "\n").count == 2)
        }
    }

    @Test("an executable that does not exist makes the provider unreachable")
    func missing() async throws {
        await #expect {
            _ = try await Self.run(["/nonexistent/tally-classifier"], items: (0..<7).map { item("\($0)", "x") })
        } throws: { error in
            (error as? EvaluationError)?.code == .unreachable
        }
        await #expect {
            _ = try await Self.run(["tally-no-such-command-on-path"], items: [item("a", "x")])
        } throws: { error in
            (error as? EvaluationError)?.code == .unreachable
        }
    }

    @Test("an empty command is an invalid configuration")
    func empty() async throws {
        try await withHTTPClient { client in
            #expect {
                try ClassifierFactory.make(ProviderConfig(name: "x", kind: .command, command: []), httpClient: client)
            } throws: { error in
                (error as? EvaluationError)?.code == .invalidConfiguration
            }
        }
    }
}
