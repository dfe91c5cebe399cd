/// A class of a classification dataset.
public struct LabelRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var description: String

    public init(id: String, name: String, description: String) {
        self.id = id
        self.name = name
        self.description = description
    }
}

/// One labelled item of a dataset.
public struct DatasetItemRecord: Sendable, Hashable {
    public var id: String
    public var text: String
    public var label: String

    public init(id: String, text: String, label: String) {
        self.id = id
        self.text = text
        self.label = label
    }
}

/// A dataset with its labels and counts (items are loaded separately).
public struct DatasetRecord: Sendable, Hashable {
    public var pk: Int64
    public var id: String
    public var name: String
    public var description: String
    public var labels: [LabelRecord]
    public var itemCount: Int64
    public var labelCounts: [String: Int64]
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    package init(pk: Int64, id: String, name: String, description: String, labels: [LabelRecord], itemCount: Int64, labelCounts: [String: Int64], createdAtMs: Int64, updatedAtMs: Int64) { self.pk = pk; self.id = id; self.name = name; self.description = description; self.labels = labels; self.itemCount = itemCount; self.labelCounts = labelCounts; self.createdAtMs = createdAtMs; self.updatedAtMs = updatedAtMs }
}

/// A classifier backend as stored; the key is ciphertext.
public struct ProviderRecord: Sendable, Hashable {
    public var pk: Int64
    public var id: String
    public var name: String
    /// `tally.v1.ProviderKind` number.
    public var kind: Int
    public var baseURL: String
    public var command: [String]
    /// AES-GCM combined box (nonce, ciphertext, tag), or nil when no key is stored.
    public var encryptedKey: [UInt8]?
    public var isActive: Bool
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    package init(pk: Int64, id: String, name: String, kind: Int, baseURL: String, command: [String], encryptedKey: [UInt8]?, isActive: Bool, createdAtMs: Int64, updatedAtMs: Int64) { self.pk = pk; self.id = id; self.name = name; self.kind = kind; self.baseURL = baseURL; self.command = command; self.encryptedKey = encryptedKey; self.isActive = isActive; self.createdAtMs = createdAtMs; self.updatedAtMs = updatedAtMs }
}

/// A background job as stored. `config` and `results` are serialized protobuf messages owned by
/// the service layer.
public struct JobRecord: Sendable, Hashable {
    public var pk: Int64
    public var id: String
    public var kind: String
    /// `tally.v1.JobStatus` number: 1 pending, 2 running, 3 completed, 4 failed, 5 cancelled.
    public var status: Int
    public var config: [UInt8]
    public var results: [UInt8]?
    public var error: String
    public var experimentID: String
    public var progressCurrent: Int64
    public var progressTotal: Int64
    public var createdAtMs: Int64
    public var startedAtMs: Int64
    public var completedAtMs: Int64
    /// When it last changed: status, progress or results.
    public var updatedAtMs: Int64
    package init(pk: Int64, id: String, kind: String, status: Int, config: [UInt8], results: [UInt8]?, error: String, experimentID: String, progressCurrent: Int64, progressTotal: Int64, createdAtMs: Int64, startedAtMs: Int64, completedAtMs: Int64, updatedAtMs: Int64) { self.pk = pk; self.id = id; self.kind = kind; self.status = status; self.config = config; self.results = results; self.error = error; self.experimentID = experimentID; self.progressCurrent = progressCurrent; self.progressTotal = progressTotal; self.createdAtMs = createdAtMs; self.startedAtMs = startedAtMs; self.completedAtMs = completedAtMs; self.updatedAtMs = updatedAtMs }

    public static let pending = 1
    public static let running = 2
    public static let completed = 3
    public static let failed = 4
    public static let cancelled = 5

    /// Whether the job has reached a terminal status.
    public var isFinished: Bool { status >= Self.completed }
}

/// One stored per-item result of a job.
public struct JobItemRecord: Sendable, Hashable {
    public var model: String
    public var itemID: String
    public var position: Int64
    /// A serialized protobuf message owned by the service layer.
    public var result: [UInt8]
    public var isError: Bool

    public init(model: String, itemID: String, position: Int64, result: [UInt8], isError: Bool) {
        self.model = model
        self.itemID = itemID
        self.position = position
        self.result = result
        self.isError = isError
    }
}
