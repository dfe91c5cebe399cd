import PostgresNIO
package import TallyStore

extension PostgresStore {
    /// Searches runs as ``Store/searchRuns(experimentIDs:filter:orderBy:pageSize:pageToken:)``:
    /// the same parsing and errors (``RunSearchRequest``), the filter and order compiled in
    /// PostgreSQL's dialect, the same order, count and page tokens.
    package func searchRuns(experimentIDs: [String], filter: String, orderBy: [String], pageSize: Int, pageToken: String) async throws -> Page<RunRecord> {
        let request = try RunSearchRequest(filter: filter, orderBy: orderBy, pageSize: pageSize, pageToken: pageToken)
        let order = FilterCompiler.order(request.terms, nowMs: request.nowMs, dialect: .postgres)
        let compiled = request.expression.map { FilterCompiler.condition($0, nowMs: request.nowMs, dialect: .postgres) }
        return try await read { connection in
            var conditions: [FilterSQL] = []
            if !experimentIDs.isEmpty {
                // Primary keys read from the database, not user text.
                var pks: [Int64] = []
                for id in experimentIDs {
                    pks.append(try await Self.experimentPK(connection, id: id, name: nil, logger: self.logger))
                }
                conditions.append(FilterSQL(sql: "r.experiment_pk IN (\(pks.map(String.init).joined(separator: ",")))"))
            }
            if let compiled { conditions.append(compiled.condition) }
            let whereClause = conditions.isEmpty ? FilterSQL(sql: "") : FilterSQL.joined([FilterSQL(sql: "WHERE ")] + [FilterSQL.joined(conditions, separator: " AND ")])
            let query = FilterSQL.joined([
                compiled?.with ?? FilterSQL(sql: ""),
                FilterSQL(sql: "SELECT r.pk FROM runs r "),
                whereClause,
                FilterSQL(sql: " ORDER BY "),
                order,
            ]).numberedForPostgres()
            // One pass: every match in order, so the count and the page come from the same scan.
            var matches: [Int64] = []
            let rows = try await connection.query(PostgresQuery(unsafeSQL: query.sql, binds: Self.bindings(query.arguments)), logger: self.logger)
            for try await pk in rows.decode(Int64.self) { matches.append(pk) }
            let total = Int64(matches.count)
            let records = try await Self.runRecords(connection, pks: request.page(of: matches), logger: self.logger)
            return Page(items: records, nextPageToken: PageToken.next(offset: request.offset, count: records.count, total: total), totalCount: total)
        }
    }

    /// A compiled filter's arguments as PostgreSQL bindings (int8, float8, text, NULL).
    static func bindings(_ arguments: [FilterArgument]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .integer(let number): bindings.append(number)
            case .double(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .null: bindings.appendNull()
            }
        }
        return bindings
    }
}
