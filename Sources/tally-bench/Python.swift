import Foundation

/// Runs `bench_targets.py` with the given interpreter and returns its JSON answer.
private func runPython(python: String, script: String, arguments: [String]) throws -> [String: Double] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [python, script] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(script) \(arguments.first ?? "") failed"])
    }
    return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
}

/// Python stub unary p50 against a Python raw ping-pong with the same echo server.
func benchPythonUnary(report: Report, python: String, script: String, daemon: DaemonProcess, echo: RawEchoServer, quick: Bool) throws {
    let size = try SmallCall.wireBytes()
    log("python: unary stub vs raw ping-pong")
    let result = try runPython(python: python, script: script, arguments: [
        "unary", "--socket", daemon.socketPath, "--echo", echo.path, "--size", "\(size)", "--count", quick ? "3000" : "10000",
    ])
    let p50 = result["stub_p50_ns", default: .nan] / 1e9
    let raw = result["raw_p50_ns", default: .nan] / 1e9
    report.add(Figure(
        name: "Unary round trip p50 (Python stub, \(size) B request; p99 \(micros(result["stub_p99_ns", default: .nan] / 1e9)))",
        value: micros(p50), baseline: micros(raw) + " Python raw ping-pong, same echo",
        ratio: ratio(p50 / raw), target: "<= 3x", met: p50 / raw <= 3))
}

/// The Python training loop: per-call cost of run.log and the whole loop until acknowledged.
func benchPythonLoop(report: Report, python: String, script: String, daemon: DaemonProcess) throws {
    log("python: training loop, 10,000 steps x 5 metrics")
    let result = try runPython(python: python, script: script, arguments: ["loop", "--socket", daemon.socketPath])
    let call = result["call_median_ns", default: .nan] / 1e9
    let bare = result["loop_bare_s", default: .nan]
    let ingest = result["ingest_50k_s", default: .nan]
    let whole = result["loop_whole_s", default: .nan]
    report.add(Figure(
        name: "Python run.log({5 metrics}, step=i), median per call (p99 \(micros(result["call_p99_ns", default: .nan] / 1e9)))",
        value: micros(call), baseline: micros(bare / 10_000) + " per step of the loop without logging",
        ratio: ratio(call / (bare / 10_000)), target: "<= 5 µs", met: call <= 5e-6))
    report.add(Figure(
        name: "Python loop of 10,000 steps x 5 metrics, first call to all acknowledged",
        value: millis(whole), baseline: millis(bare) + " loop without logging + " + millis(ingest) + " ingest of 50,000 points",
        ratio: ratio(whole / (bare + ingest)), target: "< 2x", met: whole < 2 * (bare + ingest)))
}
