import NIOCore

/// Drops whatever a refused peer sends while it reads its GOAWAY.
final class DiscardingHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
