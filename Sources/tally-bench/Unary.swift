import Foundation
import TallyAPI
import TallyClient
import TallyProto

/// The method a small unary call uses, and the bytes one such call puts on the socket.
enum SmallCall {
    static let method = "/tally.v1.Diagnostics/Echo"

    static func request() -> EchoRequest {
        var request = EchoRequest()
        request.payload = [UInt8](repeating: 7, count: 16)
        return request
    }

    /// Client to server: a START frame (12-byte header, CallStart with the method) and a MESSAGE
    /// frame (header plus the request). The server's answer (MESSAGE plus END) is smaller, so the
    /// raw echo of this many bytes each way is a floor for the call.
    static func wireBytes() throws -> Int {
        let start = 12 + 2 + method.utf8.count
        let message = 12 + (try request().serializedBytes().count)
        return start + message
    }
}

struct UnaryResult {
    var rawP50: Double
    var rawP99: Double
    var rawPipelinedPerSecond: Double
}

/// Unary round trips: raw echo baseline, then the Swift client one call at a time, then many
/// calls in flight on one connection.
func benchUnary(report: Report, daemon: DaemonProcess, echo: RawEchoServer, quick: Bool) async throws {
    let size = try SmallCall.wireBytes()
    let count = quick ? 5_000 : 20_000
    log("unary: raw echo of \(size) bytes, \(count) round trips")
    let raw = try RawEchoClient(path: echo.path)
    let rawSamples = raw.measure(size: size, count: count, warmup: 2_000).sorted()
    let rawP50 = quantile(rawSamples, 0.5)
    let rawP99 = quantile(rawSamples, 0.99)

    let client = try await daemon.waitUntilReady()
    defer { Task { await client.close() } }
    let diagnostics = client.diagnostics
    let request = SmallCall.request()
    for _ in 0..<2_000 { _ = try await diagnostics.echo(request) }
    /// Round-trip times of `count` calls one after another, sorted, in seconds.
    func roundTrips() async throws -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = nowNs()
            _ = try await diagnostics.echo(request)
            samples.append(Double(nowNs() - start) / 1e9)
        }
        return samples.sorted()
    }
    // Calls from a task on the shared pool: each answer wakes the caller's thread.
    let poolSamples = try await roundTrips()
    // Calls from a task that prefers the connection's event loop: no thread hop in between.
    let samples = try await withTaskExecutorPreference(client.taskExecutor) { try await roundTrips() }
    let p50 = quantile(samples, 0.5)
    let p99 = quantile(samples, 0.99)
    let poolP50 = quantile(poolSamples, 0.5)
    let poolP99 = quantile(poolSamples, 0.99)
    report.add(Figure(
        name: "Unary round trip p50 (Swift client, caller on the shared pool; p99 \(micros(poolP99)))",
        value: micros(poolP50), baseline: micros(rawP50) + " raw Unix-socket echo of \(size) B",
        ratio: ratio(poolP50 / rawP50), target: "—", met: nil))
    report.add(Figure(
        name: "Unary round trip p50 (Swift client, \(size) B request, 1 connection, caller on the connection's event loop)",
        value: micros(p50), baseline: micros(rawP50) + " raw Unix-socket echo of \(size) B",
        ratio: ratio(p50 / rawP50), target: "<= 2x", met: p50 / rawP50 <= 2))
    report.add(Figure(
        name: "Unary round trip p99 (Swift client)",
        value: micros(p99), baseline: micros(rawP99) + " raw echo p99",
        ratio: ratio(p99 / rawP99), target: "<= 5x", met: p99 / rawP99 <= 5))

    // Many calls in flight on one connection.
    let depth = 64
    let seconds = quick ? 1.5 : 3.0
    let rawRate = raw.pipelined(size: size, depth: depth, seconds: 1.0)
    log("unary: pipelined, \(depth) calls in flight on one connection, \(seconds) s")
    func pipelined(on executor: (any TaskExecutor)?) async throws -> Double {
        let deadline = now() + seconds
        let start = now()
        let calls = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<depth {
                group.addTask(executorPreference: executor) {
                    var done = 0
                    while now() < deadline {
                        _ = try await diagnostics.echo(request)
                        done += 1
                    }
                    return done
                }
            }
            var total = 0
            for try await done in group { total += done }
            return total
        }
        return Double(calls) / (now() - start)
    }
    let poolRate = try await pipelined(on: nil)
    let rate = try await pipelined(on: client.taskExecutor)
    report.add(Figure(
        name: "Pipelined unary calls, 1 connection, \(depth) in flight, callers on the shared pool",
        value: grouped(poolRate) + " calls/s", baseline: grouped(rawRate) + " msgs/s raw echo, \(depth) in flight",
        ratio: ratio(poolRate / rawRate), target: "—", met: nil))
    report.add(Figure(
        name: "Pipelined unary calls, 1 connection, \(depth) in flight, callers on the connection's event loop",
        value: grouped(rate) + " calls/s", baseline: grouped(rawRate) + " msgs/s raw echo, \(depth) in flight",
        ratio: ratio(rate / rawRate), target: ">= 200,000 calls/s", met: rate >= 200_000))
}
