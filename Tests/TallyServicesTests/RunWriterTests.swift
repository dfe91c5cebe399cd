import Foundation
import Testing
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices

/// Client-made run ids, idempotent batches, crashed runs and resuming (docs/journal.md).
@Suite("Tracking: run writers, crashed runs, resume")
struct RunWriterTests {
    static func batch(_ run: String, writer: String, sequence: UInt64, values: [Double], firstStep: Int64 = 0) -> MetricBatch {
        var batch = MetricBatch()
        batch.runId = run
        batch.keys = ["loss"]
        batch.keyIndex = [UInt32](repeating: 0, count: values.count)
        batch.values = values
        batch.steps = values.indices.map { firstStep + Int64($0) }
        batch.writerId = writer
        batch.sequence = sequence
        return batch
    }

    @Test("a client-made run id starts the run; starting it again returns the same run unchanged")
    func clientRunID() async throws {
        let h = try TrackingHarness()
        var request = StartRunRequest()
        request.experiment = .name("offline")
        request.createExperiment = true
        request.name = "first"
        request.runId = "00112233aabbccdd"
        let run = try await h.client.startRun(request)
        #expect(run.id == "00112233aabbccdd")
        _ = try await h.client.logMetrics(Self.batch(run.id, writer: "w1", sequence: 1, values: [1, 2]))
        request.name = "second try"
        let again = try await h.client.startRun(request)
        #expect(again.id == run.id && again.name == "first" && again.metrics.first?.count == 2)
        // The id of a run of another experiment is refused; a malformed id too.
        request.experiment = .name("elsewhere")
        #expect(await statusCode { _ = try await h.client.startRun(request) } == .alreadyExists)
        for bad in ["XYZ", "00112233AABBCCDD", "00112233aabbccdd00"] {
            request.runId = bad
            #expect(await statusCode { _ = try await h.client.startRun(request) } == .invalidArgument)
        }
    }

