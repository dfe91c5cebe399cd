import Foundation
import Testing
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyJournal
import TallyServices

/// The journal file format and its delivery (docs/journal.md).
@Suite("Journals: format and delivery")
struct JournalDeliveryTests {
    static let runID = "0123456789abcdef"

    static func records(batches: Int, pointsPerBatch: Int, end: Bool = true) -> [RunWrite] {
        var start = StartRunRequest()
        start.experiment = .name("journalled")
        start.createExperiment = true
        start.runId = runID
        start.name = "offline"
        var out = [RunWrite.with(.startRun(start))]
        var params = LogParamsRequest()
        params.runId = runID
        params.params = ["lr": .double(0.01)]
        out.append(.with(.params(params)))
        for b in 0..<batches {
            let values = (0..<pointsPerBatch).map { Double(b * pointsPerBatch + $0) }
            var batch = RunWriterTests.batch(runID, writer: "w0", sequence: UInt64(b + 1), values: values, firstStep: Int64(b * pointsPerBatch))
            batch.timestampsMs = [Int64](repeating: 1_700_000_000_000, count: values.count)
            out.append(.with(.metrics(batch)))
        }
        if end {
            var request = EndRunRequest()
            request.runId = runID
            request.status = .completed
            out.append(.with(.endRun(request)))
        }
        return out
    }

    static func write(_ bytes: [UInt8]) throws -> String {
        let folder = NSTemporaryDirectory() + "tally-journal-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/\(runID)-w0.journal"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("CRC-32 is zlib's")
    func crc() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test("records read back as written")
    func roundTrip() throws {
        let records = Self.records(batches: 3, pointsPerBatch: 4)
        let contents = try JournalFile.parse(try JournalFile.encode(records))
        #expect(contents.records == records)
        #expect(contents.torn == nil)
        #expect(throws: JournalError.self) { try JournalFile.parse(Array("NOTAJRNL".utf8)) }
    }

    @Test("a torn last record is dropped alone, whether cut short or damaged")
    func torn() throws {
        let records = Self.records(batches: 3, pointsPerBatch: 4)
        let bytes = try JournalFile.encode(records)
        let last = try JournalFile.frame(records.last!)
        for cut in [1, 5, 9, last.count - 1] {
            let contents = try JournalFile.parse(Array(bytes.dropLast(cut)))
            #expect(contents.records == Array(records.dropLast()))
            #expect(contents.torn?.offset == bytes.count - last.count)
        }
        var damaged = bytes
        damaged[damaged.count - 2] ^= 0x40
        let contents = try JournalFile.parse(damaged)
        #expect(contents.records == Array(records.dropLast()))
        #expect(contents.torn?.reason.contains("checksum") == true)
    }

    @Test("a journal is delivered once: stored, removed, and stored once however often it is sent")
    func deliverTwice() async throws {
        let h = try TrackingHarness()
        let delivery = JournalDelivery(tracking: h.client)
        let bytes = try JournalFile.encode(Self.records(batches: 5, pointsPerBatch: 100))
        let path = try Self.write(bytes)
        let inspected = JournalDelivery.inspect(path: path)
        #expect(inspected.outcome == .delivered && inspected.points == 500 && inspected.ends && inspected.runID == Self.runID)
        let first = await delivery.deliver(path: path)
        #expect(first.outcome == .delivered)
        #expect(first.stored == 500 && first.duplicates == 0 && first.refused == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
        // The same journal again (a copy delivered by someone else, say): nothing is stored twice.
        let again = await delivery.deliver(path: try Self.write(bytes))
        #expect(again.outcome == .delivered && again.stored == 0 && again.duplicates == 500)
        #expect(again.refusals.isEmpty, "\(again.refusals)")
        let run = try await h.client.getRun(GetRunRequest.with(Self.runID))
        #expect(run.status == .completed && run.metrics.first?.count == 500 && run.params["lr"] == .double(0.01))
    }

    @Test("a journal whose writer died mid-record is delivered without its torn record")
    func deliverTorn() async throws {
        let h = try TrackingHarness()
        let bytes = try JournalFile.encode(Self.records(batches: 4, pointsPerBatch: 10, end: false))
        let path = try Self.write(Array(bytes.dropLast(7)))
        let report = await JournalDelivery(tracking: h.client).deliver(path: path)
        #expect(report.outcome == .delivered && report.stored == 30 && report.torn != nil)
        let run = try await h.client.getRun(GetRunRequest.with(Self.runID))
        #expect(run.status == .running && run.metrics.first?.count == 30)
    }

    @Test("a journal its client holds is skipped; one the daemon cannot take now is kept")
    func inUseAndPending() async throws {
        let h = try TrackingHarness()
        let path = try Self.write(try JournalFile.encode(Self.records(batches: 2, pointsPerBatch: 10)))
        let fd = open(path, O_RDWR)
        #expect(flock(fd, LOCK_EX) == 0)
        let held = await JournalDelivery(tracking: h.client).deliver(path: path)
        #expect(held.outcome == .inUse)
        close(fd)
        h.provider.finishIngest()  // metric calls now fail with UNAVAILABLE, a status that may clear
        let pending = await JournalDelivery(tracking: h.client).deliver(path: path)
        guard case .pending(let reason) = pending.outcome else {
            Issue.record("expected pending, got \(pending.outcome)")
            return
        }
        #expect(reason.hasPrefix("UNAVAILABLE"))
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test("points the daemon refuses for good are counted and reported; the journal is removed")
    func refused() async throws {
        let h = try TrackingHarness()
        var records = Self.records(batches: 3, pointsPerBatch: 10, end: false)
        // A batch with a bad key in the middle: refused alone.
        if case .metrics(var batch) = records[3].write {
            batch.keys = ["bad key!"]
            records[3] = .with(.metrics(batch))
        }
        let path = try Self.write(try JournalFile.encode(records))
        let report = await JournalDelivery(tracking: h.client).deliver(path: path)
        #expect(report.outcome == .delivered && report.stored == 20 && report.refused == 10)
        #expect(report.refusals.count == 1 && report.refusals[0].contains("INVALID_ARGUMENT"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("the default folder follows the daemon's data folder")
    func defaultFolder() {
        #expect(JournalDelivery.defaultFolder(environment: ["TALLY_JOURNAL": "/j", "TALLY_HOME": "/h"]) == "/j")
        #expect(JournalDelivery.defaultFolder(environment: ["TALLY_HOME": "/h", "XDG_DATA_HOME": "/x"]) == "/h/journal")
        #expect(JournalDelivery.defaultFolder(environment: ["XDG_DATA_HOME": "/x", "HOME": "/u"]) == "/x/tally/journal")
        #expect(JournalDelivery.defaultFolder(environment: ["HOME": "/u"]) == "/u/.local/share/tally/journal")
    }
}
