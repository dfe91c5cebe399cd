extension StoreError {
    /// The `notFound` error for an artifact row that went missing (field "artifact").
    package static func artifactNotFound(pk: Int64) -> StoreError {
        StoreError(code: .notFound, message: "artifact \(pk) not found", field: "artifact")
    }

    /// The `notFound` error for an experiment that artifact operations name (field "experiment_id").
    package static func artifactExperimentNotFound(_ id: String) -> StoreError {
        StoreError(code: .notFound, message: "experiment \(id) not found", field: "experiment_id")
    }
}
