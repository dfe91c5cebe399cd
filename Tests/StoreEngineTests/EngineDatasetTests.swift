import Foundation
import TallyStore
import Testing

@Suite("Store engines: datasets")
struct EngineDatasetTests {
    static let labels = [LabelRecord(id: "pos", name: "Positive", description: "good"), LabelRecord(id: "neg", name: "Negative", description: "")]

    @Test("datasets are created with labels and items, found by id or name, relabelled and deleted", arguments: Engine.available)
    func lifecycle(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            let items = (0..<12).map { DatasetItemRecord(id: "item-\(11 - $0)", text: "text ✓ \($0)", label: $0 % 3 == 0 ? "neg" : "pos") }
            let created = try await f.store.createDataset(name: "reviews", description: "d", labels: Self.labels, items: items)
            #expect(created.id.count == 16 && created.name == "reviews" && created.description == "d")
            #expect(created.labels == Self.labels)
            #expect(created.itemCount == 12 && created.labelCounts == ["neg": 4, "pos": 8])
            #expect(created.createdAtMs == created.updatedAtMs)
            #expect(try await f.store.dataset(created.id) == created)
            #expect(try await f.store.dataset("reviews") == created)
            #expect(try await f.store.datasetItems("reviews") == items)

            let empty = try await f.store.createDataset(name: "empty", description: "", labels: [], items: [])
            #expect(empty.labels.isEmpty && empty.itemCount == 0 && empty.labelCounts.isEmpty)
            #expect(try await f.store.datasetItems(empty.id).isEmpty)

            let taken = await storeRefusal { try await f.store.createDataset(name: "reviews", description: "", labels: [], items: []) }
            #expect(taken?.code == .alreadyExists)
            #expect(taken?.message == "a dataset named \"reviews\" already exists")
            #expect(taken?.field == "name")

            try await Task.sleep(for: .milliseconds(3))
            let relabelled = try await f.store.updateDatasetLabels("reviews", labels: [
                LabelRecord(id: "neg", name: "Bad", description: "not good"), LabelRecord(id: "pos", name: "Good", description: ""),
            ])
            // Names and descriptions change; the order of the labels stays.
            #expect(relabelled.labels == [LabelRecord(id: "pos", name: "Good", description: ""), LabelRecord(id: "neg", name: "Bad", description: "not good")])
            #expect(relabelled.updatedAtMs > created.updatedAtMs && relabelled.itemCount == 12)
            for labels in [[LabelRecord(id: "pos", name: "x", description: "")], [LabelRecord(id: "pos", name: "x", description: ""), LabelRecord(id: "other", name: "y", description: "")],
                           Self.labels + [LabelRecord(id: "pos", name: "again", description: "")]] {
                let refused = await storeRefusal { try await f.store.updateDatasetLabels(created.id, labels: labels) }
                #expect(refused?.code == .invalidArgument)
                #expect(refused?.message == "labels must keep the dataset's label ids (neg, pos); only names and descriptions change")
                #expect(refused?.field == "labels")
            }
            #expect(try await f.store.dataset(created.id).labels == relabelled.labels)

            try await f.store.deleteDataset("reviews")
            await expectNotFound([
                { _ = try await f.store.dataset("reviews") },
                { _ = try await f.store.datasetItems("reviews") },
                { _ = try await f.store.updateDatasetLabels("reviews", labels: []) },
                { try await f.store.deleteDataset("reviews") },
            ], message: "dataset reviews not found", field: "dataset")
            // The name is free again.
            #expect(try await f.store.createDataset(name: "reviews", description: "", labels: [], items: []).itemCount == 0)
        }
    }

    @Test("datasets list newest first in pages; many items keep their order", arguments: Engine.available)
    func listing(_ engine: Engine) async throws {
        try await EngineFixture.with(engine) { f in
            for index in 0..<5 {
                _ = try await f.store.createDataset(name: "d\(index)", description: "", labels: Self.labels, items: [])
            }
            let first = try await f.store.listDatasets(pageSize: 2, pageToken: "")
            #expect(first.items.map(\.name) == ["d4", "d3"] && first.nextPageToken == "o2" && first.totalCount == 5)
            let last = try await f.store.listDatasets(pageSize: 2, pageToken: "o4")
            #expect(last.items.map(\.name) == ["d0"] && last.nextPageToken == "")
            #expect(try await f.store.listDatasets(pageSize: 0, pageToken: "").items.count == 5)
            #expect(await storeRefusal { try await f.store.listDatasets(pageSize: 0, pageToken: "p1") }?.code == .invalidArgument)
            #expect(await storeRefusal { try await f.store.listDatasets(pageSize: 5000, pageToken: "") }?.code == .invalidArgument)

            let items = (0..<12_345).map { DatasetItemRecord(id: String(format: "%05d", 12_345 - $0), text: "t\($0)", label: $0.isMultiple(of: 2) ? "pos" : "neg") }
            let big = try await f.store.createDataset(name: "big", description: "", labels: Self.labels, items: items)
            #expect(big.itemCount == 12_345 && big.labelCounts == ["pos": 6173, "neg": 6172])
            #expect(try await f.store.datasetItems("big") == items)
        }
    }
}
