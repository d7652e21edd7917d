import NIOCore
import NIOHTTP1

/// The operations port (`spor-server serve --metrics HOST:PORT`), HTTP/1.1 via NIOHTTP1,
/// one response per request:
///
/// - `GET /metrics`: the server's metrics in Prometheus text format;
/// - `GET /healthz`: 200 "ok" whenever the process answers (a liveness probe: restart
///   it if this fails);
/// - `GET /readyz`: 200 "ready" while the server accepts connections and its store
///   answers a read; 503 with the reason while it starts, drains for shutdown, or the
///   store does not answer (a readiness probe: send it no clients then);
/// - anything else: 404 naming the three, or 405 for a method other than GET and HEAD.
///
/// The readiness check runs off the event loop (it reads the store).
final class OperationsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Why the server is not ready, or nil when it is.
    typealias ReadinessCheck = @Sendable () async -> String?

    private let renderMetrics: @Sendable () -> String
    private let notReadyReason: ReadinessCheck
    private var requestHead: HTTPRequestHead?

    init(metrics: @escaping @Sendable () -> String, readiness: @escaping ReadinessCheck) {
        renderMetrics = metrics
        notReadyReason = readiness
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            requestHead = head
        case .body:
            break
        case .end:
            guard let head = requestHead else { return }
            requestHead = nil
            let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
            guard head.method == .GET || head.method == .HEAD else {
                return respond(context, head, .methodNotAllowed, "only GET and HEAD are answered here\n", extra: [("Allow", "GET, HEAD")])
            }
            switch path {
            case "/metrics":
                respond(context, head, .ok, renderMetrics(), contentType: "text/plain; version=0.0.4; charset=utf-8")
            case "/healthz":
                respond(context, head, .ok, "ok\n")
            case "/readyz":
                let check = notReadyReason
                let answered = context.eventLoop.makeFutureWithTask { await check() }
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                answered.whenSuccess { reason in
                    let (handler, context) = loopBound.value
                    if let reason {
                        handler.respond(context, head, .serviceUnavailable, "not ready: \(reason)\n")
                    } else {
                        handler.respond(context, head, .ok, "ready\n")
                    }
                }
            default:
                respond(context, head, .notFound, "not found: this port answers /metrics, /healthz and /readyz\n")
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ body: String,
                         contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = []) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in extra { headers.add(name: name, value: value) }
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let keepAlive = request.isKeepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
