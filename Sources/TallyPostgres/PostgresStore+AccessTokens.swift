import Foundation
import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// As ``Store/createAccessToken(_:)``; a name taken meanwhile by another daemon is
    /// `alreadyExists` too (the insert skips on the unique name and id).
    package func createAccessToken(_ token: AccessTokenRecord) async throws -> AccessTokenRecord {
        try await transaction { connection in
            let rows = try await connection.query("""
                INSERT INTO access_tokens (name, role, id, secret_hash, created_at_ms, expires_at_ms, created_by)
                VALUES (\(token.name), \(token.role), \(token.id), \(Data(token.secretHash)), \(token.createdAtMs), \(token.expiresAtMs), \(token.createdBy))
                ON CONFLICT DO NOTHING RETURNING name
                """, logger: self.logger)
            for try await _ in rows.decode(String.self) {
                return token
            }
            throw StoreError(code: .alreadyExists, message: "a token named \"\(token.name)\" already exists", field: "name")
        }
    }

    package func accessTokens() async throws -> [AccessTokenRecord] {
        try await read { connection in
            try await Self.tokenRecords(connection.query("""
                SELECT name, role, id, secret_hash, created_at_ms, expires_at_ms, created_by FROM access_tokens ORDER BY name
                """, logger: self.logger))
        }
    }

    package func revokeAccessToken(name: String) async throws -> AccessTokenRecord {
        try await transaction { connection in
            let removed = try await Self.tokenRecords(connection.query("""
                DELETE FROM access_tokens WHERE name = \(name)
                RETURNING name, role, id, secret_hash, created_at_ms, expires_at_ms, created_by
                """, logger: self.logger))
            guard let token = removed.first else {
                throw StoreError(code: .notFound, message: "no token is named \"\(name)\"", field: "name")
            }
            return token
        }
    }

    private static func tokenRecords(_ rows: PostgresRowSequence) async throws -> [AccessTokenRecord] {
        var tokens: [AccessTokenRecord] = []
        for try await (name, role, id, hash, createdAt, expiresAt, createdBy)
            in rows.decode((String, String, String, Data, Int64, Int64, String).self) {
            tokens.append(AccessTokenRecord(
                name: name, role: role, id: id, secretHash: [UInt8](hash),
                createdAtMs: createdAt, expiresAtMs: expiresAt, createdBy: createdBy
            ))
        }
        return tokens
    }
}
