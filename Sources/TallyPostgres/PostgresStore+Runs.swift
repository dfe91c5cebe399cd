import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func startRun(_ run: NewRun) async throws -> RunRecord {
        throw Self.notYet(#function)
    }

    package func setRunNote(id: String, note: String) async throws -> RunRecord {
        throw Self.notYet(#function)
    }

    package func endRun(id: String, state: RunState, error: String) async throws -> RunRecord {
        throw Self.notYet(#function)
    }

    package func resumeRun(id: String) async throws -> RunRecord {
        throw Self.notYet(#function)
    }

    package func markCrashed(_ runs: [(id: String, lastContactMs: Int64)]) async throws -> [String] {
        throw Self.notYet(#function)
    }

    package func recordWriter(id: String, contactMs: Int64) async throws -> WriterContact {
        throw Self.notYet(#function)
    }

    package func recordContacts(_ runs: [(id: String, lastContactMs: Int64)]) async throws {
        throw Self.notYet(#function)
    }

    package func runsWithWriters() async throws -> [(id: String, lastContactMs: Int64)] {
        throw Self.notYet(#function)
    }

    package func run(id: String) async throws -> RunRecord {
        throw Self.notYet(#function)
    }

    package func runState(id: String) async throws -> (pk: Int64, state: RunState) {
        throw Self.notYet(#function)
    }

    package func deleteRun(id: String, force: Bool, blobs: BlobStore?) async throws -> Deletion {
        throw Self.notYet(#function)
    }

    package func setRunTags(id: String, set tags: [String: String], remove keys: [String], maxTags: Int) async throws -> RunRecord {
        throw Self.notYet(#function)
    }

    package func listRuns(experimentIDs: [String], parentRunID: String?, pageSize: Int, pageToken: String) async throws -> Page<RunRecord> {
        throw Self.notYet(#function)
    }

    package func logParams(runID: String, params: [String: ParamValueRecord], requireRunning: Bool) async throws -> Int {
        throw Self.notYet(#function)
    }
}
