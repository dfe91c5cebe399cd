import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func createDataset(name: String, description: String, labels: [LabelRecord], items: [DatasetItemRecord]) async throws -> DatasetRecord {
        throw Self.notYet(#function)
    }

    package func dataset(_ reference: String) async throws -> DatasetRecord {
        throw Self.notYet(#function)
    }

    package func datasetItems(_ reference: String) async throws -> [DatasetItemRecord] {
        throw Self.notYet(#function)
    }

    package func listDatasets(pageSize: Int, pageToken: String) async throws -> Page<DatasetRecord> {
        throw Self.notYet(#function)
    }

    package func updateDatasetLabels(_ reference: String, labels: [LabelRecord]) async throws -> DatasetRecord {
        throw Self.notYet(#function)
    }

    package func deleteDataset(_ reference: String) async throws {
        throw Self.notYet(#function)
    }
}
