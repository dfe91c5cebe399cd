import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func searchRuns(experimentIDs: [String], filter: String, orderBy: [String], pageSize: Int, pageToken: String) async throws -> Page<RunRecord> {
        throw Self.notYet(#function)
    }
}
