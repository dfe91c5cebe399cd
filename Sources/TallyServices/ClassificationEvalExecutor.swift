import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import TallyEvaluation
import TallyProto
import TallyStore

/// Runs classification evaluation jobs: samples the dataset (the same sample after a resume, as
/// it depends only on the seed), asks each model about every sampled item, stores each result as
/// it arrives, then computes the metrics and records one tracking run per model.
struct ClassificationEvalExecutor: JobExecutor {
    static let kind = "classification_eval"

    let store: any StoreEngine
    let blobs: any BlobStore
    let logger: Logger
    var secrets: SecretBox?
    var httpClient: HTTPClient = .shared

    init(store: any StoreEngine, blobs: any BlobStore, logger: Logger, secrets: SecretBox? = nil) {
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
        let request = try CreateJobRequest(serializedBytes: job.config)
        guard case .classification(let config)? = request.config else {
            throw JobFailure(message: "the job has no classification configuration")
        }
        let labels = config.labels.map { LabelDefinition(id: $0.id, name: $0.name, description: $0.description) }
        let labelNames = Dictionary(labels.map { ($0.id, $0.name.isEmpty ? $0.id : $0.name) }, uniquingKeysWith: { first, _ in first })
        let items: [EvaluationItem]
        do {
            items = try await store.datasetItems(config.datasetId).map { EvaluationItem(id: $0.id, text: $0.text, label: $0.label) }
        } catch let error as StoreError where error.code == .notFound {
            throw JobFailure(message: "dataset \(config.dataset) was deleted before the job ran")
        }
        let classifier = try ClassifierFactory.make(try await providerConfig(config.provider), httpClient: httpClient)
        let settings = EvaluationSettings(
            models: config.models,
            promptTemplate: config.promptTemplate.isEmpty ? nil : config.promptTemplate,
            sampleSize: Int(config.sampleSize),
            sampling: config.sampling == .stratified ? .stratified : .random,
            seed: config.seed,
            concurrency: Int(config.concurrency),
            requestTimeout: .milliseconds(Int64(config.requestTimeoutMs)),
            retries: Int(config.retries ?? 2),
            deadline: Self.deadline(config.timeLimitMs, firstStartMs: job.startedAtMs, nowMs: Self.nowMs())
        )
        var jobLogger = logger
        jobLogger[metadataKey: "job"] = "\(job.id)"
        let itemLogger = jobLogger
        let runner = EvaluationRunner(classifier: classifier, settings: settings, labels: labels, logger: jobLogger)
        let sample = runner.sample(items)
        let positions = Dictionary(uniqueKeysWithValues: sample.enumerated().map { ($1.id, $0) })

        let recorded = try await context.recordedItems()
        var done: [String: Set<String>] = [:]
        for item in recorded { done[item.model, default: []].insert(item.itemID) }
        let experiment = try await store.createExperiment(
            Store.NewExperiment(name: config.experiment, createdBy: "tally-job", metricGoals: Self.metricGoals),
            getIfExists: true
        )
        try await context.start(total: Int64(sample.count * config.models.count), alreadyDone: Int64(recorded.count), experimentID: experiment.id)

        for model in config.models {
            context.setModel(model)
            do {
                try await runner.run(model: model, items: sample, completed: done[model] ?? []) { result in
                    var message = TallyProto.ItemResult(result, labelNames: labelNames)
                    message.model = model
                    do {
                        try await context.itemFinished(message, position: positions[result.itemID] ?? 0, isError: result.error != nil)
                    } catch {
                        itemLogger.debug("item result not stored", metadata: ["error": "\(error)"])
                    }
                }
            } catch let error as EvaluationError where error.code == .deadlineExceeded {
                throw JobFailure(message: "the job's time limit of \(Self.duration(ms: config.timeLimitMs)) passed while model \(model) was evaluated")
            } catch let error as EvaluationError where error.code == .providerRefused {
                throw JobFailure(message: "model \(model): \(error.message)")
            }
        }
        try Task.checkCancellation()

        // Metrics over everything stored, including results of an interrupted execution.
        let all = try await context.recordedItems()
        var results = JobResults()
        let promptHash = PromptTemplate.hash(runner.promptTemplate)
        for model in config.models {
            let itemResults = try all.filter { $0.model == model }.map { try TallyEvaluation.ItemResult(TallyProto.ItemResult(serializedBytes: $0.result)) }
            let metrics = MetricsCalculator.compute(model: model, results: itemResults, labels: labels)
            var evaluation = ModelEvaluation(metrics)
            evaluation.runId = try await recordRun(
                job: job, config: config, experimentID: experiment.id, model: model, metrics: metrics,
                promptHash: promptHash, items: all.filter { $0.model == model }
            )
            results.models.append(evaluation)
        }
        return results
    }

