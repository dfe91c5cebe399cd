import Crypto
import Foundation
import Testing
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

@Suite("A training loop against the daemon", .serialized)
struct TrainingLoopTests {
    @Test("experiment, nested runs, params, 100,000 points, artifact round trip, search and compare")
    func trainingLoop() async throws {
        try await withDaemon { daemon in
            let client = try await daemon.client()
            defer { Task { await client.close() } }
            let tracking = client.tracking

            var create = CreateExperimentRequest()
            create.name = "resnet-cifar"
            create.metricGoals = ["val_acc": .maximize]
            let experiment = try await tracking.createExperiment(create)

            var startParent = StartRunRequest()
            var ref = ExperimentRef()
            ref.ref = .id(experiment.id)
            startParent.experiment = ref
            startParent.name = "sweep"
            let parent = try await tracking.startRun(startParent)

            var children: [Run] = []
            for (index, lr) in [0.1, 0.01, 0.001, 0.0001].enumerated() {
                var start = StartRunRequest()
                start.experiment = ref
                start.name = "lr-\(lr)"
                start.parentRunId = parent.id
                var value = ParamValue()
                value.kind = .doubleValue(lr)
                var batchSize = ParamValue()
                batchSize.kind = .intValue(128)
                start.params = ["lr": value, "batch": batchSize]
                let run = try await tracking.startRun(start)
                children.append(run)
                // 25,000 points per run in batches of 5,000: loss and val_acc per step.
                for chunk in 0..<5 {
                    var batch = MetricBatch()
                    batch.runId = run.id
                    batch.keys = ["loss", "val_acc"]
                    for i in 0..<2500 {
                        let step = Int64(chunk * 2500 + i)
                        batch.keyIndex += [0, 1]
                        batch.steps += [step, step]
                        let progress = Double(step) / 12_500
                        batch.values += [2.0 / (1 + progress * Double(index + 1)), 0.5 + 0.1 * Double(index) * progress]
                    }
                    #expect(try await tracking.logMetrics(batch).accepted == 5000)
                }
            }

            // Artifact: upload 3 MiB in chunks, then download and verify.
            let content = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
            let digest = SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined()
            let best = children[3]
            let uploaded = try await tracking.uploadArtifact { writer in
                var header = ArtifactHeader()
                header.runId = best.id
                header.name = "model.pt"
                header.type = .model
                header.expectedSha256 = digest
                header.aliases = ["best"]
                var first = UploadArtifactRequest()
                first.part = .header(header)
                try await writer.write(first)
                for offset in stride(from: 0, to: content.count, by: 1 << 20) {
                    var chunk = UploadArtifactRequest()
                    chunk.part = .chunk(Array(content[offset..<min(offset + (1 << 20), content.count)]))
                    try await writer.write(chunk)
                }
            }
            #expect(uploaded.sha256 == digest)
            #expect(uploaded.version == 1)
            var download = DownloadArtifactRequest()
            var artifactRef = ArtifactRef()
            artifactRef.experimentId = experiment.id
            artifactRef.name = "model.pt"
            artifactRef.alias = "best"
            download.artifact = artifactRef
            var received: [UInt8] = []
            var record: Artifact?
            for try await part in try await tracking.downloadArtifact(download) {
                switch part.part {
                case .artifact(let artifact)?: record = artifact
                case .chunk(let bytes)?: received += bytes
                case .file?: Issue.record("a file part in a file's download")
                case nil: break
                }
            }
            #expect(record?.id == uploaded.id)
            #expect(received == content)
            #expect(SHA256.hash(data: received).map { String(format: "%02x", $0) }.joined() == digest)

            for run in children + [parent] {
                var end = EndRunRequest()
                end.runId = run.id
                end.status = .completed
                _ = try await tracking.endRun(end)
            }

            var search = SearchRunsRequest()
            search.experimentIds = [experiment.id]
            search.filter = "params.lr < 0.05 and metrics.val_acc.max >= 0.6 and status = \"completed\""
            search.orderBy = ["metrics.val_acc desc"]
            let found = try await tracking.searchRuns(search)
            #expect(found.runs.map(\.id) == [children[3].id, children[2].id])
            #expect(found.runs[0].metrics.first { $0.key == "loss" }?.count == 12_500)

            var compare = CompareRunsRequest()
            compare.runIds = children.map(\.id)
            let comparison = try await tracking.compareRuns(compare)
            let valAcc = try #require(comparison.metrics.first { $0.key == "val_acc" })
            #expect(valAcc.bestRunId == children[3].id)
            let loss = try #require(comparison.metrics.first { $0.key == "loss" })
            #expect(loss.goal == .minimize)
            #expect(loss.bestRunId == children[3].id)
            #expect(comparison.params.first { $0.key == "lr" }?.differs == true)
            #expect(comparison.params.first { $0.key == "batch" }?.differs == false)

            var children2 = ListRunsRequest()
            children2.parentRunId = parent.id
            #expect(try await tracking.listRuns(children2).totalCount == 4)
            var history = GetMetricHistoryRequest()
            history.runId = children[0].id
            history.keys = ["loss"]
            history.maxPoints = 500
            var points = 0
            for try await chunk in try await tracking.getMetricHistory(history) { points += chunk.values.count }
            #expect(points > 0 && points <= 500)
        }
    }
}
