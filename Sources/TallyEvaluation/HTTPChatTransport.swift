import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Posts JSON to a chat endpoint with AsyncHTTPClient and maps every failure to an
/// ``EvaluationError``: shared by the OpenAI and Ollama classifiers.
struct HTTPChatTransport: Sendable {
    /// The shared client; never shut down here.
    let client: HTTPClient
    /// The largest reply body accepted.
    static let maxReplyBytes = 4 << 20

    /// POSTs `body` to `url` and returns the reply body of a 2xx answer.
    ///
    /// - Throws: `.unreachable` for connection failures, `.timeout` when the request (head and
    ///   body) does not finish within `timeout`, `.http` for a non-2xx status (with the status and
    ///   the start of the body), `CancellationError` when cancelled.
    func post(url: String, headers: [(String, String)], body: Data, timeout: Duration) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: body))

        let deadline = ContinuousClock.now.advanced(by: timeout)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
        } catch {
            try Task.checkCancellation()
            throw Self.map(error, url: url, timeout: timeout)
        }
        let timeoutError = EvaluationError(code: .timeout, message: "no complete reply from \(url) within \(timeout)")
        let buffer: ByteBuffer
        do {
            buffer = try await withDeadline(deadline, timeoutError: timeoutError) {
                try await response.body.collect(upTo: Self.maxReplyBytes)
            }
        } catch let error as EvaluationError {
            throw error
        } catch {
            try Task.checkCancellation()
            if error is NIOTooManyBytesError {
                throw EvaluationError(
                    code: .http, message: "the reply from \(url) is larger than \(Self.maxReplyBytes) bytes",
                    cause: error, httpStatus: Int(response.status.code))
            }
            throw EvaluationError(
                code: .http, message: "the reply from \(url) broke off: \(error)", cause: error,
                httpStatus: Int(response.status.code))
        }
        let data = Data(buffer: buffer)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let text = String(decoding: data.prefix(200), as: UTF8.self)
            throw EvaluationError(
                code: .http, message: "\(url) answered HTTP \(status) \(response.status.reasonPhrase): \(text)",
                httpStatus: status,
                retryAfter: response.headers.first(name: "retry-after").flatMap { Self.retryAfter($0, now: Date()) })
        }
        return data
    }

    /// A `Retry-After` value as a wait: delay-seconds (`"2"`, also `"1.5"`) or an HTTP date
    /// (`"Wed, 21 Oct 2026 07:28:00 GMT"`, a wait of zero once past); `nil` when it is neither.
    static func retryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 {
            return .milliseconds(Int64(min(seconds, 1e9) * 1000))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(Int64(max(0, min(date.timeIntervalSince(now), 1e9)) * 1000))
    }

    /// Maps an error of `HTTPClient.execute` (no reply head received) to an ``EvaluationError``.
    static func map(_ error: any Error, url: String, timeout: Duration) -> EvaluationError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .getConnectionFromPoolTimeout:
                return EvaluationError(code: .timeout, message: "no reply from \(url) within \(timeout)", cause: error)
            case .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath:
                return EvaluationError(code: .invalidConfiguration, message: "cannot request \(url): \(error)", cause: error)
            default:
                break
            }
        }
        return EvaluationError(code: .unreachable, message: "cannot connect to \(url): \(error)", cause: error)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
    }

    /// `base` without trailing slashes, then `path`.
    static func join(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }
}
