import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Baseline for a unary call: a plain Unix-socket echo server, one thread per connection, that
/// writes back every byte it reads. No framing, no protobuf, no event loop: the floor for a
/// round trip of a given number of bytes on this machine.
final class RawEchoServer: @unchecked Sendable {
    let path: String
    private let listener: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            let bytes = Array(path.utf8)
            for (index, byte) in bytes.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        let fd = listener
        Thread.detachNewThread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { return }
                Thread.detachNewThread { RawEchoServer.serve(connection) }
            }
        }
    }

    private static func serve(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + written, count - written) }
                if n <= 0 { close(fd); return }
                written += n
            }
        }
        close(fd)
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
    }
}

/// A blocking client of ``RawEchoServer``.
final class RawEchoClient {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in Array(path.utf8).enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    /// Sends the message and reads the echo back into it: one round trip of its size each way.
    func roundTrip(_ message: inout [UInt8]) {
        let size = message.count
        message.withUnsafeMutableBytes { buffer in
            var sent = 0
            while sent < size {
                let n = write(fd, buffer.baseAddress! + sent, size - sent)
                precondition(n > 0, "raw echo write failed")
                sent += n
            }
            var received = 0
            while received < size {
                let n = read(fd, buffer.baseAddress! + received, size - received)
                precondition(n > 0, "raw echo read failed")
                received += n
            }
        }
    }

    /// Round-trip times, one at a time, in seconds.
    func measure(size: Int, count: Int, warmup: Int) -> [Double] {
        var message = [UInt8](repeating: 0x5a, count: size)
        for _ in 0..<warmup { roundTrip(&message) }
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = nowNs()
            roundTrip(&message)
            samples.append(Double(nowNs() - start) / 1e9)
        }
        return samples
    }

    /// Pipelined echo: `depth` messages in flight, for `seconds`; returns messages per second.
    func pipelined(size: Int, depth: Int, seconds: Double) -> Double {
        let batch = [UInt8](repeating: 0x5a, count: size * depth)
        var buffer = [UInt8](repeating: 0, count: size * depth)
        let start = now()
        var messages = 0
        while now() - start < seconds {
            batch.withUnsafeBytes { out in
                var sent = 0
                while sent < out.count {
                    let n = write(fd, out.baseAddress! + sent, out.count - sent)
                    precondition(n > 0)
                    sent += n
                }
            }
            buffer.withUnsafeMutableBytes { input in
                var received = 0
                while received < input.count {
                    let n = read(fd, input.baseAddress! + received, input.count - received)
                    precondition(n > 0)
                    received += n
                }
            }
            messages += depth
        }
        return Double(messages) / (now() - start)
    }
}
