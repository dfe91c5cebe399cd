/// Reads one piece of stored content in chunks, checking it against its recorded hash. Used by
/// one task at a time.
public protocol BlobReader: AnyObject {
    /// The recorded hash.
    var sha256: String { get }
    /// The recorded size.
    var size: Int64 { get }
    /// Bytes read so far.
    var offset: Int64 { get }

    /// Reads the next chunk of at most `maxCount` bytes, blocking on I/O (``next(maxCount:)``
    /// runs it off the caller's thread).
    ///
    /// The chunk that reaches the end is returned only if the whole content matches its hash, so
    /// a caller that stops at the first error never hands out complete but damaged content.
    /// - Returns: An empty array at the end (the first call on empty content verifies it).
    /// - Throws: ``StoreError`` `dataLoss` when the content is shorter than recorded or does not
    ///   match its hash.
    func read(maxCount: Int) throws -> [UInt8]
}

extension BlobReader {
    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset >= size }

    /// Reads the next chunk of at most `maxCount` bytes on the blob I/O queue (see
    /// ``read(maxCount:)``).
    public func next(maxCount: Int) async throws -> [UInt8] {
        let reader = Blobs.Handoff(value: self)
        return try await Blobs.offload { try reader.value.read(maxCount: maxCount) }
    }
}
