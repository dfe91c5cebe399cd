#if canImport(Glibc)
import Glibc
#endif
public import TallyAPI
import TallyProto
public import TallyRPC

/// Delivers journals (docs/journal.md) to the tracking service, for `tally sync` (over the
/// socket) and for the daemon at start (in process).
///
/// A journal is delivered only while this process holds its lock: the client that writes a
/// journal holds an exclusive `flock` on it as long as it has it open, so a journal in use is
/// skipped. Records are replayed in order; delivery is idempotent (runs keep their client-made
/// ids, batches their writer id and sequence), so a journal delivered twice, or partly
/// delivered by its writer, is stored once. A journal is removed once every record is either
/// stored or refused for a reason that cannot clear; a status that may clear (the daemon went
/// away, the disk is full) stops its delivery and keeps it for later.
public struct JournalDelivery: Sendable {
    /// What happened to one journal.
    public struct Report: Sendable {
        public enum Outcome: Sendable, Equatable {
            /// Every record is stored or refused; the file is removed (kept by a dry run).
            case delivered
            /// A client has it open (it is still writing or delivering it itself).
            case inUse
            /// Delivery stopped on a status that may clear; the file is kept.
            case pending(String)
            /// The file could not be read as a journal; it is kept.
            case unreadable(String)
        }

        public var path: String
        public var outcome: Outcome
        /// The run the journal belongs to ("" before its first record is read).
        public var runID = ""
        public var records = 0
        /// Points in the journal's metric batches.
        public var points = 0
        /// Points stored now.
        public var stored = 0
        /// Points the daemon had stored before (a batch delivered twice).
        public var duplicates = 0
        /// Points refused, and why (the daemon's statuses).
        public var refused = 0
        public var refusals: [String] = []
        /// Whether the journal holds the run's end.
        public var ends = false
        /// The torn last record that was dropped, if any.
        public var torn: JournalFile.Torn?
    }

    private let tracking: TrackingClient
    private let options: CallOptions

    /// Creates a delivery over a tracking client (a socket connection, or in process).
    public init(tracking: TrackingClient, options: CallOptions = CallOptions()) {
        self.tracking = tracking
        self.options = options
    }

