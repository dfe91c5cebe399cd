import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func createExperiment(_ experiment: NewExperiment, getIfExists: Bool) async throws -> ExperimentRecord {
        throw Self.notYet(#function)
    }

    package func experiment(id: String?, name: String?) async throws -> ExperimentRecord {
        throw Self.notYet(#function)
    }

    package func updateExperiment(id: String, _ update: ExperimentUpdate) async throws -> ExperimentRecord {
        throw Self.notYet(#function)
    }

    package func deleteExperiment(id: String, force: Bool, blobs: BlobStore?) async throws -> Deletion {
        throw Self.notYet(#function)
    }

    package func listExperiments(_ query: ExperimentQuery) async throws -> Page<ExperimentRecord> {
        throw Self.notYet(#function)
    }
}