    @Test("a batch sent twice with the same writer and sequence is stored once, on both calls")
    func duplicateBatches() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        let first = try await h.client.logMetrics(Self.batch(run.id, writer: "w1", sequence: 1, values: [1, 2, 3]))
        #expect(first.accepted == 3 && !first.duplicate)
        let again = try await h.client.logMetrics(Self.batch(run.id, writer: "w1", sequence: 1, values: [1, 2, 3]))
        #expect(again.accepted == 0 && again.duplicate)
        // Another writer's sequence 1 is another batch.
        let other = try await h.client.logMetrics(Self.batch(run.id, writer: "w2", sequence: 1, values: [4], firstStep: 3))
        #expect(other.accepted == 1 && !other.duplicate)
        // On a stream, the second copy is acknowledged as a duplicate too.
        let call = try await h.client.streamMetrics()
        try await call.requests.write(Self.batch(run.id, writer: "w1", sequence: 2, values: [5], firstStep: 4))
        try await call.requests.write(Self.batch(run.id, writer: "w1", sequence: 2, values: [5], firstStep: 4))
        try await call.finish()
        var acks: [LogMetricsResponse] = []
        for try await ack in call.responses { acks.append(ack) }
        #expect(acks.map(\.duplicate) == [false, true])
        #expect(acks.map(\.accepted) == [1, 0])
        let stored = try await h.client.getRun(GetRunRequest.with(run.id))
        #expect(stored.metrics.first?.count == 5)
    }

    @Test("a refused batch does not count as stored: sent again once it can be, it is stored")
    func refusedBatchIsNotRemembered() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        _ = try await h.end(run)
        #expect(await statusCode { _ = try await h.client.logMetrics(Self.batch(run.id, writer: "w1", sequence: 1, values: [1])) } == .failedPrecondition)
        _ = try await h.client.resumeRun(ResumeRunRequest.with(run.id))
        let ack = try await h.client.logMetrics(Self.batch(run.id, writer: "w1", sequence: 1, values: [1]))
        #expect(ack.accepted == 1 && !ack.duplicate)
    }

    @Test("writer ids are checked")
    func writerIDs() async throws {
        let h = try TrackingHarness()
        let run = try await h.run(in: try await h.experiment())
        for bad in ["has space", String(repeating: "a", count: 65), "é"] {
            #expect(await statusCode { _ = try await h.client.logMetrics(Self.batch(run.id, writer: bad, sequence: 1, values: [1])) } == .invalidArgument)
        }
    }

    @Test("a writer that falls silent crashes its run after the timeout; an ended run is not watched")
    func heartbeatTimeout() async throws {
        let h = try TrackingHarness(heartbeatTimeout: .milliseconds(200))
        let run = try await h.run(in: try await h.experiment())
        var crashes = h.provider.crashedRuns.makeAsyncIterator()
        // An empty batch with a writer id is a heartbeat: it makes the run watched.
        let started = ContinuousClock.now
        _ = try await h.client.logMetrics(Self.batch(run.id, writer: "w1", sequence: 0, values: []))
        let crashedID = await crashes.next()
        #expect(crashedID == run.id)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        let crashed = try await h.client.getRun(GetRunRequest.with(run.id))
        #expect(crashed.status == .crashed)
        #expect(crashed.lastContactMs >= crashed.startedAtMs)
        #expect(crashed.durationMs == crashed.lastContactMs - crashed.startedAtMs)
        // The search language knows the status.
        var search = SearchRunsRequest()
        search.filter = "status = \"crashed\""
        #expect(try await h.client.searchRuns(search).runs.map(\.id) == [run.id])
        // An ended run is no longer watched: it is not crashed later.
        _ = try await h.end(run)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await h.client.getRun(GetRunRequest.with(run.id)).status == .completed)
    }

    @Test("a run without a writer (no writer id ever sent) is never crashed")
    func unwatchedRuns() async throws {
        let h = try TrackingHarness(heartbeatTimeout: .milliseconds(100))
        let watched = try await h.run(in: try await h.experiment())
        let plain = try await h.run(in: try await h.experiment())
        _ = try await h.log(plain, [("loss", 1, 0)])
        var crashes = h.provider.crashedRuns.makeAsyncIterator()
        _ = try await h.client.logMetrics(Self.batch(watched.id, writer: "w", sequence: 1, values: [1]))
        let crashedID = await crashes.next()
        #expect(crashedID == watched.id)
        #expect(try await h.client.getRun(GetRunRequest.with(plain.id)).status == .running)
    }

    @Test("a writer's last connection closing crashes its run at once; it can be ended, and a batch from its writer revives it")
    func crashedRunsEndAndRevive() async throws {
        let h = try TrackingHarness()
        let a = try await h.run(in: try await h.experiment())
        let b = try await h.run(in: try await h.experiment())
        var crashes = h.provider.crashedRuns.makeAsyncIterator()
        // In-process calls come from connection 0; the transport reports a closed connection so.
        _ = try await h.client.logMetrics(Self.batch(a.id, writer: "wa", sequence: 1, values: [1]))
        _ = try await h.client.logMetrics(Self.batch(b.id, writer: "wb", sequence: 1, values: [1]))
        for observer in h.router.connectionClosed { await observer(0) }
        let firstCrash = await crashes.next()
        let secondCrash = await crashes.next()
        #expect(Set([firstCrash, secondCrash]) == [a.id, b.id])
        let crashed = try await h.client.getRun(GetRunRequest.with(b.id))
        #expect(crashed.status == .crashed && crashed.lastContactMs > 0)
        #expect(try await h.end(a, .failed, error: "gone").status == .failed)
        let ack = try await h.client.logMetrics(Self.batch(b.id, writer: "wb", sequence: 2, values: [2], firstStep: 1))
        #expect(ack.accepted == 1)
        let revived = try await h.client.getRun(GetRunRequest.with(b.id))
        #expect(revived.status == .running && revived.metrics.first?.count == 2 && revived.lastContactMs == 0)
        // An empty batch (a heartbeat) revives a crashed run too.
        for observer in h.router.connectionClosed { await observer(0) }
        #expect(await crashes.next() == b.id)
        _ = try await h.client.logMetrics(Self.batch(b.id, writer: "wb", sequence: 0, values: []))
        #expect(try await h.client.getRun(GetRunRequest.with(b.id)).status == .running)
    }

    @Test("resume reopens a completed, failed or killed run; steps continue")
    func resume() async throws {
        let h = try TrackingHarness()
        let experiment = try await h.experiment()
        for status in [RunStatus.completed, .failed, .killed] {
            let run = try await h.run(in: experiment)
            _ = try await h.log(run, [("loss", 1, nil), ("loss", 0.5, nil)])
            _ = try await h.end(run, status, error: status == .failed ? "boom" : "")
            let resumed = try await h.client.resumeRun(ResumeRunRequest.with(run.id))
            #expect(resumed.status == .running && resumed.completedAtMs == 0 && resumed.error.isEmpty)
            _ = try await h.log(run, [("loss", 0.25, nil)])
            let stored = try await h.client.getRun(GetRunRequest.with(run.id))
            #expect(stored.metrics.first?.lastStep == 2)
        }
        #expect(await statusCode { _ = try await h.client.resumeRun(ResumeRunRequest.with("0000000000000000")) } == .notFound)
    }
}

