import Foundation
import Testing
import TallyAPI
import TallyProto
import TallyRPC
import TallyServices

/// WriteRun: a run's whole life on one stream (docs/tracking.md, "A run on one stream").
@Suite("Tracking: WriteRun")
struct WriteRunTests {
    static let runID = "0a0b0c0d0e0f1011"

    static func life(points: Int = 10, badKeyAt: Int? = nil) -> [RunWrite] {
        var start = StartRunRequest()
        start.experiment = .name("one-stream")
        start.createExperiment = true
        start.runId = runID
        start.name = "small"
        start.params = ["lr": .double(0.1)]
        start.tags = ["kind": "test"]
        var writes = [RunWrite.with(.startRun(start))]
        var params = LogParamsRequest()
        params.runId = runID
        params.params = ["layers": .int(3)]
        writes.append(.with(.params(params)))
        var tags = SetRunTagsRequest()
        tags.runId = runID
        tags.tags = ["late": ""]
        writes.append(.with(.tags(tags)))
        for b in 0..<3 {
            var batch = RunWriterTests.batch(runID, writer: "w", sequence: UInt64(b + 1), values: (0..<points).map(Double.init), firstStep: Int64(b * points))
            if b == badKeyAt { batch.keys = ["bad key!"] }
            writes.append(.with(.metrics(batch)))
        }
        var end = EndRunRequest()
        end.runId = runID
        end.status = .completed
        writes.append(.with(.endRun(end)))
        return writes
    }

    /// Sends `writes` on one call; the answers, and the status the call ended with.
    static func send(_ writes: [RunWrite], on client: TrackingClient) async throws -> ([RunWriteResult], RPCError?) {
        let call = try await client.writeRun()
        for write in writes { try await call.requests.write(write) }
        try await call.finish()
        var results: [RunWriteResult] = []
        do {
            for try await result in call.responses { results.append(result) }
            return (results, nil)
        } catch let error as RPCError {
            return (results, error)
        }
    }

    @Test("the run stream's handler is marked non-blocking (transports run it where its frames are read); other calls are not")
    func runStreamIsNonBlocking() throws {
        let h = try TrackingHarness()
        #expect(h.router.route(for: TrackingService.Method.writeRun.path)?.nonBlocking == true)
        #expect(h.router.route(for: TrackingService.Method.getRun.path)?.nonBlocking == false)
        #expect(h.router.route(for: TrackingService.Method.uploadArtifact.path)?.nonBlocking == false)
    }

    @Test("start, params, tags, points and end on one call, answered in order")
    func wholeLife() async throws {
        let h = try TrackingHarness()
        let (results, error) = try await Self.send(Self.life(), on: h.client)
        #expect(error == nil)
        #expect(results.count == 7)
        guard case .run(let started)? = results.first?.result, case .run(let ended)? = results.last?.result else {
            Issue.record("expected runs first and last: \(results)")
            return
        }
        #expect(started.id == Self.runID && started.status == .running)
        #expect(ended.status == .completed)
        let metrics = results.compactMap { if case .metrics(let m)? = $0.result { m } else { nil } }
        #expect(metrics.map(\.sequence) == [1, 2, 3] && metrics.allSatisfy { $0.accepted == 10 && !$0.duplicate })
        let run = try await h.client.getRun(GetRunRequest.with(Self.runID))
        #expect(run.status == .completed && run.metrics.first?.count == 30)
        #expect(run.params == ["lr": .double(0.1), "layers": .int(3)] && run.tags == ["kind": "test", "late": ""])
    }

    @Test("the same life sent twice is stored once: the second call is answered, storing nothing")
    func replay() async throws {
        let h = try TrackingHarness()
        _ = try await Self.send(Self.life(), on: h.client)
        let (results, error) = try await Self.send(Self.life(), on: h.client)
        #expect(error == nil && results.count == 7)
        let metrics = results.compactMap { if case .metrics(let m)? = $0.result { m } else { nil } }
        #expect(metrics.allSatisfy { $0.duplicate && $0.accepted == 0 })
        #expect(try await h.client.getRun(GetRunRequest.with(Self.runID)).metrics.first?.count == 30)
    }

    @Test("a refused write ends the call: the writes before it are stored and answered, none after it is applied")
    func refusal() async throws {
        let h = try TrackingHarness()
        // A bad key in the second batch: refused by its check.
        let (results, error) = try await Self.send(Self.life(badKeyAt: 1), on: h.client)
        #expect(error?.code == .invalidArgument)
        #expect(results.count == 4)  // start, params, tags, batch 1
        let run = try await h.client.getRun(GetRunRequest.with(Self.runID))
        #expect(run.status == .running && run.metrics.first?.count == 10)
        // Points to a run someone ended: refused by the store, after the earlier writes commit.
        _ = try await h.end(run, .killed)
        var more = RunWriterTests.batch(Self.runID, writer: "w", sequence: 9, values: [1], firstStep: 100)
        var tags = SetRunTagsRequest()
        tags.runId = Self.runID
        tags.tags = ["after": ""]
        more.runId = Self.runID
        let (second, refused) = try await Self.send([.with(.tags(tags)), .with(.metrics(more)), .with(.tags(tags))], on: h.client)
        #expect(refused?.code == .failedPrecondition && second.count == 1)
        let after = try await h.client.getRun(GetRunRequest.with(Self.runID))
        #expect(after.tags["after"] == "" && after.metrics.first?.count == 10 && after.status == .killed)
    }

    @Test("an empty write is refused")
    func emptyWrite() async throws {
        let h = try TrackingHarness()
        let (results, error) = try await Self.send([RunWrite()], on: h.client)
        #expect(results.isEmpty && error?.code == .invalidArgument)
    }
}

extension RunWrite {
    static func with(_ write: Write) -> RunWrite {
        var value = RunWrite()
        value.write = write
        return value
    }
}
