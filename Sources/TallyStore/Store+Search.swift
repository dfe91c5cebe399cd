import GRDB

extension Store {
    /// Most order terms a search accepts.
    public static let maximumOrderTerms = 20

    /// Searches runs with a filter expression (docs/filter.md), ordered and paginated.
    /// - Parameters:
    ///   - experimentIDs: Experiments to search; empty means all.
    ///   - filter: Filter expression; empty or blank matches every run.
    ///   - orderBy: Order terms, each `field [asc|desc]` (several may be joined by commas);
    ///     empty means `started_at desc`. Ties are broken by `started_at desc`, then newest row.
    ///   - pageSize: Runs per page; 0 means the default.
    ///   - pageToken: From the previous page's `nextPageToken`; empty for the first page.
    /// - Returns: The page of runs and the number of matching runs over all pages.
    /// - Throws: ``StoreError`` `invalidArgument` for a malformed filter or order term (with
    ///   `position` set to the offending character), a bad page size or token; `notFound` for
    ///   an unknown experiment.
    public func searchRuns(experimentIDs: [String], filter: String, orderBy: [String], pageSize: Int, pageToken: String) async throws -> Page<RunRecord> {
        let request = try RunSearchRequest(filter: filter, orderBy: orderBy, pageSize: pageSize, pageToken: pageToken)
        let nowMs = request.nowMs
        let order = FilterCompiler.order(request.terms, nowMs: nowMs)
        return try await pool.read { db in
            var conditions: [String] = []
            var with = FilterSQL(sql: "")
            var arguments: [FilterArgument] = []
            if !experimentIDs.isEmpty {
                // Primary keys read from the database, not user text.
                let pks = try experimentIDs.map { try Self.experimentPK(db, id: $0, name: nil) }
                conditions.append("r.experiment_pk IN (\(pks.map(String.init).joined(separator: ",")))")
            }
            if let expression = request.expression {
                let compiled = FilterCompiler.condition(expression, nowMs: nowMs)
                with = compiled.with
                conditions.append(compiled.condition.sql)
                arguments += compiled.condition.arguments
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            // One pass: every match in order, so the count and the page come from the same scan
            // (the order needs every match's sort key anyway).
            let matches = try Int64.fetchAll(
                db,
                sql: "\(with.sql)SELECT r.pk FROM runs r \(whereClause) ORDER BY \(order.sql)",
                arguments: StatementArguments(with.arguments + arguments + order.arguments)
            )
            let total = Int64(matches.count)
            let pagePKs = request.page(of: matches)
            let records = try Self.runRecords(db, pks: pagePKs)
            return Page(items: records, nextPageToken: PageToken.next(offset: request.offset, count: records.count, total: total), totalCount: total)
        }
    }
}
