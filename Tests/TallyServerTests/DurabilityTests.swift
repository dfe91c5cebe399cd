import Foundation
import Synchronization
import Testing
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC
import TallyStore

@Suite("Durability: SIGKILL of the real daemon", .serialized)
struct DurabilityTests {
    func startRun(_ client: TallyClient, experiment: String) async throws -> Run {
        var request = StartRunRequest()
        var ref = ExperimentRef()
        ref.ref = .name(experiment)
        request.experiment = ref
        request.createExperiment = true
        return try await client.tracking.startRun(request)
    }

    func batch(run: String, from start: Int, count: Int) -> MetricBatch {
        var batch = MetricBatch()
        batch.runId = run
        batch.keys = ["loss", "acc"]
        batch.keyIndex = (0..<count).map { UInt32($0 % 2) }
        batch.values = (0..<count).map { Double(start + $0) }
        batch.steps = (0..<count).map { Int64((start + $0) / 2) }
        return batch
    }

    func pointCount(_ client: TallyClient, run: String) async throws -> UInt64 {
        var get = GetRunRequest()
        get.runId = run
        return try await client.tracking.getRun(get).metrics.reduce(0) { $0 + $1.count }
    }

    /// Uploads `bytes` as an artifact of `run`; returns the acknowledged artifact's id.
    func upload(_ client: TallyClient, run: String, bytes: [UInt8], sha256: String) async throws -> String {
        try await client.tracking.uploadArtifact { writer in
            var header = ArtifactHeader()
            header.runId = run
            header.name = "checkpoint.bin"
            header.expectedSha256 = sha256
            var first = UploadArtifactRequest()
            first.part = .header(header)
            try await writer.write(first)
            for offset in stride(from: 0, to: bytes.count, by: 256 << 10) {
                var chunk = UploadArtifactRequest()
                chunk.part = .chunk(Array(bytes[offset..<min(offset + (256 << 10), bytes.count)]))
                try await writer.write(chunk)
            }
        }.id
    }

    /// Kill points: 4 by default, `TALLY_KILL_ROUNDS` for a long run (`scripts/crash-test`).
    static var rounds: Int {
        ProcessInfo.processInfo.environment["TALLY_KILL_ROUNDS"].flatMap(Int.init) ?? 4
    }

