import GRDB

extension Store {
    /// The schema's history. Migrations are applied in order and never edited once released:
    /// a change to the schema is a new migration appended here.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_store_meta") { db in
            try db.create(table: "store_meta") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
            try db.execute(
                sql: "INSERT INTO store_meta (key, value) VALUES ('created_at_ms', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"
            )
        }
        return migrator
    }()
}
