import Foundation
import TallyPostgres
import TallyStore
import Testing

/// Job leases (docs/teams.md, "Several daemons"): which daemon runs which unfinished job.
@Suite("Store engines: job leases")
struct EngineJobLeaseTests {
    @Test("a daemon claims the unfinished jobs nobody holds; another takes them only once the lease expired, and then the first cannot renew", arguments: Engine.available)
    func claimRenewTakeOver(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let a = try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 0)
            let b = try await f.store.createJob(kind: "sweep", config: [], progressTotal: 0)
            let done = try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 0)
            _ = try await f.store.markJobRunning(b.id, progressTotal: 3, experimentID: "e")
            _ = try await f.store.finishJob(done.id, status: JobRecord.completed, error: "", results: nil)

            let now: Int64 = 1_000_000
            let claimed = try await f.store.claimJobs(owner: "host-a", nowMs: now, untilMs: now + 30_000, reclaimingOwn: true)
            #expect(claimed.map(\.id) == [a.id, b.id])
            #expect(claimed.allSatisfy { $0.status == JobRecord.pending })
            #expect(claimed[1].progressTotal == 3 && claimed[1].experimentID == "e")
            // Held: another daemon gets nothing, and cannot lease one of them.
            #expect(try await f.store.claimJobs(owner: "host-b", nowMs: now + 29_999, untilMs: now + 60_000, reclaimingOwn: true).isEmpty)
            #expect(try await f.store.leaseJob(a.id, owner: "host-b", nowMs: now + 29_999, untilMs: now + 60_000) == false)
            // The holder renews, and claims its own again (a restart of the same daemon).
            #expect(try await f.store.renewJobLeases([a.id, b.id, done.id], owner: "host-a", untilMs: now + 40_000) == [a.id, b.id])
            // A takeover scan of the holder leaves its running jobs alone; a restart reclaims them.
            _ = try await f.store.markJobRunning(a.id, progressTotal: 0, experimentID: "")
            #expect(try await f.store.claimJobs(owner: "host-a", nowMs: now + 1, untilMs: now + 40_000, reclaimingOwn: false).isEmpty)
            #expect(try await f.store.job(a.id).status == JobRecord.running)
            #expect(try await f.store.claimJobs(owner: "host-a", nowMs: now + 1, untilMs: now + 40_000, reclaimingOwn: true).map(\.id) == [a.id, b.id])

            // Expired: another daemon takes both over; the first can no longer renew them.
            let taken = try await f.store.claimJobs(owner: "host-b", nowMs: now + 40_001, untilMs: now + 70_000, reclaimingOwn: false)
            #expect(taken.map(\.id) == [a.id, b.id])
            #expect(try await f.store.renewJobLeases([a.id, b.id], owner: "host-a", untilMs: now + 80_000).isEmpty)
            #expect(try await f.store.leaseJob(b.id, owner: "host-a", nowMs: now + 40_002, untilMs: now + 80_000) == false)
            #expect(try await f.store.leaseJob(b.id, owner: "host-b", nowMs: now + 40_002, untilMs: now + 80_000))

            // Given up: claimed at once by anyone.
            try await f.store.releaseJobLeases(owner: "host-b")
            #expect(try await f.store.claimJobs(owner: "host-c", nowMs: now + 40_003, untilMs: now + 90_000, reclaimingOwn: false).map(\.id) == [a.id, b.id])
            #expect(try await f.store.leaseJob("0000000000000000", owner: "host-c", nowMs: now, untilMs: now) == false)
            #expect(try await f.store.job(done.id).status == JobRecord.completed)
        }
    }

    @Test("daemons claiming at once each get different jobs, and together all of them", arguments: Engine.available)
    func concurrentClaims(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            var ids: Set<String> = []
            for _ in 0..<40 {
                ids.insert(try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 0).id)
            }
            let store = f.store
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for owner in 0..<6 {
                    group.addTask {
                        try await store.claimJobs(owner: "daemon-\(owner)", nowMs: now, untilMs: now + 60_000, reclaimingOwn: true).map(\.id)
                    }
                }
                var all: [[String]] = []
                for try await claim in group { all.append(claim) }
                return all
            }
            let flat = claims.flatMap { $0 }
            #expect(flat.count == ids.count)
            #expect(Set(flat) == ids)
        }
    }
}
