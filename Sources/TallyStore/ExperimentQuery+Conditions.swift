extension ExperimentQuery {
    /// One term of ``tagsAny`` or ``tagsAll``: "key" matches a tag of that key with any value,
    /// "key=value" only with that value (split at the first "=").
    package struct TagTerm: Sendable, Hashable {
        /// The tag's key.
        package var key: String
        /// The value it must have; `nil` for any.
        package var value: String?

        /// Parses a term.
        package init(_ term: String) {
            if let eq = term.firstIndex(of: "=") {
                key = String(term[..<eq])
                value = String(term[term.index(after: eq)...])
            } else {
                key = term
                value = nil
            }
        }
    }

    /// A bound on an experiment time that the query sets.
    package struct TimeBound: Sendable, Hashable {
        /// The experiments' column: "created_at_ms" or "updated_at_ms".
        package var column: String
        /// ">=" for an inclusive lower bound (after), "<" for an exclusive upper bound (before).
        package var comparison: String
        /// The bound, in milliseconds.
        package var value: Int64
    }

    /// The time bounds the query sets (a bound of 0 is none), in the order created after,
    /// created before, updated after, updated before.
    package var timeBounds: [TimeBound] {
        [
            TimeBound(column: "created_at_ms", comparison: ">=", value: createdAfterMs),
            TimeBound(column: "created_at_ms", comparison: "<", value: createdBeforeMs),
            TimeBound(column: "updated_at_ms", comparison: ">=", value: updatedAfterMs),
            TimeBound(column: "updated_at_ms", comparison: "<", value: updatedBeforeMs),
        ].filter { $0.value != 0 }
    }
}
