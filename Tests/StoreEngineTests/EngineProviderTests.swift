import Foundation
import TallyStore
import Testing

@Suite("Store engines: providers")
struct EngineProviderTests {
    @Test("providers are created, found by id or name, listed by name, updated and deleted", arguments: Engine.available)
    func lifecycle(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let key: [UInt8] = [0, 1, 2, 255, 128]
            let created = try await f.store.createProvider(NewProvider(
                name: "openai", kind: 2, baseURL: "https://api.example", command: ["a b", "\"q\"", "é"], encryptedKey: key, isActive: true
            ))
            #expect(created.id.count == 16 && created.name == "openai" && created.kind == 2)
            #expect(created.baseURL == "https://api.example" && created.command == ["a b", "\"q\"", "é"])
            #expect(created.encryptedKey == key && created.isActive && created.createdAtMs == created.updatedAtMs)
            #expect(try await f.store.provider(created.id) == created)
            #expect(try await f.store.provider("openai") == created)
            let local = try await f.store.createProvider(NewProvider(name: "Local", kind: 3, baseURL: "", command: [], encryptedKey: nil, isActive: false))
            #expect(local.encryptedKey == nil && !local.isActive && local.command == [])
            // A name that is another provider's id: the id wins.
            let shadow = try await f.store.createProvider(NewProvider(name: created.id, kind: 1, baseURL: "", command: [], encryptedKey: nil, isActive: true))
            #expect(try await f.store.provider(created.id) == created)
            #expect(try await f.store.provider(shadow.id) == shadow)
            #expect(try await f.store.listProviders().map(\.name) == ["Local", created.id, "openai"].sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })

            let taken = await storeRefusal { try await f.store.createProvider(NewProvider(name: "openai", kind: 1, baseURL: "", command: [], encryptedKey: nil, isActive: true)) }
            #expect(taken?.code == .alreadyExists)
            #expect(taken?.message == "a provider named \"openai\" already exists")
            #expect(taken?.field == "name")

            try await Task.sleep(for: .milliseconds(3))
            let updated = try await f.store.updateProvider("openai", ProviderUpdate(baseURL: "https://other", encryptedKey: .some(nil), isActive: false, command: ["x"]))
            #expect(updated.baseURL == "https://other" && updated.encryptedKey == nil && !updated.isActive && updated.command == ["x"])
            #expect(updated.updatedAtMs > created.updatedAtMs && updated.createdAtMs == created.createdAtMs)
            let rekeyed = try await f.store.updateProvider(created.id, ProviderUpdate(encryptedKey: [9, 9]))
            #expect(rekeyed.encryptedKey == [9, 9] && rekeyed.baseURL == "https://other")
            #expect(try await f.store.updateProvider("openai", ProviderUpdate()).encryptedKey == [9, 9])

            try await f.store.deleteProvider("openai")
            await expectNotFound([
                { _ = try await f.store.provider("openai") },
                { _ = try await f.store.updateProvider("openai", ProviderUpdate(isActive: true)) },
                { try await f.store.deleteProvider("openai") },
            ], message: "provider openai not found", field: "provider")
            #expect(try await f.store.listProviders().count == 2)
        }
    }
}
