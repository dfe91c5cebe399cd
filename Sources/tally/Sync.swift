import ArgumentParser
import Foundation
import TallyClient
import TallyJournal
import TallyProto

/// `tally sync`: delivers the journals of clients that could not reach the daemon.
struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver the journals that clients kept while the daemon was away.",
        discussion: """
            With no path: every journal in the default journal folder ($TALLY_JOURNAL, else journal/ in \
            the data folder: $TALLY_HOME, $XDG_DATA_HOME/tally or ~/.local/share/tally). A path may be a \
            journal file or a folder of them. Delivery is idempotent: points already stored are not stored \
            twice. A journal a running client still holds is skipped (that client delivers it). A delivered \
            journal is removed; one whose delivery stopped (the daemon went away, a full disk) is kept. \
            Exits 1 when a journal is kept or any of its points were refused.
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: ArgumentHelp("Journal files or folders (default: the default journal folder).", valueName: "path"))
    var paths: [String] = []

    @Flag(name: .customLong("dry-run"), help: "List what would be sent; send nothing and remove nothing.")
    var dryRun = false

    func run() async throws {
        var files: [String] = []
        let targets = paths.isEmpty ? [JournalDelivery.defaultFolder(environment: ProcessInfo.processInfo.environment)] : paths
        for path in targets {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                files += JournalDelivery.journals(in: path)
            } else if FileManager.default.fileExists(atPath: path) {
                files.append(path)
            } else if !paths.isEmpty {
                throw ValidationError("no journal or folder at \(path)")
            }
        }
        let reports: [JournalDelivery.Report]
        if files.isEmpty {
            reports = []
        } else if dryRun {
            // Reading needs no daemon.
            reports = files.map(JournalDelivery.inspect(path:))
        } else {
            reports = try await client.withClient("sync") { c in
                let delivery = JournalDelivery(tracking: c.tracking, options: client.unary)
                var list: [JournalDelivery.Report] = []
                for file in files { list.append(await delivery.deliver(path: file)) }
                return list
            }
        }
        if client.json {
            print(JSONValue.array(reports.map(Self.json)).serialized())
        } else if reports.isEmpty {
            print("no journals to deliver")
        } else {
            for report in reports { print(Self.line(report, dryRun: dryRun).terminalSafe) }
        }
        let kept = reports.contains { report in
            switch report.outcome {
            case .delivered, .inUse: false
            case .pending, .unreadable: true
            }
        }
        if !dryRun && (kept || reports.contains { $0.refused > 0 || !$0.refusals.isEmpty }) {
            throw ExitCode(1)
        }
    }

    static func line(_ r: JournalDelivery.Report, dryRun: Bool) -> String {
        let name = (r.path as NSString).lastPathComponent
        let run = r.runID.isEmpty ? "" : "run \(r.runID): "
        var text: String
        switch r.outcome {
        case .delivered where dryRun:
            text = "\(name): \(run)would send \(r.records) record\(r.records == 1 ? "" : "s"), \(r.points) point\(r.points == 1 ? "" : "s")\(r.ends ? ", with the run's end" : "")"
        case .delivered:
            text = "\(name): \(run)delivered: \(r.stored) points stored, \(r.duplicates) already stored, \(r.refused) refused"
            for refusal in r.refusals { text += "\n  refused: \(refusal)" }
        case .inUse:
            text = "\(name): in use by a running client (it delivers it itself); skipped"
        case .pending(let reason):
            text = "\(name): \(run)kept, delivery stopped after \(r.stored + r.duplicates) points: \(reason)"
        case .unreadable(let reason):
            text = "\(name): kept, cannot deliver: \(reason)"
        }
        if let torn = r.torn { text += "\n  torn last record: \(torn)" }
        return text
    }

    static func json(_ r: JournalDelivery.Report) -> JSONValue {
        let (outcome, reason): (String, String) = switch r.outcome {
        case .delivered: ("delivered", "")
        case .inUse: ("in_use", "")
        case .pending(let why): ("pending", why)
        case .unreadable(let why): ("unreadable", why)
        }
        var object: [String: JSONValue] = [
            "path": .string(r.path), "runId": .string(r.runID), "outcome": .string(outcome),
            "records": .integer(Int64(r.records)), "points": .integer(Int64(r.points)),
            "stored": .integer(Int64(r.stored)), "duplicates": .integer(Int64(r.duplicates)),
            "refused": .integer(Int64(r.refused)), "refusals": .array(r.refusals.map(JSONValue.string)),
            "ends": .bool(r.ends),
        ]
        if !reason.isEmpty { object["reason"] = .string(reason) }
        if let torn = r.torn { object["torn"] = .string(torn.description) }
        return .object(object)
    }
}
