/// How an evaluation job runs. Every field but the models has a default.
public struct EvaluationSettings: Sendable, Hashable {
    /// The models to evaluate; a job evaluates each on the same sample and compares them.
    public var models: [String]
    /// The prompt template with `{{text}}` and `{{labels}}` placeholders; `nil` uses ``PromptTemplate/default``.
    public var promptTemplate: String?
    /// How many items to evaluate, from 1 to the dataset size (clamped by ``Sampler``).
    public var sampleSize: Int
    /// How the sample is drawn.
    public var sampling: Sampling
    /// The seed of the sampler's pseudo-random generator.
    public var seed: UInt64
    /// Requests in flight at once (at least 1).
    public var concurrency: Int = 4
    /// The limit of one request (one attempt), including reading the reply.
    public var requestTimeout: Duration = .seconds(30)
    /// Extra attempts per item after a timeout, an HTTP 5xx/429 or a connection error.
    public var retries: Int = 2
    /// The wait before the first retry; it doubles for each further retry, up to 8 times this.
    public var retryBackoff: Duration = .milliseconds(250)
    /// When the job must be over: a retry whose wait (the provider's `Retry-After`, or the
    /// backoff) would end past it is not made, and the run throws `.deadlineExceeded` when it
    /// passes. `nil` for none.
    public var deadline: ContinuousClock.Instant?
    /// The longest `Retry-After` honoured when there is no deadline; a longer one fails the item.
    public var maxRetryAfter: Duration = .seconds(300)

    /// Creates settings.
    public init(
        models: [String],
        promptTemplate: String? = nil,
        sampleSize: Int,
        sampling: Sampling = .random,
        seed: UInt64 = 0,
        concurrency: Int = 4,
        requestTimeout: Duration = .seconds(30),
        retries: Int = 2,
        retryBackoff: Duration = .milliseconds(250),
        deadline: ContinuousClock.Instant? = nil,
        maxRetryAfter: Duration = .seconds(300)
    ) {
        self.models = models
        self.promptTemplate = promptTemplate
        self.sampleSize = sampleSize
        self.sampling = sampling
        self.seed = seed
        self.concurrency = concurrency
        self.requestTimeout = requestTimeout
        self.retries = retries
        self.retryBackoff = retryBackoff
        self.deadline = deadline
        self.maxRetryAfter = maxRetryAfter
    }
}