@Suite("RunLiveness.State")
struct RunLivenessStateTests {
    @Test("runs are orphaned when the last connection of their writer closes")
    func connections() {
        var state = RunLiveness.State(timeoutMs: 1000)
        let newA = state.contact(runID: "a", connection: 1, nowMs: 10)
        let againA = state.contact(runID: "a", connection: 2, nowMs: 20)
        let newB = state.contact(runID: "b", connection: 1, nowMs: 30)
        #expect(newA && !againA && newB)
        let first = state.connectionClosed(1)
        #expect(first.map(\.id) == ["b"])
        #expect(first.first?.lastContactMs == 30)
        let second = state.connectionClosed(2)
        #expect(second.map(\.id) == ["a"])
        #expect(state.entries.isEmpty)
    }

    @Test("runs expire after the timeout from their last contact; adopted runs get a whole timeout")
    func expiry() {
        var state = RunLiveness.State(timeoutMs: 100)
        _ = state.contact(runID: "a", connection: 1, nowMs: 0)
        _ = state.contact(runID: "a", connection: 1, nowMs: 50)
        state.adopt(runIDs: ["old"], nowMs: 60)
        let at150 = state.expired(nowMs: 150)
        let at151 = state.expired(nowMs: 151)
        let at161 = state.expired(nowMs: 161)
        let later = state.expired(nowMs: 10_000)
        #expect(at150.isEmpty)
        #expect(at151.map(\.id) == ["a"])
        #expect(at161.map(\.id) == ["old"])
        #expect(later.isEmpty)
    }

    @Test("contact times are recorded once they moved by the resolution")
    func recording() {
        var state = RunLiveness.State(timeoutMs: 60_000)
        _ = state.contact(runID: "a", connection: 1, nowMs: 1000)
        let early = state.contactsToRecord(resolutionMs: 1000)
        _ = state.contact(runID: "a", connection: 1, nowMs: 2500)
        let due = state.contactsToRecord(resolutionMs: 1000)
        let recorded = state.contactsToRecord(resolutionMs: 1000)
        #expect(early.isEmpty)
        #expect(due.map(\.lastContactMs) == [2500])
        #expect(recorded.isEmpty)
        state.forget("a")
        #expect(state.entries.isEmpty)
    }
}

extension GetRunRequest {
    static func with(_ id: String) -> GetRunRequest {
        var request = GetRunRequest()
        request.runId = id
        return request
    }
}

extension ResumeRunRequest {
    static func with(_ id: String) -> ResumeRunRequest {
        var request = ResumeRunRequest()
        request.runId = id
        return request
    }
}
