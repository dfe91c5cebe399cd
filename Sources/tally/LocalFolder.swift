import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The files of a folder on disk, for a folder upload: every regular file below it, with its
/// path relative to the folder ("/"-separated) sorted by bytes. Symbolic links to files count as
/// the file they point to; links to folders are not followed; empty folders, sockets and other
/// special files are left out.
struct LocalFolder {
    struct File {
        var relativePath: String
        var path: String
        var size: UInt64
        var sha256: String
    }

    let root: String
    let files: [File]

    init(_ root: String) throws {
        self.root = root
        var found: [File] = []
        try Self.walk(root, prefix: "", into: &found)
        files = found.sorted { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
    }

    static func isFolder(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    private static func walk(_ folder: String, prefix: String, into found: inout [File]) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw ValidationErrorMessage(message: "cannot list \(folder): \(error.localizedDescription)")
        }
        for name in names {
            let path = folder + "/" + name
            let relative = prefix.isEmpty ? name : prefix + "/" + name
            var link = stat()
            guard lstat(path, &link) == 0 else { continue }
            switch link.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(path, prefix: relative, into: &found)
            case S_IFREG:
                found.append(try file(path, relative: relative))
            case S_IFLNK:
                var target = stat()
                if stat(path, &target) == 0, (target.st_mode & S_IFMT) == S_IFREG {
                    found.append(try file(path, relative: relative))
                }
            default:
                continue
            }
        }
    }

    private static func file(_ path: String, relative: String) throws -> File {
        let handle = try Artifacts.Put.open(path)
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: UInt64 = 0
        while let data = try handle.read(upToCount: Artifacts.chunkSize), !data.isEmpty {
            hasher.update(data: data)
            size += UInt64(data.count)
        }
        return File(relativePath: relative, path: path, size: size, sha256: hex(hasher.finalize()))
    }
}
