extension LabelRecord {
    /// Checks that a relabelling keeps exactly a dataset's label ids, so that only names and
    /// descriptions change.
    /// - Parameters:
    ///   - labels: The new labels.
    ///   - existing: The ids of the dataset's labels.
    /// - Throws: ``StoreError`` `invalidArgument` (field "labels") when the ids differ or repeat.
    package static func validateRelabelling(_ labels: [LabelRecord], existing: Set<String>) throws {
        guard Set(labels.map(\.id)) == existing, labels.count == existing.count else {
            throw StoreError(
                code: .invalidArgument,
                message: "labels must keep the dataset's label ids (\(existing.sorted().joined(separator: ", "))); only names and descriptions change",
                field: "labels"
            )
        }
    }
}
