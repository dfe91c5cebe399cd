/// The manifest of a folder artifact: one line per file, sorted by the bytes of its path,
/// `"<sha256> <size> <path>\n"`. A folder version's `sha256` and `size` are its manifest's, so
/// two uploads of the same files give the same hash, and the manifest is stored as a blob like
/// any content.
public struct FolderManifest: Sendable, Hashable {
    /// The files, sorted by path.
    public let files: [ArtifactFileRecord]

    /// Sorts `files` by the UTF-8 bytes of their paths (the order SQLite's BINARY collation
    /// gives too).
    public init(files: [ArtifactFileRecord]) {
        self.files = files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// The manifest's bytes.
    public var bytes: [UInt8] {
        var text = ""
        for file in files {
            text += "\(file.sha256) \(file.size) \(file.path)\n"
        }
        return Array(text.utf8)
    }

    /// The files' total size.
    /// - Throws: ``StoreError`` `invalidArgument` when it does not fit in 63 bits.
    public func totalSize() throws -> Int64 {
        var total: Int64 = 0
        for file in files {
            let (sum, overflow) = total.addingReportingOverflow(file.size)
            guard !overflow else {
                throw StoreError(code: .invalidArgument, message: "the folder's files add up to more than \(Int64.max) bytes", field: "file")
            }
            total = sum
        }
        return total
    }
}
