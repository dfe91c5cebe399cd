import Foundation
import TallyPostgres
import TallyStore
import Testing

private func item(_ model: String, _ id: String, _ position: Int64, error: Bool = false) -> JobItemRecord {
    JobItemRecord(model: model, itemID: id, position: position, result: Array("\(model)/\(id)".utf8), isError: error)
}

@Suite("Store engines: jobs")
struct EngineJobTests {
    @Test("a job goes pending, running, finished; a finished job keeps its status", arguments: Engine.available)
    func lifecycle(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let created = try await f.store.createJob(kind: "evaluate", config: [1, 2, 0, 255], progressTotal: 10)
            #expect(created.status == JobRecord.pending && created.kind == "evaluate" && created.config == [1, 2, 0, 255])
            #expect(created.results == nil && created.error == "" && created.experimentID == "")
            #expect(created.progressCurrent == 0 && created.progressTotal == 10)
            #expect(created.startedAtMs == 0 && created.completedAtMs == 0 && created.updatedAtMs == created.createdAtMs && created.createdAtMs > 0)
            #expect(try await f.store.job(created.id) == created)

            let running = try await f.store.markJobRunning(created.id, progressTotal: 20, experimentID: "exp")
            #expect(running.status == JobRecord.running && running.progressTotal == 20 && running.experimentID == "exp")
            #expect(running.startedAtMs > 0 && running.pk == created.pk)
            try await Task.sleep(for: .milliseconds(5))
            let again = try await f.store.markJobRunning(created.id, progressTotal: 30, experimentID: "exp2")
            #expect(again.startedAtMs == running.startedAtMs && again.progressTotal == 30 && again.experimentID == "exp2")

            let running2 = await storeRefusal { try await f.store.deleteJob(created.id) }
            #expect(running2?.code == .failedPrecondition && running2?.field == "job_id")
            #expect(running2?.message == "job \(created.id) is running; cancel it first")

            let finished = try await f.store.finishJob(created.id, status: JobRecord.completed, error: "", results: [9, 8])
            #expect(finished.status == JobRecord.completed && finished.results == [9, 8] && finished.completedAtMs > 0 && finished.isFinished)
            let late = try await f.store.finishJob(created.id, status: JobRecord.failed, error: "boom", results: nil)
            #expect(late == finished)

            let failing = try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 0)
            #expect(try await f.store.job(failing.id).config == [])
            let failed = try await f.store.finishJob(failing.id, status: JobRecord.failed, error: "boom", results: nil)
            #expect(failed.status == JobRecord.failed && failed.error == "boom" && failed.results == nil)

