import GRDB

extension Store {
    /// Registers a dataset.
    /// - Throws: ``StoreError`` `alreadyExists` when the name is taken.
    public func createDataset(name: String, description: String, labels: [LabelRecord], items: [DatasetItemRecord]) async throws -> DatasetRecord {
        try await pool.write { db in
            if try Int64.fetchOne(db, sql: "SELECT pk FROM datasets WHERE name = ?", arguments: [name]) != nil {
                throw StoreError(code: .alreadyExists, message: "a dataset named \"\(name)\" already exists", field: "name")
            }
            let now = Identifiers.nowMs()
            try db.execute(
                sql: "INSERT INTO datasets (id, name, description, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)",
                arguments: [Identifiers.make(), name, description, now, now]
            )
            let pk = db.lastInsertedRowID
            for (position, label) in labels.enumerated() {
                try db.execute(
                    sql: "INSERT INTO dataset_labels (dataset_pk, position, label_id, name, description) VALUES (?, ?, ?, ?, ?)",
                    arguments: [pk, position, label.id, label.name, label.description]
                )
            }
            let insert = try db.cachedStatement(sql: "INSERT INTO dataset_items (dataset_pk, position, item_id, text, label) VALUES (?, ?, ?, ?, ?)")
            for (position, item) in items.enumerated() {
                try insert.execute(arguments: [pk, position, item.id, item.text, item.label])
            }
            return try Self.datasetRecord(db, pk: pk)
        }
    }

    static func datasetPK(_ db: Database, _ reference: String) throws -> Int64 {
        try pkByIDOrName(db, table: "datasets", reference, kind: "dataset")
    }

    /// The pk of the row of `table` whose id, else whose name, is `reference`.
    /// - Throws: ``StoreError`` `notFound` naming `kind`.
    static func pkByIDOrName(_ db: Database, table: String, _ reference: String, kind: String) throws -> Int64 {
        if let pk = try Int64.fetchOne(
            db,
            sql: "SELECT pk FROM \(table) WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1",
            arguments: [reference, reference, reference]
        ) {
            return pk
        }
        throw StoreError(code: .notFound, message: "\(kind) \(reference) not found", field: kind)
    }

    static func datasetRecord(_ db: Database, pk: Int64) throws -> DatasetRecord {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM datasets WHERE pk = ?", arguments: [pk]) else {
            throw StoreError(code: .notFound, message: "dataset #\(pk) not found", field: "dataset")
        }
        let labels = try Row.fetchAll(db, sql: "SELECT label_id, name, description FROM dataset_labels WHERE dataset_pk = ? ORDER BY position", arguments: [pk])
            .map { LabelRecord(id: $0["label_id"], name: $0["name"], description: $0["description"]) }
        var counts: [String: Int64] = [:]
        for count in try Row.fetchAll(db, sql: "SELECT label, COUNT(*) AS n FROM dataset_items WHERE dataset_pk = ? GROUP BY label", arguments: [pk]) {
            counts[count["label"]] = count["n"]
        }
        return DatasetRecord(
            pk: pk, id: row["id"], name: row["name"], description: row["description"], labels: labels,
            itemCount: counts.values.reduce(0, +), labelCounts: counts,
            createdAtMs: row["created_at_ms"], updatedAtMs: row["updated_at_ms"]
        )
    }

    /// A dataset by id or name.
    public func dataset(_ reference: String) async throws -> DatasetRecord {
        try await pool.read { db in try Self.datasetRecord(db, pk: Self.datasetPK(db, reference)) }
    }

    /// A dataset's items, in registration order.
    public func datasetItems(_ reference: String) async throws -> [DatasetItemRecord] {
        try await pool.read { db in
            let pk = try Self.datasetPK(db, reference)
            return try Row.fetchAll(db, sql: "SELECT item_id, text, label FROM dataset_items WHERE dataset_pk = ? ORDER BY position", arguments: [pk])
                .map { DatasetItemRecord(id: $0["item_id"], text: $0["text"], label: $0["label"]) }
        }
    }

    /// Datasets, newest first.
    public func listDatasets(pageSize: Int, pageToken: String) async throws -> Page<DatasetRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        return try await pool.read { db in
            let total = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM datasets") ?? 0
            let pks = try Int64.fetchAll(db, sql: "SELECT pk FROM datasets ORDER BY created_at_ms DESC, pk DESC LIMIT ? OFFSET ?", arguments: [size, offset])
            let records = try pks.map { try Self.datasetRecord(db, pk: $0) }
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }

    /// Renames and redescribes labels; the set of ids must stay the same.
    /// - Throws: ``StoreError`` `invalidArgument` when the ids differ from the dataset's.
    public func updateDatasetLabels(_ reference: String, labels: [LabelRecord]) async throws -> DatasetRecord {
        try await pool.write { db in
            let pk = try Self.datasetPK(db, reference)
            let existing = Set(try String.fetchAll(db, sql: "SELECT label_id FROM dataset_labels WHERE dataset_pk = ?", arguments: [pk]))
            try LabelRecord.validateRelabelling(labels, existing: existing)
            for label in labels {
                try db.execute(
                    sql: "UPDATE dataset_labels SET name = ?, description = ? WHERE dataset_pk = ? AND label_id = ?",
                    arguments: [label.name, label.description, pk, label.id]
                )
            }
            try db.execute(sql: "UPDATE datasets SET updated_at_ms = ? WHERE pk = ?", arguments: [Identifiers.nowMs(), pk])
            return try Self.datasetRecord(db, pk: pk)
        }
    }

    /// Deletes a dataset and its items.
    public func deleteDataset(_ reference: String) async throws {
        try await pool.write { db in
            let pk = try Self.datasetPK(db, reference)
            try db.execute(sql: "DELETE FROM datasets WHERE pk = ?", arguments: [pk])
        }
    }
}