    /// The journals in `folder` (files ending in `.journal`), sorted by name; none when the
    /// folder does not exist.
    public static func journals(in folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name.hasSuffix(JournalFile.suffix), !name.hasPrefix(".") {
                names.append(name)
            }
        }
        return names.sorted().map { folder.hasSuffix("/") ? folder + $0 : folder + "/" + $0 }
    }

    /// The journal folder clients use by default: `$TALLY_JOURNAL`, else `journal` in the
    /// daemon's default data folder (`$TALLY_HOME`, `$XDG_DATA_HOME/tally`, or
    /// `~/.local/share/tally`).
    public static func defaultFolder(environment: [String: String]) -> String {
        if let value = environment["TALLY_JOURNAL"], !value.isEmpty { return value }
        if let value = environment["TALLY_HOME"], !value.isEmpty { return value + "/journal" }
        if let value = environment["XDG_DATA_HOME"], !value.isEmpty { return value + "/tally/journal" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return home + "/.local/share/tally/journal"
    }

    /// Reads one journal and reports what delivering it would send, sending nothing (for
    /// `tally sync --dry-run`; needs no daemon).
    public static func inspect(path: String) -> Report {
        let taken = take(path)
        if taken.fd >= 0 { close(taken.fd) }
        return taken.report
    }

    /// Delivers one journal.
    public func deliver(path: String) async -> Report {
        let taken = Self.take(path)
        var report = taken.report
        guard taken.fd >= 0 else { return report }
        defer { close(taken.fd) }
        for record in taken.records {
            do {
                try await send(record, report: &report)
            } catch let error where Self.mayClear(error.code) {
                report.outcome = .pending("\(error.code.name): \(error.message)")
                return report
            } catch {
                report.refusals.append("\(Self.describe(record)): \(error.code.name): \(error.message)")
            }
        }
        if unlink(path) != 0 && errno != ENOENT {
            report.outcome = .unreadable("delivered, but cannot remove: \(String(cString: strerror(errno)))")
        }
        return report
    }

    /// Opens a journal, locks it without waiting, and reads it. The descriptor holds the lock
    /// until the caller closes it; it is -1 when there is nothing to deliver, the report then
    /// saying why (in use, unreadable, or removed by its writer meanwhile).
    private static func take(_ path: String) -> (fd: Int32, report: Report, records: [RunWrite]) {
        var report = Report(path: path, outcome: .delivered)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            report.outcome = .unreadable("cannot open: \(String(cString: strerror(errno)))")
            return (-1, report, [])
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            report.outcome = errno == EWOULDBLOCK ? .inUse : .unreadable("cannot lock: \(String(cString: strerror(errno)))")
            close(fd)
            return (-1, report, [])
        }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_nlink > 0 else {
            // Removed by its writer once delivered, between our open and lock.
            close(fd)
            return (-1, report, [])
        }
        do {
            let contents = try JournalFile.parse(try readAll(fd))
            return (fd, summary(path: path, contents), contents.records)
        } catch {
            report.outcome = .unreadable(error.message)
            close(fd)
            return (-1, report, [])
        }
    }

    private static func summary(path: String, _ contents: JournalFile.Contents) -> Report {
        var report = Report(path: path, outcome: .delivered)
        report.torn = contents.torn
        report.records = contents.records.count
        for record in contents.records {
            if case .metrics(let batch) = record.write { report.points += batch.values.count }
            if case .endRun = record.write { report.ends = true }
            if report.runID.isEmpty { report.runID = runID(of: record) }
        }
        return report
    }

    /// Sends one record; throws the daemon's status for a record it refused.
    private func send(_ record: RunWrite, report: inout Report) async throws(RPCError) {
        do {
            switch record.write {
            case .startRun(let request):
                _ = try await tracking.startRun(request, options: options)
            case .metrics(let batch):
                do {
                    let ack = try await tracking.logMetrics(batch, options: options)
                    if ack.duplicate { report.duplicates += batch.values.count } else { report.stored += Int(ack.accepted) }
                } catch let error as RPCError where !Self.mayClear(error.code) {
                    report.refused += batch.values.count
                    throw error
                }
            case .params(let request):
                _ = try await tracking.logParams(request, options: options)
            case .tags(let request):
                _ = try await tracking.setRunTags(request, options: options)
            case .endRun(let request):
                do {
                    _ = try await tracking.endRun(request, options: options)
                } catch let error as RPCError where error.code == .failedPrecondition && error.message.contains("already ended") {
                    // Ended before (this journal delivered twice, or ended by someone else).
                }
            case .resumeRun(let request):
                _ = try await tracking.resumeRun(request, options: options)
            case nil:
                break
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError.from(error)
        }
    }

    /// Statuses that may clear (the daemon restarting, a full disk): delivery is retried later.
    public static func mayClear(_ code: RPCError.Code) -> Bool {
        [.unavailable, .resourceExhausted, .aborted, .deadlineExceeded, .internalError, .unknown, .cancelled].contains(code)
    }

    private static func runID(of record: RunWrite) -> String {
        switch record.write {
        case .startRun(let r): r.runId
        case .metrics(let r): r.runId
        case .params(let r): r.runId
        case .tags(let r): r.runId
        case .endRun(let r): r.runId
        case .resumeRun(let r): r.runId
        case nil: ""
        }
    }

    private static func describe(_ record: RunWrite) -> String {
        switch record.write {
        case .startRun: "start"
        case .metrics(let batch): "\(batch.values.count) points (batch \(batch.sequence))"
        case .params: "params"
        case .tags: "tags"
        case .endRun: "end"
        case .resumeRun: "resume"
        case nil: "empty record"
        }
    }

    private static func readAll(_ fd: Int32) throws(JournalError) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw JournalError(code: .io, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return bytes }
            bytes += buffer[0..<count]
        }
    }
}
