import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func applyRunWrites(_ writes: [RunWriteOperation], maxTags: Int) async throws -> (outcomes: [RunWriteOutcome], refusal: StoreError?) {
        throw Self.notYet(#function)
    }
}
