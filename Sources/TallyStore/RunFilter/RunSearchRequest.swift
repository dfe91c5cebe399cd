/// A search's filter, order and page checked and parsed, the same for every engine: each
/// engine compiles ``expression`` and ``terms`` in its dialect (``FilterCompiler``) and reads
/// the page at ``offset``.
package struct RunSearchRequest: Sendable {
    /// Runs per page.
    package let size: Int
    /// Matches to skip.
    package let offset: Int
    /// The filter; `nil` matches every run.
    package let expression: FilterExpression?
    /// The order terms (`started_at desc` when none were given).
    package let terms: [FilterOrderTerm]
    /// The end of running runs for `duration`.
    package let nowMs: Int64

    /// Checks and parses a search's arguments (``Store/searchRuns(experimentIDs:filter:orderBy:pageSize:pageToken:)``).
    /// - Throws: ``StoreError`` `invalidArgument` for a bad page size or token, a malformed
    ///   filter or order term (with its position), or too many order terms.
    package init(filter: String, orderBy: [String], pageSize: Int, pageToken: String) throws {
        size = try PageToken.size(pageSize)
        offset = try PageToken.offset(pageToken)
        do {
            expression = try FilterParser.parse(filter)
        } catch {
            throw error.storeError(input: "filter", field: "filter")
        }
        var terms: [FilterOrderTerm] = []
        for (index, text) in orderBy.enumerated() {
            do {
                terms += try FilterParser.parseOrder(text)
            } catch {
                throw error.storeError(input: "order_by[\(index)]", field: "order_by")
            }
        }
        if terms.count > Store.maximumOrderTerms {
            throw StoreError(code: .invalidArgument, message: "order_by: at most \(Store.maximumOrderTerms) terms, got \(terms.count)", field: "order_by")
        }
        if terms.isEmpty {
            terms = [FilterOrderTerm(field: .attribute(.startedAt), descending: true)]
        }
        self.terms = terms
        nowMs = Identifiers.nowMs()
    }

    /// The page of `matches` (every match's key, in order) this request asks for.
    package func page(of matches: [Int64]) -> [Int64] {
        offset < matches.count ? Array(matches[offset..<min(offset + size, matches.count)]) : []
    }
}
