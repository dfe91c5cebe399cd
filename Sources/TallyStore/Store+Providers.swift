import Foundation
import GRDB

extension Store {

    /// Registers a provider.
    /// - Throws: ``StoreError`` `alreadyExists` when the name is taken.
    public func createProvider(_ provider: NewProvider) async throws -> ProviderRecord {
        try await pool.write { db in
            if try Int64.fetchOne(db, sql: "SELECT pk FROM providers WHERE name = ?", arguments: [provider.name]) != nil {
                throw StoreError(code: .alreadyExists, message: "a provider named \"\(provider.name)\" already exists", field: "name")
            }
            let now = Identifiers.nowMs()
            try db.execute(
                sql: """
                    INSERT INTO providers (id, name, kind, base_url, command, api_key, is_active, created_at_ms, updated_at_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Identifiers.make(), provider.name, provider.kind, provider.baseURL, Self.encodeCommand(provider.command),
                    provider.encryptedKey.map { Data($0) }, provider.isActive, now, now,
                ]
            )
            return try Self.providerRecord(db, pk: db.lastInsertedRowID)
        }
    }

    static func encodeCommand(_ command: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(command), as: UTF8.self)) ?? "[]"
    }

    static func providerPK(_ db: Database, _ reference: String) throws -> Int64 {
        try pkByIDOrName(db, table: "providers", reference, kind: "provider")
    }

    static func providerRecord(_ db: Database, pk: Int64) throws -> ProviderRecord {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM providers WHERE pk = ?", arguments: [pk]) else {
            throw StoreError(code: .notFound, message: "provider #\(pk) not found", field: "provider")
        }
        let commandText: String = row["command"]
        let command = (try? JSONDecoder().decode([String].self, from: Data(commandText.utf8))) ?? []
        let key: Data? = row["api_key"]
        return ProviderRecord(
            pk: pk, id: row["id"], name: row["name"], kind: row["kind"], baseURL: row["base_url"], command: command,
            encryptedKey: key.map { [UInt8]($0) }, isActive: row["is_active"],
            createdAtMs: row["created_at_ms"], updatedAtMs: row["updated_at_ms"]
        )
    }

    /// A provider by id or name.
    public func provider(_ reference: String) async throws -> ProviderRecord {
        try await pool.read { db in try Self.providerRecord(db, pk: Self.providerPK(db, reference)) }
    }

    /// Every provider, by name.
    public func listProviders() async throws -> [ProviderRecord] {
        try await pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT pk FROM providers ORDER BY name").map { try Self.providerRecord(db, pk: $0) }
        }
    }

    /// Updates a provider.
    public func updateProvider(_ reference: String, _ update: ProviderUpdate) async throws -> ProviderRecord {
        try await pool.write { db in
            let pk = try Self.providerPK(db, reference)
            if let url = update.baseURL {
                try db.execute(sql: "UPDATE providers SET base_url = ? WHERE pk = ?", arguments: [url, pk])
            }
            if let key = update.encryptedKey {
                try db.execute(sql: "UPDATE providers SET api_key = ? WHERE pk = ?", arguments: [key.map { Data($0) }, pk])
            }
            if let active = update.isActive {
                try db.execute(sql: "UPDATE providers SET is_active = ? WHERE pk = ?", arguments: [active, pk])
            }
            if let command = update.command {
                try db.execute(sql: "UPDATE providers SET command = ? WHERE pk = ?", arguments: [Self.encodeCommand(command), pk])
            }
            try db.execute(sql: "UPDATE providers SET updated_at_ms = ? WHERE pk = ?", arguments: [Identifiers.nowMs(), pk])
            return try Self.providerRecord(db, pk: pk)
        }
    }

    /// Deletes a provider.
    public func deleteProvider(_ reference: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM providers WHERE pk = ?", arguments: [Self.providerPK(db, reference)])
        }
    }
}