    @Test("every acknowledged point, param, status and artifact survives kill -9 at random moments under load")
    func killUnderLoad() async throws {
        let directory = try TestDaemon.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/tally.sock"
        let home = directory + "/home"
        var acknowledged: [String: Int] = [:]
        var ended: [String] = []
        var artifacts: [String: String] = [:]  // id → sha256
        var rng = SystemRandomNumberGenerator()
        for round in 0..<Self.rounds {
            let daemon = try DaemonProcess(socketPath: socket, home: home)
            let client = try await daemon.waitUntilReady()
            // Everything acknowledged in earlier rounds is still there.
            for (run, count) in acknowledged {
                #expect(try await pointCount(client, run: run) >= UInt64(count), "round \(round): run \(run) lost points")
            }
            for run in ended {
                var get = GetRunRequest()
                get.runId = run
                #expect(try await client.tracking.getRun(get).status == .completed)
            }
            var runs: [Run] = []
            for _ in 0..<4 { runs.append(try await startRun(client, experiment: "durability")) }
            var params = LogParamsRequest()
            params.runId = runs[0].id
            var value = ParamValue()
            value.kind = .intValue(Int64(round))
            params.params = ["round": value]
            _ = try await client.tracking.logParams(params)
            _ = await { () async -> Void in
                var end = EndRunRequest()
                end.runId = runs[3].id
                end.status = .completed
                if (try? await client.tracking.endRun(end)) != nil { ended.append(runs[3].id) }
            }()
            for (id, sha256) in artifacts {
                #expect(try await download(client, id) == sha256, "round \(round): artifact \(id) lost or damaged")
            }
            // Three writers log, and an uploader uploads checkpoints, until the daemon dies under
            // them: once every writer has had a batch acknowledged, at a random moment.
            let acknowledgedBatches = AckCounter()
            let uploads = Task { [runs] in
                var done: [String: String] = [:]
                guard let uploader = try? await TallyClient.connect(socketPath: socket) else { return done }
                var generator = SystemRandomNumberGenerator()
                while true {
                    // 512 KiB of random content, in two chunks.
                    let words = (0..<(64 << 10)).map { _ in generator.next() as UInt64 }
                    let bytes = words.withUnsafeBytes { Array($0) }
                    let sha256 = Blobs.sha256(of: bytes)
                    guard let id = try? await self.upload(uploader, run: runs[0].id, bytes: bytes, sha256: sha256) else { return done }
                    if done.isEmpty { acknowledgedBatches.increment() }
                    done[id] = sha256
                }
            }
            let counts = await withTaskGroup(of: (String, Int).self) { group in
                for run in runs.prefix(3) {
                    group.addTask {
                        guard let writer = try? await TallyClient.connect(socketPath: socket) else { return (run.id, 0) }
                        var acked = 0
                        while true {
                            do {
                                _ = try await writer.tracking.logMetrics(self.batch(run: run.id, from: acked, count: 500))
                                if acked == 0 { acknowledgedBatches.increment() }
                                acked += 500
                            } catch {
                                return (run.id, acked)
                            }
                        }
                    }
                }
                for _ in 0..<600 where acknowledgedBatches.value < 4 {
                    try? await Task.sleep(for: .milliseconds(10))
                }
                try? await Task.sleep(for: .milliseconds(Int.random(in: 20...300, using: &rng)))
                daemon.kill9()
                return await group.reduce(into: [(String, Int)]()) { $0.append($1) }
            }
            for (run, count) in counts { acknowledged[run] = count }
            artifacts.merge(await uploads.value) { $1 }
            #expect(counts.allSatisfy { $0.1 > 0 }, "a writer had nothing acknowledged before the kill")
            await client.close()
        }
        // Final restart: check everything and the file's integrity.
        let daemon = try DaemonProcess(socketPath: socket, home: home)
        let client = try await daemon.waitUntilReady()
        for (run, count) in acknowledged {
            let stored = try await pointCount(client, run: run)
            #expect(stored >= UInt64(count))
            // Stored points are whole batches: a commit never lands half.
            #expect(stored % 500 == 0)
        }
        for (id, sha256) in artifacts {
            #expect(try await download(client, id) == sha256)
        }
        await client.close()
        daemon.terminate()
        let store = try Store(path: home + "/tally.sqlite")
        #expect(try await store.integrityCheck())
        try store.close()
        // No blob is half-written: every stored file has the content its name says, and the
        // uploads cut off by the kills left no temporary file once the daemon restarted.
        #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/artifacts/tmp").isEmpty)
        let blobs = try FolderBlobStore(directory: home + "/artifacts")
        for name in try blobs.storedBlobs() {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: blobs.path(sha256: name))))
            #expect(Blobs.sha256(of: bytes) == name)
        }
        #expect(!artifacts.isEmpty, "no artifact upload was acknowledged before a kill")
    }

    /// Downloads an artifact (verified by the daemon as it reads) and hashes what arrived.
    func download(_ client: TallyClient, _ id: String) async throws -> String {
        var request = DownloadArtifactRequest()
        var ref = ArtifactRef()
        ref.artifactId = id
        request.artifact = ref
        var bytes: [UInt8] = []
        for try await part in try await client.tracking.downloadArtifact(request) {
            if case .chunk(let chunk)? = part.part { bytes += chunk }
        }
        return Blobs.sha256(of: bytes)
    }
}

/// Counts writers that had a first batch acknowledged.
final class AckCounter: Sendable {
    private let count = Synchronization.Atomic<Int>(0)
    func increment() { count.wrappingAdd(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
