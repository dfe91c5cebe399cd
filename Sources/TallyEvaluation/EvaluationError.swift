/// A failure of a classifier request, of a reply or of a whole evaluation.
public struct EvaluationError: Error, Sendable, CustomStringConvertible {
    /// What failed; extensible.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// No contact with the provider: connection refused or reset, host not found, connect
        /// timeout, or an executable that cannot be started. Retried. As the error of a whole run:
        /// the provider could not be reached at all (see ``EvaluationRunner``).
        public static let unreachable = Code(rawValue: "unreachable")
        /// The attempt did not finish within the request timeout. Retried.
        public static let timeout = Code(rawValue: "timeout")
        /// The provider answered with an HTTP error status. Retried for 5xx and 429.
        public static let http = Code(rawValue: "http")
        /// The reply is not the expected JSON, or its confidence is missing or outside 0...1.
        public static let malformedReply = Code(rawValue: "malformed_reply")
        /// The reply names a label outside the label set.
        public static let offLabel = Code(rawValue: "off_label")
        /// The command exited with a non-zero status or was killed by a signal.
        public static let commandFailed = Code(rawValue: "command_failed")
        /// The provider or the settings are unusable (bad URL, empty command, no labels).
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
        /// A classifier threw an error that is not an ``EvaluationError`` (a custom classifier's bug).
        public static let classifierFailed = Code(rawValue: "classifier_failed")
        /// As the error of a whole run: the provider refused the requests with an error that
        /// cannot clear (a wrong key, a model or endpoint that does not exist, a request format it
        /// does not take); see ``EvaluationRunner``.
        public static let providerRefused = Code(rawValue: "provider_refused")
        /// As the error of a whole run: the job's deadline passed.
        public static let deadlineExceeded = Code(rawValue: "deadline_exceeded")

        public var description: String { rawValue }
    }

    /// What failed.
    public var code: Code
    /// A description for people, naming what was expected and what came.
    public var message: String
    /// The underlying error.
    public var cause: (any Error)?
    /// The HTTP status, for `.http`.
    public var httpStatus: Int?
    /// The wait the provider asked for before a retry (its `Retry-After` header), for `.http`.
    public var retryAfter: Duration?

    /// Creates an error.
    public init(code: Code, message: String, cause: (any Error)? = nil, httpStatus: Int? = nil, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.httpStatus = httpStatus
        self.retryAfter = retryAfter
    }

    /// HTTP statuses that say the provider will refuse every request of this job whatever the
    /// item: 401 (the key), 403 (the key's rights), 404 and 410 (the model or the endpoint), 405
    /// and 415 (the endpoint or the body's media type).
    public static let permanentHTTPStatuses: Set<Int> = [401, 403, 404, 405, 410, 415]

    /// HTTP statuses that refuse one request's content (400, 413, 422): an item's text may cause
    /// them (too long for the model's context, say), so they fail only that item, unless every
    /// item fails so (the provider refuses the request format; see ``EvaluationRunner``).
    public static let refusalHTTPStatuses: Set<Int> = [400, 413, 422]

    /// Whether this error cannot clear by retrying any item: an HTTP status in
    /// ``permanentHTTPStatuses``, or an unusable configuration. The runner fails the run at once.
    public var isPermanent: Bool {
        switch code {
        case .invalidConfiguration: true
        case .http: httpStatus.map(Self.permanentHTTPStatuses.contains) ?? false
        default: false
        }
    }

    /// Whether the provider refused this request's content (``refusalHTTPStatuses``).
    public var isRefusal: Bool {
        code == .http && (httpStatus.map(Self.refusalHTTPStatuses.contains) ?? false)
    }

    /// Whether the runner retries an attempt that failed with this error: connection errors,
    /// timeouts, and HTTP 5xx and 429.
    public var isRetryable: Bool {
        switch code {
        case .unreachable, .timeout: true
        case .http: httpStatus.map { $0 >= 500 || $0 == 429 } ?? false
        default: false
        }
    }

    /// Whether an attempt that failed with this error got an answer from the provider: every code
    /// but `.unreachable`, `.timeout`, `.invalidConfiguration` and `.classifierFailed`.
    public var providerAnswered: Bool {
        ![.unreachable, .timeout, .invalidConfiguration, .classifierFailed].contains(code)
    }

    public var description: String { "\(code): \(message)" }
}
