/// A typed param value as stored.
public enum ParamValueRecord: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)

    /// The `params.type` column value.
    public var typeCode: Int {
        switch self {
        case .string: 1
        case .int: 2
        case .double: 3
        case .bool: 4
        }
    }
}

/// Run lifecycle states, numbered as `tally.v1.RunStatus`.
public enum RunState: Int, Sendable, Hashable {
    case running = 1
    case completed = 2
    case failed = 3
    case killed = 4
    /// Its writer went away without ending it (see ``Store/markCrashed(_:)``).
    case crashed = 5

    /// The lower-case name used in filters ("running", "completed", …).
    public var name: String {
        switch self {
        case .running: "running"
        case .completed: "completed"
        case .failed: "failed"
        case .killed: "killed"
        case .crashed: "crashed"
        }
    }
}

/// An experiment row with its tags and goals.
public struct ExperimentRecord: Sendable, Hashable {
    public var pk: Int64
    public var id: String
    public var name: String
    public var description: String
    public var tags: [String: String]
    public var createdBy: String
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    /// Goal per metric key: 1 minimize, 2 maximize (`tally.v1.MetricGoal`).
    public var metricGoals: [String: Int]
    public var runCount: Int64
    package init(pk: Int64, id: String, name: String, description: String, tags: [String: String], createdBy: String, createdAtMs: Int64, updatedAtMs: Int64, metricGoals: [String: Int], runCount: Int64) { self.pk = pk; self.id = id; self.name = name; self.description = description; self.tags = tags; self.createdBy = createdBy; self.createdAtMs = createdAtMs; self.updatedAtMs = updatedAtMs; self.metricGoals = metricGoals; self.runCount = runCount }
}

/// Aggregates of one metric series.
public struct MetricSummaryRecord: Sendable, Hashable {
    public var key: String
    public var count: Int64
    /// Non-NaN points.
    public var finiteCount: Int64
    public var min: Double?
    public var max: Double?
    public var sum: Double
    public var lastValue: Double
    public var lastStep: Int64
    public var lastTimestampMs: Int64
    public var firstStep: Int64
    package init(key: String, count: Int64, finiteCount: Int64, min: Double?, max: Double?, sum: Double, lastValue: Double, lastStep: Int64, lastTimestampMs: Int64, firstStep: Int64) { self.key = key; self.count = count; self.finiteCount = finiteCount; self.min = min; self.max = max; self.sum = sum; self.lastValue = lastValue; self.lastStep = lastStep; self.lastTimestampMs = lastTimestampMs; self.firstStep = firstStep }

    /// Mean of the non-NaN points (NaN when there are none).
    public var mean: Double { finiteCount > 0 ? sum / Double(finiteCount) : .nan }
}

/// A run row with what GetRun returns beside it.
public struct RunRecord: Sendable, Hashable {
    public var pk: Int64
    public var id: String
    public var experimentPK: Int64
    public var experimentID: String
    public var parentID: String?
    public var name: String
    public var state: RunState
    public var error: String
    public var startedAtMs: Int64
    /// 0 while running.
    public var completedAtMs: Int64
    public var tags: [String: String]
    public var params: [String: ParamValueRecord]
    /// Ordered by key.
    public var metrics: [MetricSummaryRecord]
    public var childCount: Int64
    /// The last time its writer was heard from, as last recorded; 0 when no writer streamed to it.
    public var lastContactMs: Int64 = 0
    /// A free-text note; empty when none.
    public var note: String = ""
    /// Who created it (the caller's user); empty for runs made before it was recorded.
    public var createdBy: String = ""
    package init(pk: Int64, id: String, experimentPK: Int64, experimentID: String, parentID: String?, name: String, state: RunState, error: String, startedAtMs: Int64, completedAtMs: Int64, tags: [String: String], params: [String: ParamValueRecord], metrics: [MetricSummaryRecord], childCount: Int64, lastContactMs: Int64 = 0, note: String = "", createdBy: String = "") { self.createdBy = createdBy; self.pk = pk; self.id = id; self.experimentPK = experimentPK; self.experimentID = experimentID; self.parentID = parentID; self.name = name; self.state = state; self.error = error; self.startedAtMs = startedAtMs; self.completedAtMs = completedAtMs; self.tags = tags; self.params = params; self.metrics = metrics; self.childCount = childCount; self.lastContactMs = lastContactMs; self.note = note }
}

/// One artifact version.
public struct ArtifactRecord: Sendable, Hashable {
    public var pk: Int64
    public var id: String
    public var experimentPK: Int64
    public var experimentID: String
    public var runID: String?
    public var name: String
    /// `tally.v1.ArtifactType` number.
    public var type: Int
    public var version: Int
    public var sha256: String
    public var size: Int64
    public var metadata: [String: String]
    /// User aliases, plus "latest" on the highest version.
    public var aliases: [String]
    public var createdAtMs: Int64
    /// A folder: `sha256` and `size` are its manifest's (``FolderManifest``).
    public var folder: Bool = false
    /// A folder's files and their total size.
    public var fileCount: Int = 0
    public var filesSize: Int64 = 0
    package init(pk: Int64, id: String, experimentPK: Int64, experimentID: String, runID: String?, name: String, type: Int, version: Int, sha256: String, size: Int64, metadata: [String: String], aliases: [String], createdAtMs: Int64, folder: Bool = false, fileCount: Int = 0, filesSize: Int64 = 0) { self.pk = pk; self.id = id; self.experimentPK = experimentPK; self.experimentID = experimentID; self.runID = runID; self.name = name; self.type = type; self.version = version; self.sha256 = sha256; self.size = size; self.metadata = metadata; self.aliases = aliases; self.createdAtMs = createdAtMs; self.folder = folder; self.fileCount = fileCount; self.filesSize = filesSize }
}

/// One file of a folder artifact.
public struct ArtifactFileRecord: Sendable, Hashable {
    /// Relative, "/"-separated.
    public var path: String
    public var sha256: String
    public var size: Int64

    public init(path: String, sha256: String, size: Int64) {
        self.path = path
        self.sha256 = sha256
        self.size = size
    }
}

/// A page of results.
public struct Page<Element: Sendable>: Sendable {
    public var items: [Element]
    /// Empty on the last page.
    public var nextPageToken: String
    public var totalCount: Int64

    public init(items: [Element], nextPageToken: String, totalCount: Int64) {
        self.items = items
        self.nextPageToken = nextPageToken
        self.totalCount = totalCount
    }
}
