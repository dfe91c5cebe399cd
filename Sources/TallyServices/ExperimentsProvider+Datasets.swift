import Foundation
public import TallyProto
public import TallyRPC
import TallyStore

extension ExperimentsProvider {
    /// Longest item text, in characters.
    static let maxItemTextLength = 100_000
    /// Most items in one dataset.
    static let maxDatasetItems = 1_000_000

    public func createDataset(request: CreateDatasetRequest, context: ServerContext) async throws -> Dataset {
        guard !request.name.isEmpty, request.name.count <= 256 else {
            throw invalid("dataset name must be 1 to 256 characters", field: "name")
        }
        var items = request.items.map { DatasetItemRecord(id: $0.id, text: $0.text, label: $0.label) }
        if let reference = request.artifact {
            guard items.isEmpty else {
                throw invalid("give inline items or an artifact, not both", field: "artifact")
            }
            items = try await itemsFromArtifact(reference)
        }
        guard !items.isEmpty else { throw invalid("a dataset needs at least one item", field: "items") }
        guard items.count <= Self.maxDatasetItems else {
            throw invalid("a dataset holds at most \(Self.maxDatasetItems) items, got \(items.count)", field: "items")
        }
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            guard !item.id.isEmpty, item.id.count <= 256 else { throw invalid("item \(index): id must be 1 to 256 characters", field: "items") }
            guard seen.insert(item.id).inserted else { throw invalid("item id \"\(item.id)\" appears twice", field: "items") }
            guard !item.text.isEmpty, item.text.count <= Self.maxItemTextLength else {
                throw invalid("item \"\(item.id)\": text must be 1 to \(Self.maxItemTextLength) characters", field: "items")
            }
            guard !item.label.isEmpty else { throw invalid("item \"\(item.id)\" has no label", field: "items") }
        }
        var labels = request.labels.map { LabelRecord(id: $0.id, name: $0.name.isEmpty ? $0.id : $0.name, description: $0.description) }
        if labels.isEmpty {
            var ordered: [String] = []
            var known = Set<String>()
            for item in items where known.insert(item.label).inserted { ordered.append(item.label) }
            labels = ordered.map { LabelRecord(id: $0, name: $0, description: "") }
        }
        var labelIDs = Set<String>()
        for label in labels {
            guard !label.id.isEmpty, label.id.count <= 128 else { throw invalid("label ids must be 1 to 128 characters", field: "labels") }
            guard labelIDs.insert(label.id).inserted else { throw invalid("label id \"\(label.id)\" appears twice", field: "labels") }
        }
        if let stray = items.first(where: { !labelIDs.contains($0.label) }) {
            throw invalid("item \"\(stray.id)\" has label \"\(stray.label)\", which is not in the label set", field: "items")
        }
        let record = try await mapStoreErrors {
            try await store.createDataset(name: request.name, description: request.description, labels: labels, items: items)
        }
        return Dataset(record)
    }

    /// Reads a JSONL artifact of {"id", "text", "label"} objects.
    private func itemsFromArtifact(_ reference: ArtifactRef) async throws -> [DatasetItemRecord] {
        let content = try await mapStoreErrors { () -> Data in
            let artifact = try await store.artifact(TrackingProvider.artifactReference(reference))
            return try await blobs.read(sha256: artifact.sha256, size: artifact.size)
        }
        var items: [DatasetItemRecord] = []
        for (number, line) in content.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed)) as? [String: Any] else {
                throw invalid("artifact line \(number + 1) is not a JSON object", field: "artifact")
            }
            let id = (object["id"] as? String) ?? (object["id"] as? NSNumber).map { $0.stringValue }
            guard let id, let text = object["text"] as? String, let label = object["label"] as? String else {
                throw invalid("artifact line \(number + 1) needs string fields \"id\", \"text\" and \"label\"", field: "artifact")
            }
            items.append(DatasetItemRecord(id: id, text: text, label: label))
        }
        return items
    }

    public func getDataset(request: GetDatasetRequest, context: ServerContext) async throws -> Dataset {
        Dataset(try await mapStoreErrors { try await store.dataset(request.dataset) })
    }

    public func listDatasets(request: ListDatasetsRequest, context: ServerContext) async throws -> ListDatasetsResponse {
        let page = try await mapStoreErrors { try await store.listDatasets(pageSize: Int(request.pageSize), pageToken: request.pageToken) }
        var response = ListDatasetsResponse()
        response.datasets = page.items.map(Dataset.init)
        response.nextPageToken = page.nextPageToken
        response.totalCount = UInt64(page.totalCount)
        return response
    }

    public func updateDatasetLabels(request: UpdateDatasetLabelsRequest, context: ServerContext) async throws -> Dataset {
        let labels = request.labels.map { LabelRecord(id: $0.id, name: $0.name.isEmpty ? $0.id : $0.name, description: $0.description) }
        return Dataset(try await mapStoreErrors { try await store.updateDatasetLabels(request.dataset, labels: labels) })
    }

    public func deleteDataset(request: DeleteDatasetRequest, context: ServerContext) async throws -> DeleteDatasetResponse {
        try await mapStoreErrors { try await store.deleteDataset(request.dataset) }
        return DeleteDatasetResponse()
    }

    func invalid(_ message: String, field: String) -> RPCError {
        StoreError(code: .invalidArgument, message: message, field: field).rpcError
    }
}

extension Dataset {
    init(_ record: DatasetRecord) {
        self.init()
        id = record.id
        name = record.name
        description = record.description
        labels = record.labels.map(Label.init)
        itemCount = UInt64(record.itemCount)
        labelCounts = record.labelCounts.mapValues { UInt64($0) }
        createdAtMs = record.createdAtMs
        updatedAtMs = record.updatedAtMs
    }
}

extension Label {
    init(_ record: LabelRecord) {
        self.init()
        id = record.id
        name = record.name
        description = record.description
    }
}
