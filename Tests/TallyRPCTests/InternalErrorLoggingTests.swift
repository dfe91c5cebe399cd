import Logging
import Synchronization
import Testing
import TallyAPI
import TallyProto
import TallyRPC

/// A log handler that keeps what it is given.
final class CapturedLog: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    var all: [Entry] { entries.withLock { $0 } }

    func handler(label: String) -> some LogHandler { Handler(log: self) }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged: [String: String] = [:]
            for (key, value) in metadata { merged[key] = "\(value)" }
            for (key, value) in event.metadata ?? [:] { merged[key] = "\(value)" }
            let entry = Entry(level: event.level, message: "\(event.message)", metadata: merged)
            log.entries.withLock { $0.append(entry) }
        }
    }
}

@Suite("INTERNAL answers are logged with their cause")
struct InternalErrorLoggingTests {
    func call(_ failMessage: String, log: CapturedLog) async -> RPCError? {
        var router = RPCRouter()
        ScriptedDiagnostics().registerMethods(with: &router)
        let logger = Logger(label: "test") { label in log.handler(label: label) }
        let client = DiagnosticsClient(transport: InProcessTransport(router: router, logger: logger))
        var request = EchoRequest()
        request.failMessage = failMessage
        do {
            _ = try await client.echo(request)
            return nil
        } catch {
            return error as? RPCError
        }
    }

    @Test("an RPCError INTERNAL with a cause (a wrapped store error) is logged with the cause", arguments: ["wrapped", "boom"])
    func loggedWithCause(failMessage: String) async throws {
        let log = CapturedLog()
        let error = try #require(await call(failMessage, log: log))
        #expect(error.code == .internalError)
        #expect(error.message == "internal error")
        let logged = log.all.filter { $0.level == .error }
        #expect(logged.count == 1)
        #expect(logged.first?.metadata["error"]?.contains("Boom") == true)
        #expect(logged.first?.metadata["method"]?.contains("Echo") == true)
    }

    @Test("statuses other than INTERNAL are not logged as errors")
    func otherStatusesQuiet() async throws {
        let log = CapturedLog()
        var router = RPCRouter()
        ScriptedDiagnostics().registerMethods(with: &router)
        let logger = Logger(label: "test") { label in log.handler(label: label) }
        let client = DiagnosticsClient(transport: InProcessTransport(router: router, logger: logger))
        var request = EchoRequest()
        request.failCode = RPCError.Code.notFound.rawValue
        request.failMessage = "nope"
        await #expect(throws: RPCError.self) { _ = try await client.echo(request) }
        #expect(log.all.filter { $0.level == .error }.isEmpty)
    }
}
