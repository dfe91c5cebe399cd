import Synchronization

extension RawMessageStream {
    /// Messages fed to a stream and not yet taken by its consumer.
    final class Backlog: Sendable {
        let count = Atomic<Int>(0)
    }

    /// What a transport feeds a ``RawMessageStream`` through: an `AsyncThrowingStream`
    /// continuation that also counts the messages not yet consumed
    /// (``RawMessageStream/hasBufferedMessages``).
    public struct Continuation: Sendable {
        public typealias YieldResult = AsyncThrowingStream<[UInt8], any Error>.Continuation.YieldResult
        public typealias Termination = AsyncThrowingStream<[UInt8], any Error>.Continuation.Termination

        private let base: AsyncThrowingStream<[UInt8], any Error>.Continuation
        private let backlog: Backlog

        init(base: AsyncThrowingStream<[UInt8], any Error>.Continuation, backlog: Backlog) {
            self.base = base
            self.backlog = backlog
        }

        /// Feeds a message.
        @discardableResult
        public func yield(_ message: [UInt8]) -> YieldResult {
            backlog.count.add(1, ordering: .releasing)
            let result = base.yield(message)
            if case .terminated = result { backlog.count.subtract(1, ordering: .releasing) }
            return result
        }

        /// Ends the stream, with `error` if given.
        public func finish(throwing error: (any Error)? = nil) {
            base.finish(throwing: error)
        }

        /// Called once the stream ends, as the base continuation's.
        public var onTermination: (@Sendable (Termination) -> Void)? {
            get { base.onTermination }
            nonmutating set { base.onTermination = newValue }
        }
    }
}
