import TallyProto
import TallyStore

extension ParamValue {
    init(_ record: ParamValueRecord) {
        self.init()
        switch record {
        case .string(let value): kind = .stringValue(value)
        case .int(let value): kind = .intValue(value)
        case .double(let value): kind = .doubleValue(value)
        case .bool(let value): kind = .boolValue(value)
        }
    }

    /// The stored form; `nil` when no kind is set.
    var record: ParamValueRecord? {
        switch kind {
        case .stringValue(let value): .string(value)
        case .intValue(let value): .int(value)
        case .doubleValue(let value): .double(value)
        case .boolValue(let value): .bool(value)
        case nil: nil
        }
    }
}

extension MetricSummary {
    init(_ record: MetricSummaryRecord) {
        self.init()
        key = record.key
        count = UInt64(record.count)
        min = record.min ?? .nan
        max = record.max ?? .nan
        mean = record.mean
        lastValue = record.lastValue
        lastStep = record.lastStep
        lastTimestampMs = record.lastTimestampMs
        firstStep = record.firstStep
    }
}

extension Experiment {
    init(_ record: ExperimentRecord) {
        self.init()
        id = record.id
        name = record.name
        description = record.description
        tags = record.tags
        createdBy = record.createdBy
        createdAtMs = record.createdAtMs
        updatedAtMs = record.updatedAtMs
        metricGoals = record.metricGoals.mapValues { MetricGoal(rawValue: Int32($0)) }
        runCount = UInt64(record.runCount)
    }
}

extension RunStatus {
    init(_ state: RunState) {
        self.init(rawValue: Int32(state.rawValue))
    }
}

extension Run {
    /// A run message; `nowMs` gives the duration of a run still running.
    init(_ record: RunRecord, nowMs: Int64) {
        self.init()
        id = record.id
        experimentId = record.experimentID
        name = record.name
        tags = record.tags
        parentRunId = record.parentID ?? ""
        status = RunStatus(record.state)
        error = record.error
        startedAtMs = record.startedAtMs
        completedAtMs = record.completedAtMs
        // A crashed run lasted until its writer was last heard from.
        let end = record.completedAtMs > 0 ? record.completedAtMs
            : record.state == .crashed && record.lastContactMs > 0 ? record.lastContactMs : nowMs
        durationMs = end - record.startedAtMs
        lastContactMs = record.state == .crashed ? record.lastContactMs : 0
        note = record.note
        createdBy = record.createdBy
        params = record.params.mapValues(ParamValue.init)
        metrics = record.metrics.map(MetricSummary.init)
        childCount = UInt64(record.childCount)
    }
}

extension Artifact {
    init(_ record: ArtifactRecord) {
        self.init()
        id = record.id
        experimentId = record.experimentID
        runId = record.runID ?? ""
        name = record.name
        type = ArtifactType(rawValue: Int32(record.type))
        version = UInt32(record.version)
        sha256 = record.sha256
        size = UInt64(record.size)
        metadata = record.metadata
        aliases = record.aliases
        folder = record.folder
        fileCount = UInt32(clamping: record.fileCount)
        filesSize = UInt64(clamping: record.filesSize)
        createdAtMs = record.createdAtMs
    }
}
