import NIOCore
import SporWire

/// Closes connections that do not say HELLO within the handshake timeout, or that
/// send nothing at all for the idle timeout, after an ERROR frame saying why.
/// Sits after the frame decoder, so it sees decoded messages; writes its ERROR as
/// an encoded frame (outbound frames are encoded before they enter the pipeline).
final class ConnectionTimeouts: ChannelInboundHandler {
    typealias InboundIn = SporMessage
    typealias InboundOut = SporMessage
    typealias OutboundOut = ByteBuffer

    private let helloTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var sawFirstMessage = false
    private var lastRead = NIODeadline.now()
    private var check: RepeatedTask?

    init(helloTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.helloTimeout = helloTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastRead = .now()
        let interval = TimeAmount.nanoseconds(max(min(helloTimeout.nanoseconds, idleTimeout.nanoseconds) / 4, 50_000_000))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            handler.checkDeadlines(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sawFirstMessage = true
        lastRead = .now()
        context.fireChannelRead(data)
    }

    private func checkDeadlines(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        let error: SporMessage.ErrorReport
        if !sawFirstMessage, now - lastRead >= helloTimeout {
            error = .init(code: .idleTimeout, message: "no HELLO within \(helloTimeout.nanoseconds / 1_000_000_000) s")
        } else if sawFirstMessage, now - lastRead >= idleTimeout {
            error = .init(code: .idleTimeout, message: "nothing received for \(idleTimeout.nanoseconds / 1_000_000_000) s; "
                          + "send PING to keep a quiet connection open")
        } else {
            return
        }
        check?.cancel()
        check = nil
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(Outbox.encode(.error(error), allocator: context.channel.allocator))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
