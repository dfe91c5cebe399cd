import Crypto
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC
#if canImport(Glibc)
import Glibc
#endif

private func hex(_ digest: some Sequence<UInt8>) -> String {
    digest.map { String(format: "%02x", $0) }.joined()
}

/// Writes `size` bytes of pseudo-random content (incompressible, not sparse) to `path`.
private func makeFile(path: String, size: Int) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var generator = SplitMix(seed: 7)
    var block = [UInt64](repeating: 0, count: (1 << 20) / 8)
    var written = 0
    while written < size {
        for i in block.indices { block[i] = generator.next() }
        let count = min(1 << 20, size - written)
        let n = block.withUnsafeBytes { write(fd, $0.baseAddress, count) }
        guard n == count else { throw POSIXError(.EIO) }
        written += count
    }
    fsync(fd)
}

/// Runs a command, waits, and returns its wall time in seconds.
@discardableResult
private func timeCommand(_ arguments: [String]) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    let start = now()
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(arguments.joined(separator: " ")) failed"])
    }
    return now() - start
}


/// Artifact upload and download of a large file with hashing and fsync, against
/// `sha256sum FILE && cp FILE COPY && sync COPY` (coreutils; sync of one file is its fsync).
func benchArtifacts(report: Report, daemon: DaemonProcess, directory: String, sizeMiB: Int) async throws {
    let size = sizeMiB << 20
    let source = directory + "/artifact.bin"
    log("artifacts: writing a \(sizeMiB) MiB file")
    try makeFile(path: source, size: size)

    // Baseline, twice; the faster counts.
    var baseline = Double.infinity
    for attempt in 0..<2 {
        let copy = directory + "/artifact-copy-\(attempt).bin"
        let hashing = try timeCommand(["sha256sum", source])
        let copying = try timeCommand(["cp", source, copy])
        let syncing = try timeCommand(["sync", copy])
        baseline = min(baseline, hashing + copying + syncing)
        try? FileManager.default.removeItem(atPath: copy)
    }
    let baselineRate = Double(size) / baseline

    let client = try await daemon.waitUntilReady()
    defer { Task { await client.close() } }
    let run = try await startRun(client, experiment: "artifacts", name: "upload")

    // Upload: read the file in 1 MiB chunks, hash them, send them; the daemon hashes, writes,
    // fsyncs and records the version before it answers.
    log("artifacts: upload")
    let chunk = 1 << 20
    let hasher = LockedHasher()
    let uploadStart = now()
    let artifact = try await client.tracking.uploadArtifact { writer in
        var header = ArtifactHeader()
        header.runId = run.id
        header.name = "big.bin"
        header.type = .model
        var first = UploadArtifactRequest()
        first.part = .header(header)
        try await writer.write(first)
        let fd = open(source, O_RDONLY)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunk) }
            if n <= 0 { break }
            let bytes = n == chunk ? buffer : Array(buffer[0..<n])
            hasher.update(bytes)
            var message = UploadArtifactRequest()
            message.part = .chunk(bytes)
            try await writer.write(message)
        }
    }
    let uploadTime = now() - uploadStart
    let localHash = hasher.finish()
    guard artifact.sha256 == localHash, artifact.size == UInt64(size) else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "upload stored \(artifact.size) bytes hashing to \(artifact.sha256), expected \(localHash)"])
    }

    // Download: receive, hash, write to a file, fsync it.
    log("artifacts: download")
    let target = directory + "/artifact-download.bin"
    var download = DownloadArtifactRequest()
    var reference = ArtifactRef()
    reference.artifactId = artifact.id
    download.artifact = reference
    let downloadStart = now()
    let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var downloadHasher = SHA256()
    var received = 0
    for try await part in try await client.tracking.downloadArtifact(download) {
        if case .chunk(let bytes)? = part.part {
            downloadHasher.update(data: bytes)
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n == bytes.count else { throw POSIXError(.EIO) }
            received += n
        }
    }
    fsync(fd)
    close(fd)
    let downloadTime = now() - downloadStart
    guard received == size, hex(downloadHasher.finalize()) == localHash else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "download did not match"])
    }
    try? FileManager.default.removeItem(atPath: target)
    try? FileManager.default.removeItem(atPath: source)

    let mb = 1_048_576.0
    let up = Double(size) / uploadTime
    let down = Double(size) / downloadTime
    report.add(Figure(
        name: "Artifact upload, \(sizeMiB) MiB, hashed on both sides, fsync",
        value: fmt(up / mb) + " MiB/s", baseline: fmt(baselineRate / mb) + " MiB/s sha256sum + cp + sync",
        ratio: ratio(up / baselineRate), target: ">= 0.5x", met: up / baselineRate >= 0.5))
    report.add(Figure(
        name: "Artifact download, \(sizeMiB) MiB, verified, written and fsynced",
        value: fmt(down / mb) + " MiB/s", baseline: fmt(baselineRate / mb) + " MiB/s sha256sum + cp + sync",
        ratio: ratio(down / baselineRate), target: ">= 0.5x", met: down / baselineRate >= 0.5))
}

/// SHA-256 updated from inside a `@Sendable` closure.
final class LockedHasher: @unchecked Sendable {
    private var hasher = SHA256()
    private let lock = NSLock()
    func update(_ bytes: [UInt8]) { lock.withLock { hasher.update(data: bytes) } }
    func finish() -> String { lock.withLock { hex(hasher.finalize()) } }
}