            try await f.store.deleteJob(created.id)
            await expectNotFound([
                { _ = try await f.store.job(created.id) },
                { try await f.store.deleteJob(created.id) },
                { _ = try await f.store.markJobRunning(created.id, progressTotal: 1, experimentID: "") },
                { _ = try await f.store.finishJob(created.id, status: JobRecord.cancelled, error: "", results: nil) },
                { _ = try await f.store.listJobItems(jobID: created.id, model: "", errorsOnly: false, pageSize: 0, pageToken: "") },
            ], message: "job \(created.id) not found", field: "job_id")
        }
    }

    @Test("jobs list newest first, filtered by status and kind, in pages", arguments: Engine.available)
    func listing(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            var jobs: [JobRecord] = []
            for index in 0..<5 {
                jobs.append(try await f.store.createJob(kind: index % 2 == 0 ? "evaluate" : "sweep", config: [UInt8(index)], progressTotal: 0))
            }
            _ = try await f.store.markJobRunning(jobs[1].id, progressTotal: 0, experimentID: "")
            _ = try await f.store.finishJob(jobs[2].id, status: JobRecord.completed, error: "", results: nil)
            let newestFirst = jobs.reversed().map(\.id)

            let all = try await f.store.listJobs(statuses: [], kind: "", pageSize: 0, pageToken: "")
            #expect(all.items.map(\.id) == newestFirst && all.totalCount == 5 && all.nextPageToken == "")
            let first = try await f.store.listJobs(statuses: [], kind: "", pageSize: 2, pageToken: "")
            #expect(first.items.map(\.id) == Array(newestFirst[0..<2]) && first.nextPageToken == "o2" && first.totalCount == 5)
            let second = try await f.store.listJobs(statuses: [], kind: "", pageSize: 2, pageToken: first.nextPageToken)
            #expect(second.items.map(\.id) == Array(newestFirst[2..<4]) && second.nextPageToken == "o4")
            let third = try await f.store.listJobs(statuses: [], kind: "", pageSize: 2, pageToken: second.nextPageToken)
            #expect(third.items.map(\.id) == [newestFirst[4]] && third.nextPageToken == "")
            let past = try await f.store.listJobs(statuses: [], kind: "", pageSize: 2, pageToken: "o10")
            #expect(past.items.isEmpty && past.nextPageToken == "" && past.totalCount == 5)

            let evaluations = try await f.store.listJobs(statuses: [], kind: "evaluate", pageSize: 0, pageToken: "")
            #expect(evaluations.items.map(\.id) == [jobs[4].id, jobs[2].id, jobs[0].id] && evaluations.totalCount == 3)
            let active = try await f.store.listJobs(statuses: [JobRecord.pending, JobRecord.running], kind: "", pageSize: 0, pageToken: "")
            #expect(active.items.map(\.id) == [jobs[4].id, jobs[3].id, jobs[1].id, jobs[0].id])
            let pendingSweeps = try await f.store.listJobs(statuses: [JobRecord.pending], kind: "sweep", pageSize: 0, pageToken: "")
            #expect(pendingSweeps.items.map(\.id) == [jobs[3].id] && pendingSweeps.totalCount == 1)
            #expect(try await f.store.listJobs(statuses: [], kind: "nothing", pageSize: 0, pageToken: "").totalCount == 0)

            let token = await storeRefusal { _ = try await f.store.listJobs(statuses: [], kind: "", pageSize: 0, pageToken: "x1") }
            #expect(token?.code == .invalidArgument && token?.field == "page_token")
            let size = await storeRefusal { _ = try await f.store.listJobs(statuses: [], kind: "", pageSize: 1001, pageToken: "") }
            #expect(size?.code == .invalidArgument && size?.field == "page_size")
        }
    }

    @Test("job items keep positions, replace by model and item, page, and filter errors", arguments: Engine.available)
    func items(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let job = try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 6)
            try await f.store.recordJobItem(jobPK: job.pk, item("m2", "x", 0), progressCurrent: 1)
            try await f.store.recordJobItem(jobPK: job.pk, item("m1", "z", 2, error: true), progressCurrent: 2)
            try await f.store.recordJobItem(jobPK: job.pk, item("m1", "y", 1), progressCurrent: 3)
            try await f.store.recordJobItem(jobPK: job.pk, item("m1", "x", 0, error: true), progressCurrent: 4)
            try await f.store.recordJobItem(jobPK: job.pk, item("m2", "y", 1, error: true), progressCurrent: 5)
            #expect(try await f.store.job(job.id).progressCurrent == 5)
            let stored = try await f.store.jobItems(jobPK: job.pk)
            #expect(stored.map { "\($0.model)/\($0.itemID)" } == ["m1/x", "m1/y", "m1/z", "m2/x", "m2/y"])
            #expect(stored[0] == item("m1", "x", 0, error: true))

            // A retried item replaces the earlier result.
            try await f.store.recordJobItem(jobPK: job.pk, JobItemRecord(model: "m1", itemID: "x", position: 0, result: [7], isError: false), progressCurrent: 6)
            let replaced = try await f.store.jobItems(jobPK: job.pk)
            #expect(replaced.count == 5 && replaced[0].result == [7] && !replaced[0].isError)
            #expect(try await f.store.job(job.id).progressCurrent == 6)

            let page = try await f.store.listJobItems(jobID: job.id, model: "", errorsOnly: false, pageSize: 2, pageToken: "")
            #expect(page.items.map(\.itemID) == ["x", "y"] && page.nextPageToken == "o2" && page.totalCount == 5)
            let next = try await f.store.listJobItems(jobID: job.id, model: "", errorsOnly: false, pageSize: 2, pageToken: "o4")
            #expect(next.items.map { "\($0.model)/\($0.itemID)" } == ["m2/y"] && next.nextPageToken == "")
            let errors = try await f.store.listJobItems(jobID: job.id, model: "", errorsOnly: true, pageSize: 0, pageToken: "")
            #expect(errors.items.map { "\($0.model)/\($0.itemID)" } == ["m1/z", "m2/y"] && errors.totalCount == 2)
            let model = try await f.store.listJobItems(jobID: job.id, model: "m2", errorsOnly: false, pageSize: 0, pageToken: "")
            #expect(model.items.map(\.itemID) == ["x", "y"] && model.totalCount == 2)
            let modelErrors = try await f.store.listJobItems(jobID: job.id, model: "m1", errorsOnly: true, pageSize: 0, pageToken: "")
            #expect(modelErrors.items.map(\.itemID) == ["z"] && modelErrors.totalCount == 1)
            let bad = await storeRefusal { _ = try await f.store.listJobItems(jobID: job.id, model: "", errorsOnly: false, pageSize: -1, pageToken: "") }
            #expect(bad?.code == .invalidArgument && bad?.field == "page_size")

            // Deleting the job deletes its items.
            try await f.store.deleteJob(job.id)
            #expect(try await f.store.jobItems(jobPK: job.pk).isEmpty)
        }
    }

    @Test("after a restart, running jobs go back to pending and every pending job resumes, oldest first", arguments: Engine.available)
    func resume(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let a = try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 0)
            let b = try await f.store.createJob(kind: "sweep", config: [], progressTotal: 0)
            let c = try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 0)
            let d = try await f.store.createJob(kind: "evaluate", config: [], progressTotal: 0)
            _ = try await f.store.markJobRunning(b.id, progressTotal: 3, experimentID: "e")
            _ = try await f.store.finishJob(c.id, status: JobRecord.cancelled, error: "", results: nil)
            _ = try await f.store.markJobRunning(d.id, progressTotal: 0, experimentID: "")
            _ = try await f.store.finishJob(d.id, status: JobRecord.completed, error: "", results: nil)
            let resumed = try await f.store.jobsToResume()
            #expect(resumed.map(\.id) == [a.id, b.id])
            #expect(resumed.allSatisfy { $0.status == JobRecord.pending })
            #expect(resumed[1].startedAtMs > 0 && resumed[1].progressTotal == 3 && resumed[1].experimentID == "e")
            #expect(try await f.store.job(c.id).status == JobRecord.cancelled)
            #expect(try await f.store.job(b.id).status == JobRecord.pending)
            // Pending jobs can be deleted.
            try await f.store.deleteJob(b.id)
            #expect(try await f.store.jobsToResume().map(\.id) == [a.id])
        }
    }
}
