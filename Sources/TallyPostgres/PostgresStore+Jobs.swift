import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func createJob(kind: String, config: [UInt8], progressTotal: Int64) async throws -> JobRecord {
        throw Self.notYet(#function)
    }

    package func job(_ id: String) async throws -> JobRecord {
        throw Self.notYet(#function)
    }

    package func listJobs(statuses: [Int], kind: String, pageSize: Int, pageToken: String) async throws -> Page<JobRecord> {
        throw Self.notYet(#function)
    }

    package func markJobRunning(_ id: String, progressTotal: Int64, experimentID: String) async throws -> JobRecord {
        throw Self.notYet(#function)
    }

    package func finishJob(_ id: String, status: Int, error: String, results: [UInt8]?) async throws -> JobRecord {
        throw Self.notYet(#function)
    }

    package func recordJobItem(jobPK: Int64, _ item: JobItemRecord, progressCurrent: Int64) async throws {
        throw Self.notYet(#function)
    }

    package func jobItems(jobPK: Int64) async throws -> [JobItemRecord] {
        throw Self.notYet(#function)
    }

    package func listJobItems(jobID: String, model: String, errorsOnly: Bool, pageSize: Int, pageToken: String) async throws -> Page<JobItemRecord> {
        throw Self.notYet(#function)
    }

    package func deleteJob(_ id: String) async throws {
        throw Self.notYet(#function)
    }

    package func jobsToResume() async throws -> [JobRecord] {
        throw Self.notYet(#function)
    }

    package func saveSweepTrial(jobPK: Int64, _ trial: SweepTrialRecord) async throws {
        throw Self.notYet(#function)
    }

    package func setJobProgress(jobPK: Int64, current: Int64) async throws {
        throw Self.notYet(#function)
    }

    package func sweepTrials(jobPK: Int64) async throws -> [SweepTrialRecord] {
        throw Self.notYet(#function)
    }

    package func sweepJobID(trialID: String) async throws -> String {
        throw Self.notYet(#function)
    }
}
