import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// As ``Store/createDataset(name:description:labels:items:)``; a name taken meanwhile by
    /// another daemon is `alreadyExists` too.
    package func createDataset(name: String, description: String, labels: [LabelRecord], items: [DatasetItemRecord]) async throws -> DatasetRecord {
        try await transaction { connection in
            let now = Identifiers.nowMs()
            var inserted: Int64?
            for try await pk in try await connection.query("""
                INSERT INTO datasets (id, name, description, created_at_ms, updated_at_ms)
                VALUES (\(Identifiers.make()), \(name), \(description), \(now), \(now))
                ON CONFLICT (name) DO NOTHING RETURNING pk
                """, logger: self.logger).decode(Int64.self) {
                inserted = pk
            }
            guard let pk = inserted else {
                throw StoreError(code: .alreadyExists, message: "a dataset named \"\(name)\" already exists", field: "name")
            }
            if !labels.isEmpty {
                try await connection.query("""
                    INSERT INTO dataset_labels (dataset_pk, position, label_id, name, description)
                    SELECT \(pk), n - 1, l.id, l.name, l.description
                    FROM unnest(\(labels.map(\.id))::text[], \(labels.map(\.name))::text[], \(labels.map(\.description))::text[]) WITH ORDINALITY AS l(id, name, description, n)
                    """, logger: self.logger)
            }
            for start in stride(from: 0, to: items.count, by: 5000) {
                let chunk = items[start..<min(start + 5000, items.count)]
                try await connection.query("""
                    INSERT INTO dataset_items (dataset_pk, position, item_id, text, label)
                    SELECT \(pk), \(Int64(start)) + n - 1, i.id, i.text, i.label
                    FROM unnest(\(chunk.map(\.id))::text[], \(chunk.map(\.text))::text[], \(chunk.map(\.label))::text[]) WITH ORDINALITY AS i(id, text, label, n)
                    """, logger: self.logger)
            }
            return try await Self.datasetRecord(connection, pk: pk, logger: self.logger)
        }
    }

    static func datasetRecord(_ connection: PostgresConnection, pk: Int64, logger: Logger) async throws -> DatasetRecord {
        guard let record = try await datasetRecords(connection, pks: [pk], logger: logger).first else {
            throw StoreError(code: .notFound, message: "dataset #\(pk) not found", field: "dataset")
        }
        return record
    }

    /// The records of datasets, in the order of `pks` (missing ones skipped), with their labels
    /// and counts (read in one statement each for all).
    static func datasetRecords(_ connection: PostgresConnection, pks: [Int64], logger: Logger) async throws -> [DatasetRecord] {
        guard !pks.isEmpty else { return [] }
        var records: [Int64: DatasetRecord] = [:]
        for try await (pk, id, name, description, createdAt, updatedAt) in try await connection.query(
            "SELECT pk, id, name, description, created_at_ms, updated_at_ms FROM datasets WHERE pk = ANY(\(pks))", logger: logger
        ).decode((Int64, String, String, String, Int64, Int64).self) {
            records[pk] = DatasetRecord(
                pk: pk, id: id, name: name, description: description, labels: [], itemCount: 0, labelCounts: [:],
                createdAtMs: createdAt, updatedAtMs: updatedAt
            )
        }
        for try await (pk, labelID, labelName, labelDescription) in try await connection.query(
            "SELECT dataset_pk, label_id, name, description FROM dataset_labels WHERE dataset_pk = ANY(\(pks)) ORDER BY dataset_pk, position", logger: logger
        ).decode((Int64, String, String, String).self) {
            records[pk]?.labels.append(LabelRecord(id: labelID, name: labelName, description: labelDescription))
        }
        for try await (pk, label, count) in try await connection.query(
            "SELECT dataset_pk, label, COUNT(*) FROM dataset_items WHERE dataset_pk = ANY(\(pks)) GROUP BY dataset_pk, label", logger: logger
        ).decode((Int64, String, Int64).self) {
            records[pk]?.labelCounts[label] = count
            records[pk]?.itemCount += count
        }
        return pks.compactMap { records[$0] }
    }

    package func dataset(_ reference: String) async throws -> DatasetRecord {
        try await snapshot { connection in
            let pk = try await Self.pkByIDOrName(connection, table: "datasets", reference, kind: "dataset", logger: self.logger)
            return try await Self.datasetRecord(connection, pk: pk, logger: self.logger)
        }
    }

    package func datasetItems(_ reference: String) async throws -> [DatasetItemRecord] {
        try await snapshot { connection in
            let pk = try await Self.pkByIDOrName(connection, table: "datasets", reference, kind: "dataset", logger: self.logger)
            var items: [DatasetItemRecord] = []
            for try await (id, text, label) in try await connection.query(
                "SELECT item_id, text, label FROM dataset_items WHERE dataset_pk = \(pk) ORDER BY position", logger: self.logger
            ).decode((String, String, String).self) {
                items.append(DatasetItemRecord(id: id, text: text, label: label))
            }
            return items
        }
    }

    package func listDatasets(pageSize: Int, pageToken: String) async throws -> Page<DatasetRecord> {
        let size = try PageToken.size(pageSize)
        let offset = try PageToken.offset(pageToken)
        // One snapshot, as SQLite's read: the count and the page agree.
        return try await snapshot { connection in
            var total: Int64 = 0
            for try await count in try await connection.query("SELECT COUNT(*) FROM datasets", logger: self.logger).decode(Int64.self) {
                total = count
            }
            var pks: [Int64] = []
            for try await pk in try await connection.query(
                "SELECT pk FROM datasets ORDER BY created_at_ms DESC, pk DESC LIMIT \(Int64(size)) OFFSET \(Int64(offset))", logger: self.logger
            ).decode(Int64.self) {
                pks.append(pk)
            }
            let records = try await Self.datasetRecords(connection, pks: pks, logger: self.logger)
            return Page(items: records, nextPageToken: PageToken.next(offset: offset, count: records.count, total: total), totalCount: total)
        }
    }

    package func updateDatasetLabels(_ reference: String, labels: [LabelRecord]) async throws -> DatasetRecord {
        try await transaction { connection in
            let pk = try await Self.pkByIDOrName(connection, table: "datasets", reference, kind: "dataset", forUpdate: true, logger: self.logger)
            var existing = Set<String>()
            for try await id in try await connection.query(
                "SELECT label_id FROM dataset_labels WHERE dataset_pk = \(pk)", logger: self.logger
            ).decode(String.self) {
                existing.insert(id)
            }
            try LabelRecord.validateRelabelling(labels, existing: existing)
            for label in labels {
                try await connection.query("""
                    UPDATE dataset_labels SET name = \(label.name), description = \(label.description) WHERE dataset_pk = \(pk) AND label_id = \(label.id)
                    """, logger: self.logger)
            }
            try await Self.touch(connection, table: "datasets", pk: pk, logger: self.logger)
            return try await Self.datasetRecord(connection, pk: pk, logger: self.logger)
        }
    }

    package func deleteDataset(_ reference: String) async throws {
        try await deleteByIDOrName(table: "datasets", reference, kind: "dataset")
    }
}
