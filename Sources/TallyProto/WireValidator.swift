import CProtobufC

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Checks protobuf wire bytes before protobuf-c unpacks them.
///
/// protobuf-c hands strings back as NUL-terminated `char *`, losing their length: a string with
/// an embedded NUL would come back truncated, and it does not check UTF-8. This walks the bytes
/// with the message's descriptor: every length-delimited field whose type is `string` must hold
/// no NUL byte and be valid UTF-8; message fields (map entries too) are checked recursively.
/// The walk also rejects malformed structure (truncated varints, lengths past the end, invalid
/// wire types, groups) with a clear message.
enum WireValidator {
    /// Deepest nesting of messages accepted.
    static let maxDepth = 100

    static func validate(
        _ bytes: UnsafeRawBufferPointer,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        depth: Int = 0
    ) throws(ProtoError) {
        var offset = 0
        let end = bytes.count
        while offset < end {
            let tagOffset = offset
            let tag = try readVarint(bytes, &offset, what: "tag")
            let number = tag >> 3
            let wireType = tag & 7
            guard number >= 1, number <= 0x1FFF_FFFF else {
                throw malformed("invalid field number \(number) at offset \(tagOffset)")
            }
            switch wireType {
            case 0:
                _ = try readVarint(bytes, &offset, what: "varint of field \(number)")
            case 1:
                guard end - offset >= 8 else { throw malformed("truncated 64-bit value of field \(number) at offset \(offset)") }
                offset += 8
            case 5:
                guard end - offset >= 4 else { throw malformed("truncated 32-bit value of field \(number) at offset \(offset)") }
                offset += 4
            case 2:
                let lengthOffset = offset
                let length = try readVarint(bytes, &offset, what: "length of field \(number)")
                guard length <= UInt64(end - offset) else {
                    throw malformed("length \(length) of field \(number) at offset \(lengthOffset) runs past the end of the data")
                }
                let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
                offset += Int(length)
                guard let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(number)) else { continue }
                if field.pointee.type == PROTOBUF_C_TYPE_STRING {
                    if let problem = stringProblem(payload) {
                        throw ProtoError(code: .invalidString, message: problem, fieldPath: String(cString: field.pointee.name))
                    }
                } else if field.pointee.type == PROTOBUF_C_TYPE_MESSAGE, let sub = field.pointee.descriptor {
                    guard depth < maxDepth else {
                        throw ProtoError(code: .malformed, message: "messages nested more than \(maxDepth) deep",
                                         fieldPath: String(cString: field.pointee.name))
                    }
                    do {
                        try validate(payload, descriptor: sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self), depth: depth + 1)
                    } catch {
                        throw error.prefixingPath(with: String(cString: field.pointee.name))
                    }
                }
            case 3, 4:
                throw malformed("group (wire type \(wireType)) of field \(number) at offset \(tagOffset) is not supported")
            default:
                throw malformed("invalid wire type \(wireType) of field \(number) at offset \(tagOffset)")
            }
        }
    }

    private static func malformed(_ message: String) -> ProtoError {
        ProtoError(code: .malformed, message: message)
    }

    private static func readVarint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, what: @autoclosure () -> String) throws(ProtoError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 {
                throw malformed("\(what()) at offset \(start) overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 {
                throw malformed("\(what()) at offset \(start) is longer than 10 bytes")
            }
        }
        throw malformed("truncated \(what()) at offset \(start)")
    }

    /// Why `bytes` is not an acceptable string (NUL byte, invalid UTF-8), or nil when it is.
    static func stringProblem(_ bytes: UnsafeRawBufferPointer) -> String? {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return nil }
        if let nul = memchr(base, 0, count) {
            return "string contains a NUL byte (at byte \(UnsafeRawPointer(nul) - base))"
        }
        var i = 0
        while i < count {
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return invalidUTF8(at: i, byte: b0)
            }
            guard i + length <= count else { return "string is not valid UTF-8 (truncated sequence at byte \(i))" }
            let b1 = bytes[i + 1]
            guard b1 >= low, b1 <= high else { return invalidUTF8(at: i + 1, byte: b1) }
            for k in 2..<length where bytes[i + k] & 0xC0 != 0x80 {
                return invalidUTF8(at: i + k, byte: bytes[i + k])
            }
            i += length
        }
        return nil
    }

    private static func invalidUTF8(at index: Int, byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "string is not valid UTF-8 (byte 0x\(hex.count == 1 ? "0" + hex : hex) at byte \(index))"
    }
}
