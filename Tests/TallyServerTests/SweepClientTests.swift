import Foundation
import Testing
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

/// The Swift client's sweep API (`Sweep`, `SweepTrial`) over a real socket.
@Suite struct SweepClientTests {
    static func config(maxParallel: UInt32 = 1, heartbeatMs: UInt64 = 0) -> SweepConfig {
        var param = SweepParam()
        param.name = "x"
        var range = SweepParam.IntRange()
        range.low = 0
        range.high = 5
        param.kind = .intRange(range)
        var config = SweepConfig()
        config.params = [param]
        var objective = SweepObjective()
        objective.metric = "loss"
        config.objective = objective
        config.maxParallel = maxParallel
        config.heartbeatTimeoutMs = heartbeatMs
        return config
    }

    static func x(_ trial: SweepTrial) -> Int64 {
        if case .intValue(let value)? = trial.params["x"]?.kind { return value }
        return -1
    }

    @Test func twoWorkersIterateTheTrialsAndTheBestIsFound() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            let sweep = try await client.createSweep(Self.config(maxParallel: 2))
            // Two workers share the grid; each point is evaluated once.
            let seen = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for worker in ["w1", "w2"] {
                    group.addTask {
                        var mine: [Int64] = []
                        for try await trial in sweep.trials(worker: worker) {
                            let x = Self.x(trial)
                            #expect(trial.trial.worker == worker && !trial.runID.isEmpty)
                            let loss = Double((x - 3) * (x - 3))
                            if x == 5 {
                                try await trial.fail("diverged")
                            } else {
                                let ended = try await trial.report(score: loss)
                                #expect(ended.status == .completed && ended.score == loss)
                            }
                            mine.append(x)
                        }
                        return mine
                    }
                }
                var all: [Int64] = []
                for try await part in group { all += part }
                return all
            }
            #expect(seen.sorted() == [0, 1, 2, 3, 4, 5])
            let job = try await eventuallyEnded(sweep)
            let results = try #require(job.results?.sweep)
            #expect(job.status == .completed && results.completed == 5 && results.failed == 1)
            #expect(results.bestScore == 0 && results.bestParams["x"]?.kind == .intValue(3))
            #expect(try await sweep.nextTrial() == nil)  // a finished sweep hands out nothing
            await client.close()
        }
    }

    @Test func foldsHeartbeatsAndSecondReports() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            let sweep = try await client.createSweep(Self.config(heartbeatMs: 3000))
            let first = try #require(try await sweep.nextTrial(worker: "w"))
            // withHeartbeats keeps the trial alive well past its timeout (beats every 100 ms
            // against a 3 s timeout leave room for a loaded machine).
            try await first.withHeartbeats(every: .milliseconds(100)) {
                try await Task.sleep(for: .milliseconds(6500))
            }
            let ended = try await first.report(folds: [1, 2, 3, 4, 5])
            let folds = try #require(ended.folds)
            #expect(ended.score == 3 && folds.n == 5 && folds.hasInterval)
            // t(0.975, 4) = 2.776445; std = sqrt(2.5).
            #expect(abs(folds.ci95Upper - (3 + 2.776445 * 2.5.squareRoot() / 5.0.squareRoot())) < 1e-5)
            let direct = try await client.crossValidate([1, 2, 3, 4, 5])
            #expect(direct.ci95Lower == folds.ci95Lower && direct.ci99Upper == folds.ci99Upper)
            await #expect(throws: RPCError.self) { try await first.report(score: 1) }
            do {
                try await first.report(score: 1)
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition)
            }
            // Without heartbeats a trial expires, and its slot goes to the next one.
            let second = try #require(try await sweep.nextTrial(worker: "w"))
            try await Task.sleep(for: .milliseconds(4000))
            let third = try #require(try await sweep.nextTrial(worker: "w"))
            #expect(third.number == 2)
            do {
                try await second.heartbeat()
                Issue.record("a heartbeat of an expired trial was accepted")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition)
            }
            let killed = try await third.kill("stopped by the test")
            #expect(killed.status == .killed)
            try await sweep.cancel()
            await client.close()
        }
    }

    private func eventuallyEnded(_ sweep: Sweep) async throws -> Job {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let job = try await sweep.job()
            if job.status == .completed || job.status == .failed || job.status == .cancelled { return job }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RPCError(code: .deadlineExceeded, message: "the sweep did not end")
    }
}
