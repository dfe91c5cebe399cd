import CProtobufC

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Owns every buffer allocated while building a protoc-c struct for packing.
///
/// Encoding allocates the struct, its strings, arrays and sub-messages here, packs, then calls
/// `releaseAll()`: one owner frees each allocation, right after the pack. Small allocations
/// come from growing blocks; large ones (big repeated fields) get their own.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private var nextBlockSize = 1024

    private static let maxBlockSize = 64 * 1024
    private static let largeAllocation = 4 * 1024
    private static let blockAlignment = 16

    init() {}

    deinit { releaseAll() }

    /// Frees every allocation; pointers handed out before become invalid.
    func releaseAll() {
        for block in blocks { block.deallocate() }
        blocks.removeAll()
        cursor = nil
        remaining = 0
    }

    /// Uninitialized memory for `byteCount` bytes aligned to `alignment` (at most 16).
    func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        precondition(alignment <= Self.blockAlignment, "alignment \(alignment) is not supported")
        if byteCount >= Self.largeAllocation {
            let block = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: Self.blockAlignment)
            blocks.append(block)
            return block
        }
        if let cursor {
            let aligned = cursor.alignedUp(toMultipleOf: alignment)
            let needed = (aligned - cursor) + byteCount
            if needed <= remaining {
                self.cursor = aligned + byteCount
                remaining -= needed
                return aligned
            }
        }
        let size = max(nextBlockSize, byteCount)
        nextBlockSize = min(nextBlockSize * 2, Self.maxBlockSize)
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.blockAlignment)
        blocks.append(block)
        cursor = block + byteCount
        remaining = size - byteCount
        return block
    }

    /// Uninitialized memory for `count` values of `T`.
    func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride * max(count, 1), alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: max(count, 1))
    }

    // MARK: Values

    /// A NUL-terminated copy of `string`.
    /// - Throws: `.invalidString` when the string holds a NUL byte (C strings cannot carry it).
    func string(_ string: String, field: String) throws(ProtoError) -> UnsafeMutablePointer<CChar> {
        var string = string
        let copy: UnsafeMutablePointer<CChar>? = string.withUTF8 { utf8 in
            let count = utf8.count
            if count > 0, memchr(utf8.baseAddress!, 0, count) != nil { return nil }
            let p = allocate(CChar.self, count: count + 1)
            if count > 0 { UnsafeMutableRawPointer(p).copyMemory(from: utf8.baseAddress!, byteCount: count) }
            p[count] = 0
            return p
        }
        guard let copy else {
            throw ProtoError(code: .invalidString, message: "string contains a NUL byte", fieldPath: field)
        }
        return copy
    }

    /// A copy of `bytes` as protobuf-c binary data.
    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        return ProtobufCBinaryData(len: bytes.count, data: array(bytes))
    }

    /// A bulk copy of a repeated scalar field (nil when empty).
    func array<T: BitwiseCopyable>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let p = allocate(T.self, count: values.count)
        values.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: values.count) }
        return p
    }

    /// A repeated bool field as protobuf-c booleans (nil when empty).
    func bools(_ values: [Bool]) -> UnsafeMutablePointer<protobuf_c_boolean>? {
        guard !values.isEmpty else { return nil }
        let p = allocate(protobuf_c_boolean.self, count: values.count)
        for (i, v) in values.enumerated() { p[i] = v ? 1 : 0 }
        return p
    }

    /// A repeated enum field from the values' numbers (nil when empty); `E` is protoc-c's enum type.
    func enumValues<E>(_ numbers: [Int32]) -> UnsafeMutablePointer<E>? {
        precondition(MemoryLayout<E>.size == MemoryLayout<Int32>.size, "protoc-c enums are 32-bit")
        guard !numbers.isEmpty else { return nil }
        let raw = allocate(byteCount: 4 * numbers.count, alignment: MemoryLayout<E>.alignment)
        numbers.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return raw.bindMemory(to: E.self, capacity: numbers.count)
    }

    /// A repeated string field (nil when empty).
    func strings(_ values: [String], field: String) throws(ProtoError) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !values.isEmpty else { return nil }
        let p = allocate(UnsafeMutablePointer<CChar>?.self, count: values.count)
        for (i, v) in values.enumerated() { (p + i).initialize(to: try string(v, field: field)) }
        return p
    }

    /// A repeated bytes field (nil when empty).
    func bytesArray(_ values: [[UInt8]]) -> UnsafeMutablePointer<ProtobufCBinaryData>? {
        guard !values.isEmpty else { return nil }
        let p = allocate(ProtobufCBinaryData.self, count: values.count)
        for (i, v) in values.enumerated() { (p + i).initialize(to: bytes(v)) }
        return p
    }

    /// A sub-message, converted to its protoc-c struct.
    func message<M: CMessageConvertible>(_ message: M, field: String) throws(ProtoError) -> UnsafeMutablePointer<M.CStruct> {
        let p = allocate(M.CStruct.self, count: 1)
        M.cInit(p)
        do {
            try message.fill(p, arena: self)
        } catch {
            throw error.prefixingPath(with: field)
        }
        return p
    }

    /// A repeated message field (nil when empty): an array of pointers to contiguous structs.
    func messages<M: CMessageConvertible>(_ messages: [M], field: String) throws(ProtoError) -> UnsafeMutablePointer<UnsafeMutablePointer<M.CStruct>?>? {
        guard !messages.isEmpty else { return nil }
        let structs = allocate(M.CStruct.self, count: messages.count)
        let pointers = allocate(UnsafeMutablePointer<M.CStruct>?.self, count: messages.count)
        for (i, m) in messages.enumerated() {
            M.cInit(structs + i)
            do {
                try m.fill(structs + i, arena: self)
            } catch {
                throw error.prefixingPath(with: field)
            }
            (pointers + i).initialize(to: structs + i)
        }
        return pointers
    }

    /// `count` structs initialized with `initializer` (protoc-c's `…__init`), as an array of pointers.
    func structPointers<T>(_: T.Type, count: Int, initializer: (UnsafeMutablePointer<T>?) -> Void) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?> {
        let structs = allocate(T.self, count: count)
        let pointers = allocate(UnsafeMutablePointer<T>?.self, count: count)
        for i in 0..<count {
            initializer(structs + i)
            (pointers + i).initialize(to: structs + i)
        }
        return pointers
    }
}
