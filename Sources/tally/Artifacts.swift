import ArgumentParser
import Crypto
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

#if canImport(Glibc)
import Glibc
#endif

struct Artifacts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts",
        abstract: "List, upload, download, alias and delete artifact versions.",
        subcommands: [List.self, Put.self, Get.self, Alias.self, Remove.self],
        aliases: ["artifact"]
    )

    /// Bytes per upload message (each must fit in a frame of 4 MiB).
    static let chunkSize = 1 << 20

    static func table(_ artifacts: [Artifact], showRun: Bool = true) -> Table {
        var headers = ["ID", "NAME", "VERSION", "TYPE", "SIZE", "ALIASES", "SHA256", "CREATED"]
        if showRun { headers.insert("RUN", at: 6) }
        var table = Table(headers, numeric: ["VERSION", "SIZE"])
        for a in artifacts {
            let size = a.folder ? "\(Format.size(a.filesSize)) in \(a.fileCount) files" : Format.size(a.size)
            var row = [a.id, a.name, String(a.version), Format.artifactType(a.type), size,
                       a.aliases.joined(separator: ","), Format.short(a.sha256), Format.time(ms: a.createdAtMs)]
            if showRun { row.insert(a.runId, at: 6) }
            table.add(row)
        }
        return table
    }

    static func describe(_ a: Artifact) -> String {
        if a.folder {
            let files = a.fileCount == 1 ? "1 file" : "\(a.fileCount) files"
            return "\(a.name) v\(a.version) (\(a.id), a folder of \(files), \(Format.size(a.filesSize)), manifest sha256 \(Format.short(a.sha256)))"
        }
        return "\(a.name) v\(a.version) (\(a.id), \(Format.size(a.size)), sha256 \(Format.short(a.sha256)))"
    }

    /// Names one artifact version: an id, or an experiment or a run and a name with a version or
    /// alias.
    struct Reference: ParsableArguments {
        @Argument(help: ArgumentHelp("The artifact version's id (or give --experiment or --run, and --name).", valueName: "artifact-id"))
        var artifactId: String?

        @Option(help: ArgumentHelp("The experiment (id or name) the artifact belongs to.", valueName: "id|name"), completion: Completion.experiments)
        var experiment: String?

        @Option(help: ArgumentHelp("The run that logged it (its latest version of the name, unless --version or --alias).", valueName: "run"), completion: Completion.runs)
        var run: String?

        @Option(help: "The artifact's name.")
        var name: String?

        @Option(help: "A version number (default: latest).")
        var version: UInt32?

        @Option(help: ArgumentHelp("An alias instead of a version number (\"latest\", \"best\", …).", valueName: "alias"))
        var alias: String?

        func validate() throws {
            if artifactId != nil {
                if experiment != nil || run != nil || name != nil || version != nil || alias != nil {
                    throw ValidationError("give either an artifact id or --experiment (or --run) and --name, not both")
                }
            } else {
                guard (experiment != nil) != (run != nil), name != nil else {
                    throw ValidationError("give an artifact id, or --name with one of --experiment and --run")
                }
                if version != nil && alias != nil { throw ValidationError("--version and --alias cannot be combined") }
                if version == 0 { throw ValidationError("--version starts at 1") }
            }
        }

        func resolve(_ c: TallyClient, _ options: CallOptions) async throws -> ArtifactRef {
            var ref = ArtifactRef()
            if let artifactId {
                ref.artifactId = artifactId
            } else if let run, let name {
                ref.runId = try await c.tracking.runID(run, options: options)
                ref.name = name
                ref.version = version ?? 0
                ref.alias = alias ?? ""
            } else if let experiment, let name {
                ref.experimentId = try await c.tracking.experiment(experiment, options: options).id
                ref.name = name
                ref.version = version ?? 0
                ref.alias = alias ?? ""
            }
            return ref
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List the artifact versions of a run or an experiment, by name and version.",
            aliases: ["list"]
        )

        @OptionGroup var client: ClientOptions

        @Option(help: ArgumentHelp("The run that produced them.", valueName: "run"), completion: Completion.runs)
        var run: String?

        @Option(help: ArgumentHelp("Every version in this experiment (id or name).", valueName: "id|name"), completion: Completion.experiments)
        var experiment: String?

        @Option(help: "Only versions of this name.")
        var name: String?

        func validate() throws {
            if (run == nil) == (experiment == nil) { throw ValidationError("give exactly one of --run and --experiment") }
        }

        func run() async throws {
            let response = try await client.withClient("artifacts") { c in
                var request = ListArtifactsRequest()
                if let run { request.runId = try await c.tracking.runID(run, options: client.unary) }
                if let experiment { request.experimentId = try await c.tracking.experiment(experiment, options: client.unary).id }
                request.name = name ?? ""
                return try await c.tracking.listArtifacts(request, options: client.unary)
            }
            if client.json {
                printJSON(response)
            } else {
                Artifacts.table(response.artifacts, showRun: run == nil).print()
            }
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a file or a folder as a new version of an artifact of a running run.",
            discussion: """
                The file is streamed in 1 MiB chunks with its SHA-256, computed first, as the expected hash.
                A folder is uploaded as one version: every file below it, each with its own SHA-256, stored once
                however many versions contain it. Links to files count as the file; links to folders are not
                followed; empty folders are not kept.
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The run's id or EXPERIMENT/RUN_NAME (it must be running).", completion: Completion.runs)
        var run: String

        @Argument(help: "The file or folder to upload.", completion: .file())
        var file: String

        @Option(help: "The artifact's name (default: the file's or folder's name).")
        var name: String?

        @Option(help: ArgumentHelp("Kind of artifact.", valueName: "model|dataset|figure|other"))
        var type: String = "other"

        @Option(help: ArgumentHelp("An alias to point at the new version; repeatable.", valueName: "alias"))
        var alias: [String] = []

        @Option(help: ArgumentHelp("A metadata entry; repeatable.", valueName: "K=V"))
        var meta: [String] = []

        func validate() throws {
            guard ["model", "dataset", "figure", "other"].contains(type.lowercased()) else {
                throw ValidationError("--type must be model, dataset, figure or other, not \"\(type)\"")
            }
        }

        func run() async throws {
            var header = ArtifactHeader()
            header.runId = run
            header.name = name ?? URL(fileURLWithPath: file).standardizedFileURL.lastPathComponent
            header.type = switch type.lowercased() {
            case "model": .model
            case "dataset": .dataset
            case "figure": .figure
            default: .other
            }
            header.aliases = alias
            header.metadata = try pairs(meta, option: "--meta")
            let folder = LocalFolder.isFolder(file) ? try LocalFolder(file) : nil
            if folder != nil {
                header.folder = true
            } else {
                header.expectedSha256 = try Self.sha256(of: file)
            }
            let path = file
            let artifact = try await client.withClient("artifacts") { [header] c in
                var header = header
                header.runId = try await c.tracking.runID(header.runId, options: client.unary)
                return try await c.tracking.uploadArtifact(options: client.streaming) { [header] writer in
                    var first = UploadArtifactRequest()
                    first.part = .header(header)
                    try await writer.write(first)
                    if let folder {
                        for file in folder.files {
                            var part = ArtifactFile()
                            part.path = file.relativePath
                            part.size = file.size
                            part.sha256 = file.sha256
                            var message = UploadArtifactRequest()
                            message.part = .file(part)
                            try await writer.write(message)
                            try await Self.send(file.path, to: writer)
                        }
                        return
                    }
                    try await Self.send(path, to: writer)
                }
            }
            if client.json {
                printJSON(artifact)
            } else {
                print(("uploaded \(Artifacts.describe(artifact))").terminalSafe)
            }
        }

        /// Streams a file's content as chunk parts.
        static func send(_ path: String, to writer: RequestWriter<UploadArtifactRequest>) async throws {
                    let handle = try Self.open(path)
                    defer { try? handle.close() }
                    while let data = try handle.read(upToCount: Artifacts.chunkSize), !data.isEmpty {
                        var chunk = UploadArtifactRequest()
                        chunk.part = .chunk(Array(data))
                        try await writer.write(chunk)
                    }
        }

        static func open(_ path: String) throws -> FileHandle {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ValidationErrorMessage(message: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            return handle
        }

        static func sha256(of path: String) throws -> String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationErrorMessage(message: "no such file: \(path)")
            }
            let handle = try open(path)
            defer { try? handle.close() }
            var hasher = SHA256()
            while let data = try handle.read(upToCount: Artifacts.chunkSize), !data.isEmpty {
                hasher.update(data: data)
            }
            return hex(hasher.finalize())
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download an artifact version to a file (or a folder version to a folder), verifying its SHA-256.",
            discussion: """
                The content goes to a temporary file next to the output, is checked against the recorded size and SHA-256,
                then renamed into place; on any error nothing is left behind. A folder version is restored the same way:
                into a temporary folder, every file checked, then renamed into place. An existing file or folder is kept
                unless --force.
                """
        )

        @OptionGroup var client: ClientOptions

        @OptionGroup var reference: Reference

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write: a file, a folder, or - for standard output (default: the last part of the artifact's name, here).", valueName: "path"))
        var output: String?

        @Flag(help: "Replace an existing file.")
        var force = false

        func run() async throws {
            if output == "-" {
                try await toStandardOutput()
                return
            }
            if let output, !force, !isDirectory(output), FileManager.default.fileExists(atPath: output) {
                throw ValidationErrorMessage(message: "\(output) exists; use --force to replace it")
            }
            let (artifact, destination) = try await client.withClient("artifacts") { (c: TallyClient) async throws -> (Artifact, String) in
                let ref = try await reference.resolve(c, client.unary)
                var request = DownloadArtifactRequest()
                request.artifact = ref
                var download: Download?
                var folder: FolderDownload?
                do {
                    for try await message in try await c.tracking.downloadArtifact(request, options: client.streaming) {
                        switch message.part {
                        case .artifact(let a)?:
                            if a.folder {
                                folder = try FolderDownload(artifact: a, destination: try outputPath(for: a), force: force)
                            } else {
                                download = try Download(artifact: a, destination: try outputPath(for: a), force: force)
                            }
                        case .file(let file)?:
                            guard let folder else { throw RPCError(code: .internalError, message: "a file part outside a folder") }
                            try folder.start(file)
                        case .chunk(let bytes)?:
                            if let folder {
                                try folder.write(bytes)
                            } else if let download {
                                try download.write(bytes)
                            } else {
                                throw RPCError(code: .internalError, message: "content before the artifact's record")
                            }
                        case nil:
                            break
                        }
                    }
                    if let folder {
                        try folder.finish()
                        return (folder.artifact, folder.destination)
                    }
                    guard let download else { throw RPCError(code: .internalError, message: "the daemon sent no artifact record") }
                    try download.finish()
                    return (download.artifact, download.destination)
                } catch {
                    download?.discard()
                    folder?.discard()
                    throw error
                }
            }
            if client.json {
                printJSON(artifact)
            } else {
                print(("downloaded \(Artifacts.describe(artifact)) to \(destination)").terminalSafe)
            }
        }

        func isDirectory(_ path: String) -> Bool {
            var flag: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
        }

        /// Where the artifact goes: `output` itself, or inside it when it is a folder or ends with
        /// "/"; missing folders are created.
        func outputPath(for artifact: Artifact) throws -> String {
            let base = String(artifact.name.split(separator: "/").last ?? Substring(artifact.name))
            guard let output else { return base }
            if isDirectory(output) || output.hasSuffix("/") {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                return URL(fileURLWithPath: output).appendingPathComponent(base).path
            }
            let parent = (output as NSString).deletingLastPathComponent
            if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            return output
        }

        func toStandardOutput() async throws {
            try await client.withClient("artifacts") { c in
                let ref = try await reference.resolve(c, client.unary)
                var request = DownloadArtifactRequest()
                request.artifact = ref
                var hasher = SHA256()
                var expected = ""
                for try await message in try await c.tracking.downloadArtifact(request, options: client.streaming) {
                    switch message.part {
                    case .artifact(let a)?:
                        if a.folder {
                            throw ValidationErrorMessage(message: "\(a.name) v\(a.version) is a folder; download it to a path (-o PATH)")
                        }
                        expected = a.sha256
                    case .file?:
                        throw RPCError(code: .internalError, message: "a file part outside a folder")
                    case .chunk(let bytes)?:
                        hasher.update(data: bytes)
                        FileHandle.standardOutput.write(Data(bytes))
                    case nil: break
                    }
                }
                let actual = hex(hasher.finalize())
                if actual != expected {
                    throw RPCError(code: .dataLoss, message: "content hashes to \(actual), expected \(expected)")
                }
            }
        }
    }

    struct Alias: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point an alias at an artifact version (moving it from another version of the name).",
            discussion: "Example: tally artifacts alias best --experiment mnist --name model.pt --version 3"
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The alias to set.")
        var newAlias: String

        @OptionGroup var reference: Reference

        func run() async throws {
            let artifact = try await client.withClient("artifacts") { c in
                var request = SetArtifactAliasRequest()
                request.artifact = try await reference.resolve(c, client.unary)
                request.alias = newAlias
                return try await c.tracking.setArtifactAlias(request, options: client.unary)
            }
            if client.json {
                printJSON(artifact)
            } else {
                print(("\(newAlias) -> \(Artifacts.describe(artifact))").terminalSafe)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete an artifact version, and its content when nothing else references it.",
            aliases: ["delete"]
        )

        @OptionGroup var client: ClientOptions

        @OptionGroup var reference: Reference

        func run() async throws {
            let response = try await client.withClient("artifacts") { c in
                var request = DeleteArtifactRequest()
                request.artifact = try await reference.resolve(c, client.unary)
                return try await c.tracking.deleteArtifact(request, options: client.unary)
            }
            if client.json {
                printJSON(response)
            } else {
                print(response.blobRemoved ? "deleted the version and its content" : "deleted the version (its content is still referenced)")
            }
        }
    }
}

/// A download in progress: a temporary file next to the destination, hashed as it is written.
final class Download {
    let artifact: Artifact
    let destination: String
    let temporary: String
    let force: Bool
    private let handle: FileHandle
    private var hasher = SHA256()
    private var written: UInt64 = 0

    init(artifact: Artifact, destination: String, force: Bool) throws {
        self.artifact = artifact
        self.destination = destination
        self.force = force
        try DownloadDestination.checkFree(destination, force: force)
        let (path, fd) = try DownloadDestination.makeFile(for: destination)
        temporary = path
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    func write(_ bytes: [UInt8]) throws {
        hasher.update(data: bytes)
        try handle.write(contentsOf: bytes)
        written += UInt64(bytes.count)
    }

    /// Verifies size and hash, syncs, and moves the file into place.
    func finish() throws {
        let actual = hex(hasher.finalize())
        guard written == artifact.size, actual == artifact.sha256 else {
            discard()
            throw RPCError(code: .dataLoss, message: "downloaded content (\(written) bytes, sha256 \(actual)) does not match the record (\(artifact.size) bytes, sha256 \(artifact.sha256)); nothing written")
        }
        try handle.synchronize()
        try handle.close()
        if force {
            guard rename(temporary, destination) == 0 else { throw failure("cannot rename to \(destination)") }
        } else {
            // link(2) fails when the destination exists, so a file created meanwhile is not replaced.
            guard link(temporary, destination) == 0 else { throw failure(errno == EEXIST ? "\(destination) exists; use --force to replace it" : "cannot create \(destination)") }
            unlink(temporary)
        }
    }

    private func failure(_ what: String) -> ValidationErrorMessage {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        return ValidationErrorMessage(message: what.contains("exists") ? what : "\(what): \(reason)")
    }

    func discard() {
        try? handle.close()
        unlink(temporary)
    }
}

func hex(_ digest: some Sequence<UInt8>) -> String {
    digest.map { byte in
        let s = String(byte, radix: 16)
        return byte < 16 ? "0" + s : s
    }.joined()
}
