/// A fuzz input of the call-sequence target, decoded: the client's HELLO, then a list of
/// operations over a few calls. Every byte string decodes to some program (missing bytes read as
/// 0), so that libFuzzer's byte mutations always give a program, mostly a similar one.
///
/// Layout (all integers big-endian; scripts/make-fuzz-corpus writes the same):
///
///     header  flags (1) | initial_window (4) | max_frame_size (4)
///     op      opcode (1) | arguments, by opcode % 12:
///       0  START        slot (1) | method (1) | deadline (1)
///       1  MESSAGE      slot (1) | template (1) | size (1) | value (8)
///       2  WINDOW       slot (1) | credit (4)
///       3  CANCEL       slot (1)
///       4  HALF_CLOSE   slot (1)
///       5  STOP_READING
///       6  RESUME_READING
///       7  WAIT         milliseconds (1)
///       8  AWAIT        slot (1)
///       9  SETTLE
///       10 PING         length (1)
///       11 RAW          target (1) | kind (1) | flags (1) | length (1) | bytes (length)
///
/// Header flags: low nibble 0xF sends no HELLO; bits 4–5 pick the HELLO's versions (0, 1: 1–1;
/// 2: 0–9; 3: 2–3, which the daemon refuses). A slot is `byte % 8`; a RAW target of 0x80 or more
/// is call id 0, else a slot. A method is an index into ``CallSequenceFuzzTarget/methods`` (one
/// past the end: a method that does not exist).
public struct CallProgram: Equatable, Sendable {
    public enum Versions: Equatable, Sendable {
        case current, wide, unsupported
    }

    public enum Operation: Equatable, Sendable {
        case start(slot: Int, method: Int, deadline: UInt8)
        case message(slot: Int, template: UInt8, size: UInt8, value: UInt64)
        case window(slot: Int, credit: UInt32)
        case cancel(slot: Int)
        case halfClose(slot: Int)
        case stopReading
        case resumeReading
        case wait(milliseconds: Int)
        case await(slot: Int)
        case settle
        case ping(length: Int)
        /// A frame as given; `slot` nil: call id 0.
        case raw(slot: Int?, kind: UInt8, flags: UInt8, payload: [UInt8])
    }

    /// Calls a program can name at once.
    public static let slots = 8
    /// Operations past this many are ignored.
    public static let maximumOperations = 64

    public var sendsHello: Bool
    public var versions: Versions
    public var initialWindow: UInt32
    public var maxFrameSize: UInt32
    public var operations: [Operation]

    public init(sendsHello: Bool = true, versions: Versions = .current, initialWindow: UInt32 = 0, maxFrameSize: UInt32 = 0, operations: [Operation] = []) {
        self.sendsHello = sendsHello
        self.versions = versions
        self.initialWindow = initialWindow
        self.maxFrameSize = maxFrameSize
        self.operations = operations
    }

    public init(decoding data: UnsafeRawBufferPointer) {
        var reader = Reader(data: data)
        let flags = reader.byte()
        sendsHello = flags & 0x0F != 0x0F
        switch (flags >> 4) & 3 {
        case 2: versions = .wide
        case 3: versions = .unsupported
        default: versions = .current
        }
        initialWindow = reader.uint32()
        maxFrameSize = reader.uint32()
        operations = []
        while !reader.atEnd, operations.count < Self.maximumOperations {
            let opcode = reader.byte() % 12
            let operation: Operation
            switch opcode {
            case 0: operation = .start(slot: reader.slot(), method: Int(reader.byte()), deadline: reader.byte())
            case 1: operation = .message(slot: reader.slot(), template: reader.byte(), size: reader.byte(), value: reader.uint64())
            case 2: operation = .window(slot: reader.slot(), credit: reader.uint32())
            case 3: operation = .cancel(slot: reader.slot())
            case 4: operation = .halfClose(slot: reader.slot())
            case 5: operation = .stopReading
            case 6: operation = .resumeReading
            case 7: operation = .wait(milliseconds: Int(reader.byte()))
            case 8: operation = .await(slot: reader.slot())
            case 9: operation = .settle
            case 10: operation = .ping(length: Int(reader.byte()))
            default:
                let target = reader.byte()
                let slot = target >= 0x80 ? nil : Int(target) % Self.slots
                let kind = reader.byte()
                let flags = reader.byte()
                let length = Int(reader.byte())
                operation = .raw(slot: slot, kind: kind, flags: flags, payload: reader.bytes(length))
            }
            operations.append(operation)
        }
    }

    public init(decoding bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { CallProgram(decoding: $0) }
    }

    /// The program's bytes (what ``init(decoding:)`` reads back).
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        var flags: UInt8 = sendsHello ? 0 : 0x0F
        switch versions {
        case .current: break
        case .wide: flags |= 0x20
        case .unsupported: flags |= 0x30
        }
        out.append(flags)
        out += bigEndian(initialWindow)
        out += bigEndian(maxFrameSize)
        for operation in operations {
            switch operation {
            case .start(let slot, let method, let deadline): out += [0, UInt8(slot), UInt8(truncatingIfNeeded: method), deadline]
            case .message(let slot, let template, let size, let value): out += [1, UInt8(slot), template, size] + bigEndian(value)
            case .window(let slot, let credit): out += [2, UInt8(slot)] + bigEndian(credit)
            case .cancel(let slot): out += [3, UInt8(slot)]
            case .halfClose(let slot): out += [4, UInt8(slot)]
            case .stopReading: out.append(5)
            case .resumeReading: out.append(6)
            case .wait(let milliseconds): out += [7, UInt8(truncatingIfNeeded: milliseconds)]
            case .await(let slot): out += [8, UInt8(slot)]
            case .settle: out.append(9)
            case .ping(let length): out += [10, UInt8(truncatingIfNeeded: length)]
            case .raw(let slot, let kind, let flags, let payload):
                out += [11, slot.map(UInt8.init) ?? 0x80, kind, flags, UInt8(truncatingIfNeeded: payload.count)] + payload.prefix(255)
            }
        }
        return out
    }

    private func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }

    struct Reader {
        let data: UnsafeRawBufferPointer
        var offset = 0

        var atEnd: Bool { offset >= data.count }

        mutating func byte() -> UInt8 {
            defer { offset += 1 }
            return offset < data.count ? data[offset] : 0
        }

        mutating func slot() -> Int { Int(byte()) % CallProgram.slots }

        mutating func uint32() -> UInt32 {
            (0..<4).reduce(0) { value, _ in value << 8 | UInt32(byte()) }
        }

        mutating func uint64() -> UInt64 {
            (0..<8).reduce(0) { value, _ in value << 8 | UInt64(byte()) }
        }

        mutating func bytes(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in byte() }
        }
    }
}
