import Foundation
import GRDB

extension Store {
    /// Stores a new access token.
    /// - Throws: ``StoreError`` `alreadyExists` when its name (or, by a one-in-2^48 chance, its
    ///   id) is taken.
    package func createAccessToken(_ token: AccessTokenRecord) async throws -> AccessTokenRecord {
        try await pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM access_tokens WHERE name = ? OR id = ?", arguments: [token.name, token.id]) == true {
                throw StoreError(code: .alreadyExists, message: "a token named \"\(token.name)\" already exists", field: "name")
            }
            try db.execute(
                sql: """
                    INSERT INTO access_tokens (name, role, id, secret_hash, created_at_ms, expires_at_ms, created_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [token.name, token.role, token.id, Data(token.secretHash), token.createdAtMs, token.expiresAtMs, token.createdBy]
            )
            return token
        }
    }

    /// Every access token, by name.
    package func accessTokens() async throws -> [AccessTokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM access_tokens ORDER BY name").map { row in
                let hash: Data = row["secret_hash"]
                return AccessTokenRecord(
                    name: row["name"], role: row["role"], id: row["id"], secretHash: [UInt8](hash),
                    createdAtMs: row["created_at_ms"], expiresAtMs: row["expires_at_ms"], createdBy: row["created_by"]
                )
            }
        }
    }

    /// Removes an access token and returns it.
    /// - Throws: ``StoreError`` `notFound` when no token has that name.
    package func revokeAccessToken(name: String) async throws -> AccessTokenRecord {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "DELETE FROM access_tokens WHERE name = ? RETURNING *", arguments: [name]) else {
                throw StoreError(code: .notFound, message: "no token is named \"\(name)\"", field: "name")
            }
            let hash: Data = row["secret_hash"]
            return AccessTokenRecord(
                name: row["name"], role: row["role"], id: row["id"], secretHash: [UInt8](hash),
                createdAtMs: row["created_at_ms"], expiresAtMs: row["expires_at_ms"], createdBy: row["created_by"]
            )
        }
    }
}
