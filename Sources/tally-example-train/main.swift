// A training loop written against TallyClient: an experiment, a parent run with four child runs
// (one per learning rate), params, 100,000 metric points, and a model artifact uploaded and
// downloaded again with its SHA-256 verified. Run it against a daemon:
//
//     swift run tally-example-train [--socket PATH]
import Crypto
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

func hex(_ digest: some Sequence<UInt8>) -> String {
    digest.map { String(format: "%02x", $0) }.joined()
}

let arguments = CommandLine.arguments
let socket = arguments.firstIndex(of: "--socket").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }

do {
    let client = try await TallyClient.connect(socketPath: socket, clientName: "tally-example-train")
    let tracking = client.tracking

    var create = CreateExperimentRequest()
    create.name = "resnet-cifar"
    create.description = "learning-rate sweep of a toy model"
    create.metricGoals = ["val_acc": .maximize, "loss": .minimize]
    create.getIfExists = true
    let experiment = try await tracking.createExperiment(create)
    var reference = ExperimentRef()
    reference.ref = .id(experiment.id)

    var startParent = StartRunRequest()
    startParent.experiment = reference
    startParent.name = "lr-sweep"
    let parent = try await tracking.startRun(startParent)
    print("experiment \(experiment.name) (\(experiment.id)), parent run \(parent.id)")

    var children: [Run] = []
    for (index, lr) in [0.1, 0.01, 0.001, 0.0001].enumerated() {
        var start = StartRunRequest()
        start.experiment = reference
        start.name = "lr-\(lr)"
        start.parentRunId = parent.id
        var learningRate = ParamValue()
        learningRate.kind = .doubleValue(lr)
        var batch = ParamValue()
        batch.kind = .intValue(128)
        var optimizer = ParamValue()
        optimizer.kind = .stringValue("adam")
        start.params = ["lr": learningRate, "batch": batch, "optimizer": optimizer]
        let run = try await tracking.startRun(start)
        children.append(run)

        // 12,500 steps of loss and val_acc: 25,000 points per run, sent in batches of 5,000.
        let clock = ContinuousClock.now
        for chunk in 0..<5 {
            var points = MetricBatch()
            points.runId = run.id
            points.keys = ["loss", "val_acc"]
            for i in 0..<2500 {
                let step = Int64(chunk * 2500 + i)
                let progress = Double(step) / 12_500
                let quality = [0.55, 0.8, 0.95, 0.7][index]
                points.keyIndex += [0, 1]
                points.steps += [step, step]
                points.values += [2.3 * exp(-3 * progress * quality), 0.1 + quality * 0.85 * (1 - exp(-4 * progress))]
            }
            _ = try await tracking.logMetrics(points)
        }
        let elapsed = ContinuousClock.now - clock
        print("run \(run.name) (\(run.id)): 25,000 points acknowledged in \(elapsed.formatted(.units(allowed: [.milliseconds])))")
    }

    // The best child saves a model: upload in 1 MiB chunks with the expected hash, then download.
    let model = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 13) }
    let digest = hex(SHA256.hash(data: model))
    let best = children[2]
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
        for offset in stride(from: 0, to: model.count, by: 1 << 20) {
            var chunk = UploadArtifactRequest()
            chunk.part = .chunk(Array(model[offset..<min(offset + (1 << 20), model.count)]))
            try await writer.write(chunk)
        }
    }
    print("uploaded model.pt v\(uploaded.version) (\(uploaded.size) bytes, sha256 \(uploaded.sha256.prefix(12))…)")

    var download = DownloadArtifactRequest()
    var artifactRef = ArtifactRef()
    artifactRef.experimentId = experiment.id
    artifactRef.name = "model.pt"
    artifactRef.alias = "best"
    download.artifact = artifactRef
    var received: [UInt8] = []
    for try await part in try await tracking.downloadArtifact(download) {
        if case .chunk(let bytes)? = part.part { received += bytes }
    }
    let verified = hex(SHA256.hash(data: received)) == digest && received == model
    print("downloaded model.pt@best: \(received.count) bytes, hash \(verified ? "verified" : "MISMATCH")")

    for run in children + [parent] {
        var end = EndRunRequest()
        end.runId = run.id
        end.status = .completed
        _ = try await tracking.endRun(end)
    }
    print("ended \(children.count + 1) runs; find the best with `tally runs search` and `tally compare`")
    await client.close()
    if !verified { exit(1) }
} catch {
    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
    exit(1)
}