    /// The instant `deadlineMs` after the job's first start (`firstStartMs`, 0 when it starts
    /// now), or `nil` for no deadline (0). The create call bounds `deadlineMs`.
    static func deadline(_ deadlineMs: UInt64, firstStartMs: Int64, nowMs: Int64) -> ContinuousClock.Instant? {
        guard deadlineMs > 0 else { return nil }
        let start = firstStartMs > 0 ? firstStartMs : nowMs
        let (end, overflow) = start.addingReportingOverflow(Int64(clamping: deadlineMs))
        let remaining = overflow ? Int64.max / 2 : end - nowMs
        return ContinuousClock.now.advanced(by: .milliseconds(remaining))
    }

    /// "90s", "10m", "2h30m" for a time limit.
    static func duration(ms: UInt64) -> String {
        let seconds = ms / 1000
        if ms % 1000 != 0 || seconds < 60 { return ms % 1000 == 0 ? "\(seconds)s" : "\(ms)ms" }
        let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60)
        return (hours > 0 ? "\(hours)h" : "") + (minutes > 0 ? "\(minutes)m" : "") + (rest > 0 ? "\(rest)s" : "")
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Goals of the headline metrics (1 minimize, 2 maximize), so comparisons pick the right best.
    static let metricGoals: [String: Int] = [
        "accuracy": 2, "average_confidence": 2, "macro_f1": 2, "weighted_f1": 2, "evaluated": 2,
        "average_latency_ms": 1, "p50_latency_ms": 1, "p95_latency_ms": 1, "expected_calibration_error": 1, "errors": 1,
    ]

    /// The provider with its key decrypted.
    private func providerConfig(_ name: String) async throws -> ProviderConfig {
        let record: ProviderRecord
        do {
            record = try await store.provider(name)
        } catch let error as StoreError where error.code == .notFound {
            throw JobFailure(message: "provider \(name) was deleted before the job ran")
        }
        guard record.isActive else { throw JobFailure(message: "provider \(name) was deactivated before the job ran") }
        var apiKey: String?
        if let sealed = record.encryptedKey {
            guard let secrets else { throw JobFailure(message: "no key to decrypt provider secrets") }
            apiKey = try secrets.open(sealed)
        }
        let kind: TallyEvaluation.ProviderKind = switch record.kind {
        case 1: .openai
        case 2: .ollama
        default: .command
        }
        return ProviderConfig(name: record.name, kind: kind, baseURL: record.baseURL, apiKey: apiKey, command: record.command)
    }

    /// Records one model's evaluation as a completed tracking run: params, headline metrics and
    /// the per-item results as a JSONL artifact. Reuses the run if an interrupted execution made it.
    private func recordRun(
        job: JobRecord, config: ClassificationEvalConfig, experimentID: String, model: String,
        metrics: ModelMetrics, promptHash: String, items: [JobItemRecord]
    ) async throws -> String {
        let existing = try await store.searchRuns(
            experimentIDs: [experimentID],
            filter: "tags.job = \"\(job.id)\" and tags.model = \"\(model.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"",
            orderBy: [], pageSize: 1, pageToken: ""
        )
        if let run = existing.items.first, run.state != .running { return run.id }
        let run: RunRecord
        if let found = existing.items.first {
            run = found
        } else {
            run = try await store.startRun(Store.NewRun(
                experimentID: experimentID,
                name: model,
                tags: ["job": job.id, "model": model, "kind": Self.kind],
                params: [
                    "provider": .string(config.provider),
                    "model": .string(model),
                    "prompt_hash": .string(promptHash),
                    "sample_size": .int(Int64(config.sampleSize)),
                    "seed": .int(Int64(bitPattern: config.seed)),
                    "sampling": .string(config.sampling == .stratified ? "stratified" : "random"),
                    "dataset": .string(config.dataset),
                ]
            ))
        }
        let headline: [(String, Double)] = [
            ("accuracy", metrics.accuracy), ("average_confidence", metrics.averageConfidence),
            ("average_latency_ms", metrics.averageLatencyMs), ("p50_latency_ms", metrics.p50LatencyMs),
            ("p95_latency_ms", metrics.p95LatencyMs), ("macro_f1", metrics.macroF1), ("weighted_f1", metrics.weightedF1),
            ("expected_calibration_error", metrics.expectedCalibrationError), ("errors", Double(metrics.errors)),
            ("evaluated", Double(metrics.evaluated)),
        ]
        _ = try await store.commitMetrics([MetricPointBatch(
            runID: run.id, keys: headline.map(\.0), keyIndex: (0..<headline.count).map(UInt32.init),
            values: headline.map(\.1), steps: [Int64](repeating: 0, count: headline.count), timestampsMs: [],
            receivedAtMs: Int64(Date().timeIntervalSince1970 * 1000)
        )])
        var lines = Data()
        for item in items {
            let message = try TallyProto.ItemResult(serializedBytes: item.result)
            lines.append(contentsOf: Array(message.jsonString(pretty: false).utf8))
            lines.append(0x0A)
        }
        let blob = try await blobs.pending([UInt8](lines))
        _ = try await store.createArtifact(
            Store.NewArtifact(runID: run.id, name: "eval-items.jsonl", type: 4, metadata: ["job": job.id, "model": model]),
            content: blob,
            blobs: blobs
        )
        _ = try await store.endRun(id: run.id, state: .completed, error: "")
        return run.id
    }
}

