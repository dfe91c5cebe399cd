import NIOCore
import TallyProto
import TallyRPC

extension ServerConnection {
    /// The phase of a server connection.
    enum Phase: Equatable {
        /// Accepted; the first frame must be HELLO.
        case awaitingHello
        /// Handshake done; calls may start.
        case ready
        /// GOAWAY sent or received: calls in flight finish, new ones are refused.
        case draining
        /// Closed: nothing more happens.
        case closed
    }

    /// One call the connection is serving. A class, so that the dictionary of calls holds
    /// references rather than copies; its fields change only under the connection's lock.
    final class CallEntry: @unchecked Sendable {
        let route: RPCRouter.Route
        let context: ServerContext
        let outboundWindow: FlowWindow
        var requestContinuation: RawMessageStream.Continuation?
        var task: Task<Void, Never>?
        var receivedRequest = false
        var requestsClosed = false
        /// Bytes the client may still send before it needs more credit.
        var inboundCredit: Int
        /// Bytes the handler consumed since credit was last granted back.
        var consumedSinceGrant = 0
        /// The response of a single-response call, held until END so both leave in one write.
        var pendingResponse: [UInt8]?
        /// The client sent CANCEL: the END says CANCELLED whatever the handler returns.
        var cancelledByClient = false
        /// Ends a single-request call that never receives its request by its deadline.
        var requestTimer: Task<Void, Never>?

        init(route: RPCRouter.Route, context: ServerContext, outboundWindow: FlowWindow, inboundCredit: Int) {
            self.route = route
            self.context = context
            self.outboundWindow = outboundWindow
            self.inboundCredit = inboundCredit
        }
    }

    /// Everything about a connection that changes, guarded by one lock.
    struct State {
        private(set) var phase = Phase.awaitingHello
        var calls: [UInt32: CallEntry] = [:]
        private(set) var lastCallID: UInt32 = 0
        /// Credit the client grants per call (from its HELLO).
        var peerWindow = 0
        /// Largest payload the client accepts (from its HELLO).
        var peerMaxFrame = 0
        /// Who the access token of the HELLO stands for, on a listener that asks for one.
        var authenticated: Caller?
        /// START payloads seen on this connection, decoded: a client calling the same method
        /// again sends the same bytes, which then need no decoding.
        private(set) var knownStarts: [ByteBuffer: CallStart] = [:]

        /// Keeps a decoded START payload for the next calls that send the same bytes (at most
        /// 64 kinds of START per connection are kept; past that the memory starts over).
        mutating func remember(_ start: CallStart, payload: ByteBuffer) {
            guard payload.readableBytes <= 512 else { return }
            if knownStarts.count >= 64 { knownStarts.removeAll() }
            knownStarts[payload] = start
        }

        mutating func receiveHello() throws {
            switch phase {
            case .awaitingHello:
                phase = .ready
            case .ready, .draining:
                throw ConnectionError(code: .invalidArgument, message: "HELLO may only be sent once, as the first frame")
            case .closed:
                throw ConnectionError(code: .unavailable, message: "the connection is closed")
            }
        }

        /// Checks that a frame other than HELLO may be processed.
        func requireHandshake(for kind: FrameKind) throws {
            if phase == .awaitingHello {
                throw ConnectionError(code: .invalidArgument, message: "the first frame must be HELLO, got \(kind)")
            }
        }

        /// Records a new call id, which must be above every earlier one.
        mutating func claimCallID(_ id: UInt32) throws {
            guard id != 0 else {
                throw ConnectionError(code: .invalidArgument, message: "call id 0 is reserved for connection frames")
            }
            guard id > lastCallID else {
                throw ConnectionError(
                    code: .invalidArgument,
                    message: "call id \(id) is not above the last call id \(lastCallID): call ids must increase and are never reused"
                )
            }
            lastCallID = id
        }

        /// Stops taking calls. Returns whether the phase changed.
        mutating func startDraining() -> Bool {
            switch phase {
            case .awaitingHello, .ready:
                phase = .draining
                return true
            case .draining, .closed:
                return false
            }
        }

        /// Closes the connection, handing back the calls still open.
        mutating func close() -> [CallEntry] {
            phase = .closed
            defer { calls.removeAll() }
            return Array(calls.values)
        }

        var isDrainedAndIdle: Bool { phase == .draining && calls.isEmpty }

        /// Whether a frame for a call that is not open is late (the call ended: ignore it) or
        /// names a call that was never started (a protocol violation).
        func checkUnknownCall(_ id: UInt32, kind: FrameKind) throws {
            if id == 0 {
                throw ConnectionError(code: .invalidArgument, message: "\(kind) on call id 0, which is reserved for connection frames")
            }
            if id > lastCallID {
                throw ConnectionError(code: .invalidArgument, message: "\(kind) for call \(id), which was never started")
            }
        }
    }
}
