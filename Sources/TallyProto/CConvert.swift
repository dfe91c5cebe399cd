import CProtobufC

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Conversions from the structs protobuf-c unpacks to Swift values, used by generated code.
///
/// Strings are read after `WireValidator` checked them (no NUL byte, valid UTF-8).
enum CConvert {
    /// The descriptor of a protoc-c message type, read from a struct its `…__init` initialized.
    static func descriptor<T>(of initializer: (UnsafeMutablePointer<T>?) -> Void) -> UnsafePointer<ProtobufCMessageDescriptor> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { p.deallocate() }
        initializer(p)
        return UnsafeRawPointer(p).load(as: ProtobufCMessage.self).descriptor
    }

    static func string(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
    }

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let p = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: data.len))
    }

    /// A bulk copy of a repeated scalar field.
    static func array<T: BitwiseCopyable>(_ p: UnsafePointer<T>?, count: Int) -> [T] {
        guard count > 0, let p else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: count))
    }

    static func bools(_ p: UnsafePointer<protobuf_c_boolean>?, count: Int) -> [Bool] {
        guard count > 0, let p else { return [] }
        return UnsafeBufferPointer(start: p, count: count).map { $0 != 0 }
    }

    /// The numbers of a repeated enum field (`E` is protoc-c's 32-bit enum type).
    static func enumValues<E>(_ p: UnsafePointer<E>?, count: Int) -> [Int32] {
        guard count > 0, let p else { return [] }
        precondition(MemoryLayout<E>.size == MemoryLayout<Int32>.size, "protoc-c enums are 32-bit")
        return Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: p, byteCount: 4 * count)
            initialized = count
        }
    }

    static func strings(_ p: UnsafePointer<UnsafeMutablePointer<CChar>?>?, count: Int) -> [String] {
        guard count > 0, let p else { return [] }
        return UnsafeBufferPointer(start: p, count: count).map { string($0) }
    }

    static func bytesArray(_ p: UnsafePointer<ProtobufCBinaryData>?, count: Int) -> [[UInt8]] {
        guard count > 0, let p else { return [] }
        return UnsafeBufferPointer(start: p, count: count).map { bytes($0) }
    }

    static func messages<M: CMessageConvertible>(_ p: UnsafePointer<UnsafeMutablePointer<M.CStruct>?>?, count: Int) -> [M] {
        guard count > 0, let p else { return [] }
        return UnsafeBufferPointer(start: p, count: count).map { $0.map { M(cMessage: $0) } ?? M() }
    }

    // MARK: Map keys in encoding order
    //
    // Maps are written in the order of Python's protobuf (upb) deterministic serialization, so the
    // bytes match `SerializeToString(deterministic=True)`: upb sorts, then writes the entries
    // backwards. The resulting order is pinned by the test vectors.

    /// The entries of a map in encoding order (integer keys: descending by unsigned bit pattern,
    /// so 0, 5, -1 encode as -1, 5, 0).
    static func sortedEntries<K: FixedWidthInteger, V>(_ map: [K: V]) -> [(key: K, value: V)] {
        map.sorted { UInt64(truncatingIfNeeded: $0.key) > UInt64(truncatingIfNeeded: $1.key) }
    }

    /// The entries of a map in encoding order (string keys: ascending by UTF-8 bytes, a key before
    /// its own prefixes: "b", "ab", "a").
    static func sortedEntries<V>(_ map: [String: V]) -> [(key: String, value: V)] {
        map.sorted { utf8Precedes($0.key, $1.key) }
    }

    /// The entries of a map in encoding order (bool keys: true first).
    static func sortedEntries<V>(_ map: [Bool: V]) -> [(key: Bool, value: V)] {
        map.sorted { $0.key && !$1.key }
    }

    private static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case let (x?, y?):
                if x != y { return x < y }
            case (nil, nil): return false
            case (nil, _?): return false  // a is a prefix of b: the longer b goes first
            case (_?, nil): return true
            }
        }
    }
}
