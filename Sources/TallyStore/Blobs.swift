#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Dispatch
public import Foundation

/// What every ``BlobStore`` shares: content hashes, the I/O queue and I/O errors.
public enum Blobs {
    /// The lower-case hex SHA-256 of `bytes`.
    public static func sha256(of bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Whether `text` is a lower-case hex SHA-256.
    public static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Lower-case hex of a digest.
    package static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in digest {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - I/O

    /// Blob I/O runs here, off the callers' threads: neither an event loop nor the shared pool
    /// of Swift tasks (two threads on a two-core machine) waits on a slow disk or network.
    static let ioQueue = DispatchQueue(label: "tally.blob-io", qos: .userInitiated, attributes: .concurrent)

    /// A value handed to the I/O queue by a caller that waits for the work to end, so that only
    /// one thread touches it at a time.
    struct Handoff<Value>: @unchecked Sendable {
        let value: Value
    }

    /// Runs `body` on the I/O queue and returns its result.
    package static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            ioQueue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// I/O failures other than a full disk, reported as INTERNAL.
    static let ioFailed = StoreError.Code(rawValue: "io_failed")

    /// The error of a failed system call: `resourceExhausted` for a full disk or quota.
    package static func ioError(_ what: String, errno code: Int32) -> StoreError {
        let reason = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT {
            return StoreError(code: .resourceExhausted, message: "\(what): \(reason)", cause: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO))
        }
        return StoreError(code: ioFailed, message: "\(what): \(reason)", cause: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO))
    }
}
