import Foundation

/// The fuzz targets, by the name of their executable.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case frames
    case messages
    case filter
    case calls

    /// Runs one input through the target. Returns normally unless an invariant breaks (then the
    /// process stops, as with any crash).
    public func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .frames: FrameFuzzTarget.run(data)
        case .messages: MessageFuzzTarget.run(data)
        case .filter: FilterFuzzTarget.run(data)
        case .calls: CallSequenceFuzzTarget.run(data)
        }
    }

    /// Runs one input through the target.
    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }

    /// Name of the executable: `tally-fuzz-frames`, ….
    public var executableName: String { "tally-fuzz-\(rawValue)" }
}

/// Replays inputs through a target without libFuzzer: what a normal build of a fuzz executable
/// does, and what CI and the regression tests run.
public enum FuzzReplay {
    /// Every file under `paths` (files, or folders read recursively, hidden files skipped),
    /// sorted by path.
    public static func inputFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path])
            }
            if !isDirectory.boolValue {
                files.append(path)
                continue
            }
            guard let walker = manager.enumerator(atPath: path) else { continue }
            for case let relative as String in walker {
                let full = (path as NSString).appendingPathComponent(relative)
                var isFolder: ObjCBool = false
                if (relative as NSString).lastPathComponent.hasPrefix(".") { continue }
                if manager.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue {
                    files.append(full)
                }
            }
        }
        return files.sorted()
    }

    /// The command-line entry point of a fuzz executable built without libFuzzer:
    /// `tally-fuzz-<target> PATH…` runs every file under the paths through the target.
    /// Arguments starting with `-` (libFuzzer options) are ignored, so a fuzzing command line
    /// can be replayed as is.
    public static func main(_ target: FuzzTarget, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Int32 {
        let paths = arguments.filter { !$0.hasPrefix("-") }
        let verbose = arguments.contains("--verbose")
        if paths.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
            print("""
                usage: \(target.executableName) [--verbose] PATH…
                Runs every file under the paths (corpus folders or single inputs) through the
                \(target.rawValue) fuzz target and reports how many ran. A broken invariant stops the
                process with the input's path on standard error (--verbose names each input
                before running it). Built with -sanitize=fuzzer and
                -DFUZZING (scripts/fuzz), the same executable is a libFuzzer fuzzer instead.
                """)
            return paths.isEmpty && !arguments.contains("--help") && !arguments.contains("-h") ? 64 : 0
        }
        let files: [String]
        do {
            files = try inputFiles(paths)
        } catch {
            FileHandle.standardError.write(Data("\(target.executableName): \(error.localizedDescription)\n".utf8))
            return 66
        }
        let start = ContinuousClock.now
        var bytes = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("\(target.executableName): cannot read \(file)\n".utf8))
                return 66
            }
            // A broken invariant names the input; with --verbose, so does any other crash.
            if verbose { FileHandle.standardError.write(Data("running \(file)\n".utf8)) }
            FuzzInput.current = file
            target.run(Array(data))
            bytes += data.count
        }
        let seconds = (ContinuousClock.now - start).components
        let elapsed = Double(seconds.seconds) + Double(seconds.attoseconds) / 1e18
        print("\(target.executableName): \(files.count) inputs (\(bytes) bytes) replayed in \(String(format: "%.2f", elapsed)) s, 0 crashes")
        return 0
    }
}

extension FuzzReplay {
    /// ``main(_:arguments:)``, then exits with its status.
    public static func exitingMain(_ target: FuzzTarget) -> Never {
        exit(main(target))
    }
}

#if FUZZING
/// libFuzzer's driver, linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer on `callback` with the process's command line (see the fuzz executables).
public func libFuzzerMain(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
#endif
