import NIOCore

/// The last handler of an accepted channel: hands each decoded frame to its
/// ``ServerConnection`` on the event loop, as it arrives, with no task in between.
final class ServerFrameHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame

    private let connection: ServerConnection

    init(connection: ServerConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.receive(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection.readComplete()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.receiveError(error)
    }
}
