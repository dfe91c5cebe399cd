public import TallyProto

/// The typed request messages of a client-streaming or bidirectional call.
///
/// A message that cannot be decoded ends iteration with ``RPCError/Code/invalidArgument``.
public struct RequestStream<Message: ProtoMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    public typealias Failure = any Error

    private let raw: RawMessageStream

    /// Wraps a raw stream.
    public init(raw: RawMessageStream) {
        self.raw = raw
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: raw.makeAsyncIterator())
    }

    /// Whether requests have arrived that iteration has not reached yet.
    public var hasBufferedMessages: Bool { raw.hasBufferedMessages }

    /// Iterates a ``RequestStream``.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: RawMessageStream.AsyncIterator

        public mutating func next() async throws -> Message? {
            guard let bytes = try await base.next() else { return nil }
            return try Message.decodeRequest(bytes)
        }
    }
}

extension ProtoMessage {
    /// Decodes a request, mapping failure to INVALID_ARGUMENT.
    static func decodeRequest(_ bytes: [UInt8]) throws -> Self {
        do {
            return try Self(serializedBytes: bytes)
        } catch {
            throw RPCError(
                code: .invalidArgument,
                message: "request is not a valid \(protoMessageName): \(error)",
                cause: error
            )
        }
    }

    /// Decodes a response, mapping failure to INTERNAL.
    static func decodeResponse(_ bytes: [UInt8]) throws -> Self {
        do {
            return try Self(serializedBytes: bytes)
        } catch {
            throw RPCError(
                code: .internalError,
                message: "response is not a valid \(protoMessageName): \(error)",
                cause: error
            )
        }
    }

    /// Encodes a request, mapping failure to INVALID_ARGUMENT (raised before anything is sent).
    func encodeRequest() throws -> [UInt8] {
        do {
            return try serializedBytes()
        } catch {
            throw RPCError(
                code: .invalidArgument,
                message: "request \(Self.protoMessageName) cannot be encoded: \(error)",
                cause: error
            )
        }
    }

    /// Encodes a response, mapping failure to INTERNAL.
    func encodeResponse() throws -> [UInt8] {
        do {
            return try serializedBytes()
        } catch {
            throw RPCError(
                code: .internalError,
                message: "response \(Self.protoMessageName) cannot be encoded: \(error)",
                cause: error
            )
        }
    }
}
