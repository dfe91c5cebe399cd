import NIOCore
import Synchronization

/// Frames on their way to a channel, written in batches.
///
/// Any thread may hand frames in; they are written in the order handed in. The first frames
/// handed in after a flush schedule one task on the channel's event loop, which encodes all that
/// has gathered by the time it runs into one buffer (``FrameEncoder``) and writes and flushes it:
/// calls answered in the same turn of the event loop leave in one `write`.
final class FrameOutbox: Sendable {
    private enum Entry {
        case frame(Frame, EventLoopPromise<Void>?)
        case close(EventLoopPromise<Void>)
    }

    private struct State {
        var entries: [Entry] = []
        var scheduled = false
    }

    private let channel: any Channel
    private let state = Mutex(State())

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Queues frames.
    func enqueue(_ frames: [Frame]) {
        append(frames.map { .frame($0, nil) })
    }

    /// Queues frames; the future completes when the last one is written (or fails when the
    /// channel closed first).
    func submit(_ frames: [Frame]) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        guard !frames.isEmpty else {
            promise.succeed(())
            return promise.futureResult
        }
        var entries: [Entry] = frames.dropLast().map { .frame($0, nil) }
        entries.append(.frame(frames[frames.count - 1], promise))
        append(entries)
        return promise.futureResult
    }

    /// Closes the channel once the frames queued before have been written.
    /// - Returns: Completes when the channel has closed.
    @discardableResult
    func close() -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        append([.close(promise)])
        return promise.futureResult
    }

    private func append(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        let schedule = state.withLock { state in
            state.entries.append(contentsOf: entries)
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard schedule else { return }
        channel.eventLoop.execute { [self] in
            let entries = state.withLock { state in
                state.scheduled = false
                defer { state.entries.removeAll(keepingCapacity: true) }
                return state.entries
            }
            var closes: [EventLoopPromise<Void>] = []
            var promises: [EventLoopPromise<Void>] = []
            var size = 0
            for case .frame(let frame, _) in entries {
                size += Frame.headerSize + frame.payload.readableBytes
            }
            var buffer = channel.allocator.buffer(capacity: size)
            let encoder = FrameEncoder()
            for entry in entries {
                switch entry {
                case .frame(let frame, let promise):
                    encoder.write(frame, into: &buffer)
                    if let promise { promises.append(promise) }
                case .close(let promise):
                    closes.append(promise)
                }
            }
            if buffer.readableBytes > 0 {
                if promises.isEmpty {
                    channel.writeAndFlush(buffer, promise: nil)
                } else {
                    let written = channel.writeAndFlush(buffer)
                    for promise in promises { written.cascade(to: promise) }
                }
            }
            if let first = closes.first {
                channel.close(promise: first)
                for other in closes.dropFirst() { first.futureResult.cascade(to: other) }
            }
        }
    }
}
