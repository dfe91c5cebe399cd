import Foundation
import TallyProto
#if canImport(Glibc)
import Glibc
#endif

/// A blocking Unix-socket client speaking raw frames, for tests of protocol violations and of
/// peers that misbehave (never read, hang up mid-frame).
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    init(path: String, receiveTimeout: Double = 5) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Makes `send` fail instead of blocking for longer than `seconds` (a server that stops
    /// reading from a peer that does not read).
    func setSendTimeout(_ seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    static func frame(kind: UInt8, flags: UInt8 = 0, callID: UInt32, payload: [UInt8] = [], magic: UInt8 = 0xA1) -> [UInt8] {
        var bytes: [UInt8] = [magic, kind, flags, 0]
        bytes += withUnsafeBytes(of: callID.bigEndian, Array.init)
        bytes += withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init)
        return bytes + payload
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            offset += written
        }
    }

    func hello(minVersion: UInt32 = 1, maxVersion: UInt32 = 1, initialWindow: UInt32 = 0, maxFrameSize: UInt32 = 0) throws {
        var hello = Hello()
        hello.minVersion = minVersion
        hello.maxVersion = maxVersion
        hello.clientName = "raw-test"
        hello.initialWindow = initialWindow
        hello.maxFrameSize = maxFrameSize
        try send(Self.frame(kind: 1, callID: 0, payload: hello.serializedBytes()))
    }

    /// Sends HELLO and reads frames up to the server's HELLO; `nil` if a GOAWAY or the end of
    /// the stream came instead.
    func handshake(initialWindow: UInt32 = 0) async throws -> HelloReply? {
        try hello(initialWindow: initialWindow)
        guard let frame = try await readFrame(), frame.kind == 1 else { return nil }
        return try HelloReply(serializedBytes: frame.payload)
    }

    /// Half-closes the socket: the server sees the end of the stream, and this side can still
    /// read.
    func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    func start(callID: UInt32, method: String) throws {
        var start = CallStart()
        start.method = method
        try send(Self.frame(kind: 2, callID: callID, payload: start.serializedBytes()))
    }

    private func readExactly(_ count: Int) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = buffer[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return nil }  // closed
            guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            offset += n
        }
        return buffer
    }

    /// Runs a blocking socket call on a thread of its own, never on the cooperative pool (the
    /// daemon under test runs there, in the same process).
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Reads one frame; `nil` when the server closed the connection.
    func readFrame() async throws -> (kind: UInt8, flags: UInt8, callID: UInt32, payload: [UInt8])? {
        try await blocking { try self.readFrameNow() }
    }

    private func readFrameNow() throws -> (kind: UInt8, flags: UInt8, callID: UInt32, payload: [UInt8])? {
        guard let header = try readExactly(12) else { return nil }
        let callID = header[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let length = header[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard let payload = try readExactly(Int(length)) else { return nil }
        return (header[1], header[2], callID, payload)
    }

    /// Reads frames until one of `kind` arrives (skipping others); `nil` if the connection closed.
    func read(kind: UInt8) async throws -> (kind: UInt8, flags: UInt8, callID: UInt32, payload: [UInt8])? {
        while let frame = try await readFrame() {
            if frame.kind == kind { return frame }
        }
        return nil
    }

    /// Reads until the server closes the connection: `true` on end of stream, `false` when the
    /// receive timeout passes first.
    func waitForClose() async -> Bool {
        while true {
            do {
                guard try await readFrame() != nil else { return true }
            } catch {
                return false
            }
        }
    }
}
