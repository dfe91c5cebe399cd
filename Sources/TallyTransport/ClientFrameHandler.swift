import NIOCore
import NIOSSL
import TallyRPC

/// The last handler of a client channel: hands each frame to its ``ClientConnection`` on the
/// event loop, and tells it when the channel closes.
final class ClientFrameHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame

    private let connection: ClientConnection
    private var failure: RPCError?

    init(connection: ClientConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        switch unwrapInboundIn(data) {
        case .frame(let frame):
            do {
                try connection.handle(frame)
            } catch let error as RPCError {
                fail(context, error)
            } catch {
                fail(context, RPCError(code: .unavailable, message: "the connection to the daemon failed: \(error)", cause: error))
            }
        case .oversized:
            fail(context, RPCError(code: .resourceExhausted, message: "the daemon sent a frame over the negotiated limit"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            fail(context, RPCError(
                code: .unavailable,
                message: "TLS with the daemon failed: \(error); is its certificate for this host name, and signed by a CA this client trusts (TALLY_CA)?",
                cause: error
            ))
            return
        }
        fail(context, RPCError(code: .unavailable, message: "the connection to the daemon failed: \(error)", cause: error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.connectionEnded(failure ?? RPCError(code: .unavailable, message: "the connection to the daemon closed"))
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ error: RPCError) {
        if failure == nil { failure = error }
        context.close(promise: nil)
    }
}
