public import TallyProto

/// The journal file format (proto/tally/v1/journal.proto): the magic bytes, then records of
/// `<length u32 LE><CRC-32 u32 LE><payload: a serialized RunWrite>`.
public enum JournalFile {
    /// The first 8 bytes of every journal.
    public static let magic: [UInt8] = Array("TALLYJ1\n".utf8)
    /// File names end with this.
    public static let suffix = ".journal"

    /// A journal's records, and what was dropped from its end.
    public struct Contents: Sendable {
        public var records: [RunWrite]
        /// The torn last record (the writer died mid-write), if any: dropped alone.
        public var torn: Torn?
    }

    /// A record that ends the journal because it is incomplete or fails its checksum.
    public struct Torn: Sendable, CustomStringConvertible {
        /// Where it starts in the file.
        public var offset: Int
        /// Bytes dropped from there to the end of the file.
        public var bytes: Int
        public var reason: String
        public var description: String { "\(bytes) bytes at offset \(offset) dropped: \(reason)" }
    }

    /// Reads a journal's records. A record that runs past the end of the file, or whose
    /// checksum does not match, ends the journal: it and anything after it are reported as
    /// ``Contents/torn`` and everything before it is returned.
    /// - Throws: ``JournalError`` `notAJournal`, or `undecodable` for a record whose checksum
    ///   matches but whose payload is not a RunWrite (written by something else).
    public static func parse(_ bytes: [UInt8]) throws(JournalError) -> Contents {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw JournalError(code: .notAJournal, message: "not a Tally journal (it does not start with \"TALLYJ1\")")
        }
        var records: [RunWrite] = []
        var offset = magic.count
        while offset < bytes.count {
            guard bytes.count - offset >= 8 else {
                return Contents(records: records, torn: Torn(offset: offset, bytes: bytes.count - offset, reason: "the record's header is incomplete"))
            }
            let length = Int(littleEndian32(bytes, at: offset))
            let checksum = littleEndian32(bytes, at: offset + 4)
            let start = offset + 8
            guard length <= bytes.count - start else {
                return Contents(records: records, torn: Torn(offset: offset, bytes: bytes.count - offset, reason: "the record (\(length) bytes) runs past the end of the file"))
            }
            let payload = bytes[start..<(start + length)]
            guard CRC32.checksum(payload) == checksum else {
                return Contents(records: records, torn: Torn(offset: offset, bytes: bytes.count - offset, reason: "the record's checksum does not match"))
            }
            do {
                records.append(try RunWrite(serializedBytes: Array(payload)))
            } catch {
                throw JournalError(code: .undecodable, message: "the record at offset \(offset) is not a journal record: \(error)", cause: error)
            }
            offset = start + length
        }
        return Contents(records: records, torn: nil)
    }

    /// A journal holding `records` (for tests and tools; clients write their own).
    public static func encode(_ records: [RunWrite]) throws(ProtoError) -> [UInt8] {
        var out = magic
        for record in records {
            out += try frame(record)
        }
        return out
    }

    /// One record as it is appended to a journal.
    public static func frame(_ record: RunWrite) throws(ProtoError) -> [UInt8] {
        let payload = try record.serializedBytes()
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 8)
        appendLittleEndian32(UInt32(payload.count), to: &out)
        appendLittleEndian32(CRC32.checksum(payload), to: &out)
        out += payload
        return out
    }

    private static func littleEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    private static func appendLittleEndian32(_ value: UInt32, to out: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }
}