/// A job failure with a message for the user.
struct JobFailure: Error, CustomStringConvertible {
    var message: String
    /// What the job got done before it failed, kept with it (a sweep's trials).
    var results: JobResults? = nil
    var description: String { message }
}

extension TallyProto.ItemResult {
    /// The result as stored and sent, with the labels' names (`labelNames` by id).
    init(_ result: TallyEvaluation.ItemResult, labelNames: [String: String] = [:]) {
        self.init()
        itemId = result.itemID
        excerpt = result.excerpt
        actual = result.actual
        predicted = result.predicted ?? ""
        confidence = result.confidence
        latencyMs = result.latencyMs
        reasoning = result.reasoning
        alternatives = result.alternatives
        error = result.error ?? ""
        actualName = labelNames[result.actual] ?? result.actual
        predictedName = result.predicted.map { labelNames[$0] ?? $0 } ?? ""
        alternativeLabels = result.alternatives.map { id in
            var alternative = AlternativeLabel()
            alternative.id = id
            alternative.name = labelNames[id] ?? id
            alternative.confidence = result.alternativeConfidence[id]
            return alternative
        }
    }
}

extension TallyEvaluation.ItemResult {
    init(_ message: TallyProto.ItemResult) {
        self.init(
            itemID: message.itemId,
            excerpt: message.excerpt,
            actual: message.actual,
            predicted: message.error.isEmpty ? message.predicted : nil,
            confidence: message.confidence,
            latencyMs: message.latencyMs,
            reasoning: message.reasoning,
            alternatives: message.alternatives,
            alternativeConfidence: Dictionary(
                message.alternativeLabels.compactMap { alternative in alternative.confidence.map { (alternative.id, $0) } },
                uniquingKeysWith: { first, _ in first }),
            error: message.error.isEmpty ? nil : message.error
        )
    }
}

extension ModelEvaluation {
    init(_ metrics: ModelMetrics) {
        self.init()
        model = metrics.model
        total = UInt64(metrics.total)
        evaluated = UInt64(metrics.evaluated)
        errors = UInt64(metrics.errors)
        accuracy = metrics.accuracy
        averageConfidence = metrics.averageConfidence
        averageLatencyMs = metrics.averageLatencyMs
        p50LatencyMs = metrics.p50LatencyMs
        p95LatencyMs = metrics.p95LatencyMs
        confusion = metrics.confusion.mapValues { row in
            var confusionRow = ConfusionRow()
            confusionRow.predicted = row.mapValues { UInt64($0) }
            return confusionRow
        }
        perLabel = metrics.perLabel.mapValues { scores in
            var labelScores = LabelScores()
            labelScores.precision = scores.precision
            labelScores.recall = scores.recall
            labelScores.f1 = scores.f1
            labelScores.support = UInt64(scores.support)
            return labelScores
        }
        macroF1 = metrics.macroF1
        weightedF1 = metrics.weightedF1
        expectedCalibrationError = metrics.expectedCalibrationError
        reliability = metrics.reliability.map { bin in
            var message = TallyProto.CalibrationBin()
            message.lower = bin.lower
            message.upper = bin.upper
            message.count = UInt64(bin.count)
            message.meanConfidence = bin.meanConfidence
            message.accuracy = bin.accuracy
            return message
        }
    }
}
