import CProtobufC

/// Encoding and decoding of generated messages through protobuf-c.
enum ProtoCodec {
    /// Converts `message` to its protoc-c struct in an arena, packs it, frees the arena.
    static func encode<M: CMessageConvertible>(_ message: M) throws(ProtoError) -> [UInt8] {
        let arena = CArena()
        defer { arena.releaseAll() }
        let c = arena.allocate(M.CStruct.self, count: 1)
        M.cInit(c)
        do {
            try message.fill(c, arena: arena)
        } catch {
            throw error.prefixingPath(with: M.protoMessageName)
        }
        let base = UnsafeRawPointer(c).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(base)
        guard size > 0 else { return [] }
        var written = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            written = protobuf_c_message_pack(base, buffer.baseAddress!)
            initialized = min(written, size)
        }
        guard written == size else {
            throw ProtoError(
                code: .encodingFailed,
                message: "protobuf-c packed \(written) bytes instead of the \(size) it measured",
                fieldPath: M.protoMessageName)
        }
        return bytes
    }

    /// Validates `bytes` (wire structure and strings), unpacks them with protobuf-c, converts the
    /// struct and frees it.
    static func decode<M: CMessageConvertible>(_: M.Type, from bytes: UnsafeRawBufferPointer) throws(ProtoError) -> M {
        do {
            try WireValidator.validate(bytes, descriptor: M.cDescriptor)
        } catch {
            throw error.fieldPath == nil
                ? ProtoError(code: error.code, message: "cannot decode \(M.protoMessageName): \(error.message)")
                : error.prefixingPath(with: M.protoMessageName)
        }
        var empty: UInt8 = 0
        let unpacked = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyPointer)
            return protobuf_c_message_unpack(M.cDescriptor, nil, bytes.count, data)
        }
        guard let unpacked else {
            throw ProtoError(code: .malformed, message: "cannot decode \(M.protoMessageName): protobuf-c rejected the bytes")
        }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        return M(cMessage: UnsafeRawPointer(unpacked).assumingMemoryBound(to: M.CStruct.self))
    }

    static func decode<M: CMessageConvertible>(_: M.Type, from bytes: [UInt8]) throws(ProtoError) -> M {
        let result: Result<M, ProtoError> = bytes.withUnsafeBytes { raw in
            do throws(ProtoError) {
                return .success(try decode(M.self, from: raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
