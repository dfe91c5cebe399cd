import NIOCore
import Synchronization
import TallyRPC

/// Frames on their way to a channel, written in batches, with a fixed bound on what is held.
///
/// Any thread may hand frames in; they are written in the order handed in. The first frames
/// handed in after a flush schedule one task on the channel's event loop, which encodes all that
/// has gathered by the time it runs into one buffer (``FrameEncoder``) and writes and flushes it:
/// calls answered in the same turn of the event loop leave in one `write`.
///
/// **Bound.** The outbox counts the bytes it *holds*: frames handed in whose write to the socket
/// has not completed, whether they wait here or in the channel's write buffer. Response data goes
/// through ``reserve(_:)`` first, which suspends the caller while `limit` or more bytes are held
/// (or reserved), in first-come order; so a peer that stops reading makes the handlers writing to
/// it wait instead of making the daemon buffer. Response data held is therefore below
/// `limit + one batch` (a batch is one message and its END). Control frames (HELLO, PONG, WINDOW,
/// GOAWAY, the END of a call refused or ended by the connection) are handed in without waiting:
/// they come from the frame reader, which stops reading while the channel is not writable.
final class FrameOutbox: Sendable {
    private enum Entry {
        case frame(Frame, EventLoopPromise<Void>?)
        case close(EventLoopPromise<Void>)
    }

    private struct State {
        var entries: [Entry] = []
        var scheduled = false
    }

    /// Largest buffer one write hands to the channel; bigger batches are split.
    static let chunkSize = 1 << 20
    /// Payloads of at least this size are written without being copied into a batch buffer.
    static let largePayload = 64 << 10
    private let channel: any Channel
    private let state = Mutex(State())
    /// The room left: `limit` less the bytes held and reserved. Writers wait in it, first come
    /// first served, while it is not positive; it may go below zero by one batch.
    private let room: FlowWindow

    /// Creates an outbox; `limit` defaults to no bound (the client side, whose writers are
    /// bounded by its calls' windows).
    init(channel: any Channel, limit: Int = .max / 2) {
        self.channel = channel
        self.room = FlowWindow(initial: max(1, limit))
    }

    /// The bytes `frames` take on the wire.
    static func wireSize(_ frames: [Frame]) -> Int {
        frames.reduce(0) { $0 + Frame.headerSize + $1.payload.readableBytes }
    }

    /// Waits for room for `bytes` of response data and reserves it; hand the frames in with
    /// ``enqueue(_:reserved:)`` or give the reservation back with ``cancelReservation(_:)``.
    /// - Throws: `CancellationError` when the task is cancelled while waiting; the connection's
    ///   error once it has closed.
    func reserve(_ bytes: Int) async throws {
        try await room.acquire(bytes)
    }

    /// Gives back a reservation that will not be used.
    func cancelReservation(_ bytes: Int) {
        room.release(bytes)
    }

    /// Fails waiting and future reservations (the connection has closed).
    func fail(_ error: RPCError) {
        room.fail(error)
    }

    /// Queues frames. `reserved` is the part of them reserved with ``reserve(_:)``.
    func enqueue(_ frames: [Frame], reserved: Int = 0) {
        append(frames.map { .frame($0, nil) }, bytes: Self.wireSize(frames), reserved: reserved)
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
        append(entries, bytes: Self.wireSize(frames), reserved: 0)
        return promise.futureResult
    }

    /// Closes the channel once the frames queued before have been written.
    /// - Returns: Completes when the channel has closed.
    @discardableResult
    func close() -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        append([.close(promise)], bytes: 0, reserved: 0)
        return promise.futureResult
    }

    /// Bytes whose write completed (or failed): they are no longer held.
    private func written(_ bytes: Int) {
        room.release(bytes)
    }

    /// Queues entries of `bytes` on the wire, `reserved` of which were reserved already: the rest
    /// (control frames, which cannot wait) takes its room at once.
    private func append(_ entries: [Entry], bytes: Int, reserved: Int) {
        guard !entries.isEmpty else { return }
        if bytes > reserved { room.take(bytes - reserved) }
        let schedule = state.withLock { state in
            state.entries.append(contentsOf: entries)
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard schedule else { return }
        channel.eventLoop.execute { [self] in
            flush()
        }
    }

    /// On the event loop: encodes and writes everything queued, in buffers of about
    /// ``chunkSize`` bytes, and flushes once.
    private func flush() {
        let entries = state.withLock { state in
            state.scheduled = false
            defer { state.entries.removeAll(keepingCapacity: true) }
            return state.entries
        }
        var closes: [EventLoopPromise<Void>] = []
        var promises: [EventLoopPromise<Void>] = []
        let encoder = FrameEncoder()
        var buffer: ByteBuffer?
        var lastWrite: EventLoopFuture<Void>?
        func send(_ full: ByteBuffer) {
            let bytes = full.readableBytes
            let done = channel.eventLoop.makePromise(of: Void.self)
            done.futureResult.whenComplete { [self] _ in written(bytes) }
            channel.write(full, promise: done)
            lastWrite = done.futureResult
        }
        for entry in entries {
            switch entry {
            case .frame(let frame, let promise):
                let size = Frame.headerSize + frame.payload.readableBytes
                if let current = buffer, current.readableBytes > 0, current.readableBytes + size > Self.chunkSize {
                    send(current)
                    buffer = nil
                }
                if buffer == nil {
                    buffer = channel.allocator.buffer(capacity: min(max(size, 256), Self.largePayload + Frame.headerSize))
                }
                if frame.payload.readableBytes >= Self.largePayload {
                    // A large payload is written as it is, after its header: no copy.
                    encoder.writeHeader(frame, into: &buffer!)
                    send(buffer!)
                    buffer = nil
                    send(frame.payload)
                } else {
                    encoder.write(frame, into: &buffer!)
                }
                if let promise { promises.append(promise) }
            case .close(let promise):
                closes.append(promise)
            }
        }
        if let current = buffer, current.readableBytes > 0 {
            send(current)
        }
        if let lastWrite {
            channel.flush()
            // Writes complete in order: the last one's completion covers every frame before it.
            for promise in promises { lastWrite.cascade(to: promise) }
        } else {
            for promise in promises { promise.succeed(()) }
        }
        if let first = closes.first {
            channel.close(promise: first)
            for other in closes.dropFirst() { first.futureResult.cascade(to: other) }
        }
    }
}
