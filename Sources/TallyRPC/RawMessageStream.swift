import Synchronization

/// An inbound stream of serialized messages of one call, as a transport delivers them.
///
/// A transport that does flow control passes `onConsumed`, called with each message's size as
/// the consumer takes it, so it can hand credit back to the peer.
public struct RawMessageStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    public typealias Failure = any Error

    private enum Source: Sendable {
        case single([UInt8])
        case stream(AsyncThrowingStream<[UInt8], any Error>, onConsumed: (@Sendable (Int) -> Void)?, backlog: Backlog)
    }

    private let source: Source

    /// A stream of exactly one message.
    /// - Parameter message: The message.
    public static func single(_ message: [UInt8]) -> RawMessageStream {
        RawMessageStream(source: .single(message))
    }

    /// A stream fed through a continuation, with an unbounded buffer (bound it with flow control).
    /// - Parameter onConsumed: Called with a message's byte count when the consumer takes it.
    /// - Returns: The stream and the continuation that feeds it.
    public static func makeStream(
        onConsumed: (@Sendable (Int) -> Void)? = nil
    ) -> (stream: RawMessageStream, continuation: Continuation) {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let backlog = Backlog()
        return (
            RawMessageStream(source: .stream(stream, onConsumed: onConsumed, backlog: backlog)),
            Continuation(base: continuation, backlog: backlog)
        )
    }

    /// Whether messages have arrived that the consumer has not taken yet: a consumer that groups
    /// work (a run's writes into one commit) waits for them rather than starting without them.
    public var hasBufferedMessages: Bool {
        switch source {
        case .single: false
        case .stream(_, _, let backlog): backlog.count.load(ordering: .acquiring) > 0
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .single(let message):
            return AsyncIterator(state: .single(message))
        case .stream(let stream, let onConsumed, let backlog):
            return AsyncIterator(state: .stream(stream.makeAsyncIterator(), onConsumed, backlog))
        }
    }

    /// Iterates a ``RawMessageStream``.
    public struct AsyncIterator: AsyncIteratorProtocol {
        enum State {
            case single([UInt8]?)
            case stream(AsyncThrowingStream<[UInt8], any Error>.Iterator, (@Sendable (Int) -> Void)?, Backlog)
        }

        var state: State

        public mutating func next() async throws -> [UInt8]? {
            switch state {
            case .single(let message):
                state = .single(nil)
                return message
            case .stream(var iterator, let onConsumed, let backlog):
                let message = try await iterator.next()
                state = .stream(iterator, onConsumed, backlog)
                if let message {
                    backlog.count.subtract(1, ordering: .releasing)
                    onConsumed?(message.count)
                }
                return message
            }
        }
    }
}

extension RawMessageStream {
    /// The same stream, also calling `callback` with each message's size as it is consumed.
    /// - Parameter callback: Called after any callback the stream already had.
    public func onConsumed(_ callback: @escaping @Sendable (Int) -> Void) -> RawMessageStream {
        switch source {
        case .single:
            return self
        case .stream(let stream, let existing, let backlog):
            return RawMessageStream(source: .stream(stream, onConsumed: { size in
                existing?(size)
                callback(size)
            }, backlog: backlog))
        }
    }
}
