import PostgresNIO
package import TallyStore

extension PostgresStore {
    package func createProvider(_ provider: NewProvider) async throws -> ProviderRecord {
        throw Self.notYet(#function)
    }

    package func provider(_ reference: String) async throws -> ProviderRecord {
        throw Self.notYet(#function)
    }

    package func listProviders() async throws -> [ProviderRecord] {
        throw Self.notYet(#function)
    }

    package func updateProvider(_ reference: String, _ update: ProviderUpdate) async throws -> ProviderRecord {
        throw Self.notYet(#function)
    }

    package func deleteProvider(_ reference: String) async throws {
        throw Self.notYet(#function)
    }
}
