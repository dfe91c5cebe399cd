import Foundation
import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// As ``Store/createProvider(_:)``; a name taken meanwhile by another daemon is
    /// `alreadyExists` too (the insert skips on the unique name).
    package func createProvider(_ provider: NewProvider) async throws -> ProviderRecord {
        try await transaction { connection in
            let now = Identifiers.nowMs()
            let rows = try await connection.query("""
                INSERT INTO providers (id, name, kind, base_url, command, api_key, is_active, created_at_ms, updated_at_ms)
                VALUES (\(Identifiers.make()), \(provider.name), \(Int64(provider.kind)), \(provider.baseURL), \(Self.encodeCommand(provider.command)),
                        \(provider.encryptedKey.map { Data($0) }), \(provider.isActive), \(now), \(now))
                ON CONFLICT (name) DO NOTHING RETURNING pk
                """, logger: self.logger)
            for try await pk in rows.decode(Int64.self) {
                return try await Self.providerRecord(connection, pk: pk, logger: self.logger)
            }
            throw StoreError(code: .alreadyExists, message: "a provider named \"\(provider.name)\" already exists", field: "name")
        }
    }

    static func encodeCommand(_ command: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(command), as: UTF8.self)) ?? "[]"
    }

    static func providerRecord(_ connection: PostgresConnection, pk: Int64, logger: Logger) async throws -> ProviderRecord {
        let rows = try await connection.query("""
            SELECT id, name, kind, base_url, command, api_key, is_active, created_at_ms, updated_at_ms FROM providers WHERE pk = \(pk)
            """, logger: logger)
        for try await (id, name, kind, baseURL, commandText, key, isActive, createdAt, updatedAt)
            in rows.decode((String, String, Int64, String, String, Data?, Bool, Int64, Int64).self) {
            let command = (try? JSONDecoder().decode([String].self, from: Data(commandText.utf8))) ?? []
            return ProviderRecord(
                pk: pk, id: id, name: name, kind: Int(kind), baseURL: baseURL, command: command,
                encryptedKey: key.map { [UInt8]($0) }, isActive: isActive, createdAtMs: createdAt, updatedAtMs: updatedAt
            )
        }
        throw StoreError(code: .notFound, message: "provider #\(pk) not found", field: "provider")
    }

    package func provider(_ reference: String) async throws -> ProviderRecord {
        try await snapshot { connection in
            let pk = try await Self.pkByIDOrName(connection, table: "providers", reference, kind: "provider", logger: self.logger)
            return try await Self.providerRecord(connection, pk: pk, logger: self.logger)
        }
    }

    package func listProviders() async throws -> [ProviderRecord] {
        try await snapshot { connection in
            var pks: [Int64] = []
            for try await pk in try await connection.query("SELECT pk FROM providers ORDER BY name", logger: self.logger).decode(Int64.self) {
                pks.append(pk)
            }
            var records: [ProviderRecord] = []
            for pk in pks {
                records.append(try await Self.providerRecord(connection, pk: pk, logger: self.logger))
            }
            return records
        }
    }

    package func updateProvider(_ reference: String, _ update: ProviderUpdate) async throws -> ProviderRecord {
        try await transaction { connection in
            let pk = try await Self.pkByIDOrName(connection, table: "providers", reference, kind: "provider", forUpdate: true, logger: self.logger)
            if let url = update.baseURL {
                try await connection.query("UPDATE providers SET base_url = \(url) WHERE pk = \(pk)", logger: self.logger)
            }
            if let key = update.encryptedKey {
                try await connection.query("UPDATE providers SET api_key = \(key.map { Data($0) }) WHERE pk = \(pk)", logger: self.logger)
            }
            if let active = update.isActive {
                try await connection.query("UPDATE providers SET is_active = \(active) WHERE pk = \(pk)", logger: self.logger)
            }
            if let command = update.command {
                try await connection.query("UPDATE providers SET command = \(Self.encodeCommand(command)) WHERE pk = \(pk)", logger: self.logger)
            }
            try await Self.touch(connection, table: "providers", pk: pk, logger: self.logger)
            return try await Self.providerRecord(connection, pk: pk, logger: self.logger)
        }
    }

    package func deleteProvider(_ reference: String) async throws {
        try await deleteByIDOrName(table: "providers", reference, kind: "provider")
    }
}
