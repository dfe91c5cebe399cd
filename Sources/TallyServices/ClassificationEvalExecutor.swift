import Logging
import TallyProto
import TallyStore

/// Runs classification evaluation jobs (placeholder until the evaluation engine lands).
struct ClassificationEvalExecutor: JobExecutor {
    static let kind = "classification_eval"

    let store: Store
    let blobs: BlobStore
    let logger: Logger
    var secrets: SecretBox?

    init(store: Store, blobs: BlobStore, logger: Logger, secrets: SecretBox? = nil) {
        self.store = store
        self.blobs = blobs
        self.logger = logger
        self.secrets = secrets
    }

    func with(secrets: SecretBox) -> ClassificationEvalExecutor {
        var copy = self
        copy.secrets = secrets
        return copy
    }

    func run(_ job: JobRecord, context: JobContext) async throws -> JobResults {
        throw JobFailure(message: "classification evaluation is not available yet")
    }
}

/// A job failure with a message for the user.
struct JobFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
