import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on loopback between one client and the server, with faults switched
/// on and off by the test: connections cut in the middle of a frame, bytes delayed,
/// traffic stalled, the client partitioned (connections refused), and cut
/// connections left half-open towards the server (so the server still sees the old
/// session when the client reconnects). It counts connection attempts, so a test can
/// tell a reconnect storm from backoff.
final class FaultProxy: Sendable {
    /// What the proxy does to traffic now.
    struct Faults: Sendable {
        /// Cut each connection after this many bytes from the server (mid-frame),
        /// counted per connection.
        var cutAfterServerBytes: Int?
        /// Keep the server side open when cutting the client side.
        var leaveServerSideOpen = false
        /// Hold every byte in both directions until cleared.
        var stalled = false
        /// Delay every chunk by this much.
        var delay: Duration = .zero
        /// Refuse new connections and cut existing ones.
        var partitioned = false
    }

    private struct State {
        var faults = Faults()
        var attempts = 0
        var cuts = 0
        var open: [ObjectIdentifier: Channel] = [:]
        var halfOpen: [Channel] = []
    }

    let port: Int
    private let upstreamPort: Int
    private let state: Mutex<State>
    private let listener: Channel

    init(upstreamPort: Int) async throws {
        self.upstreamPort = upstreamPort
        let state = Mutex(State())
        self.state = state
        let box = ProxyBox()
        listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                box.proxy?.accept(channel) ?? channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        port = listener.localAddress?.port ?? 0
        box.proxy = self
    }

    /// Changes the faults; with `partitioned` set, open connections are cut too.
    func set(_ change: (inout Faults) -> Void) {
        let toClose: [Channel] = state.withLock { state in
            change(&state.faults)
            return state.faults.partitioned ? Array(state.open.values) : []
        }
        for channel in toClose { channel.close(promise: nil) }
    }

    var faults: Faults { state.withLock { $0.faults } }
    var connectionAttempts: Int { state.withLock { $0.attempts } }
    var cuts: Int { state.withLock { $0.cuts } }

    func close() async {
        let channels: [Channel] = state.withLock { Array($0.open.values) + $0.halfOpen }
        for channel in channels { try? await channel.close() }
        try? await listener.close()
    }

    // MARK: - Relaying

    private func accept(_ client: Channel) -> EventLoopFuture<Void> {
        let refused = state.withLock { state in
            state.attempts += 1
            return state.faults.partitioned
        }
        if refused { return client.close() }
        // The client's channel is registered (and starts reading) only when this
        // future completes, that is once both relays are in place.
        return ClientBootstrap(group: client.eventLoop)
            .channelInitializer { server in
                server.eventLoop.makeCompletedFuture {
                    try server.pipeline.syncOperations.addHandler(Relay(proxy: self, peer: client, fromServer: true))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .flatMapThrowing { server in
                // Both channels are on the client's event loop: handlers are added in place.
                // A partition that began while this connection was being relayed cuts it
                // too (`set` closed only the connections registered then).
                let partitioned = self.state.withLock { state in
                    if !state.faults.partitioned { state.open[ObjectIdentifier(client)] = client }
                    return state.faults.partitioned
                }
                if partitioned {
                    server.close(promise: nil)
                    client.close(promise: nil)
                    return
                }
                client.closeFuture.whenComplete { _ in
                    let keep = self.state.withLock { state in
                        state.open[ObjectIdentifier(client)] = nil
                        return state.faults.leaveServerSideOpen && !state.faults.partitioned
                    }
                    if keep { self.state.withLock { $0.halfOpen.append(server) } } else { server.close(promise: nil) }
                }
                server.closeFuture.whenComplete { _ in client.close(promise: nil) }
                try client.pipeline.syncOperations.addHandler(Relay(proxy: self, peer: server, fromServer: false))
            }
            .flatMapError { _ in client.close() }
    }

    /// Forwards what one side reads to the other, applying the faults.
    private final class Relay: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        let proxy: FaultProxy
        let peer: Channel
        let fromServer: Bool
        var forwarded = 0

        init(proxy: FaultProxy, peer: Channel, fromServer: Bool) {
            self.proxy = proxy
            self.peer = peer
            self.fromServer = fromServer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let faults = proxy.faults
            if fromServer, let limit = faults.cutAfterServerBytes, forwarded + buffer.readableBytes > limit {
                // Up to the limit, then cut the client's side: mid-frame.
                if let part = buffer.readSlice(length: max(0, limit - forwarded)), part.readableBytes > 0 {
                    peer.writeAndFlush(part, promise: nil)
                }
                forwarded = limit
                proxy.state.withLock { $0.cuts += 1 }
                peer.close(promise: nil)
                return
            }
            forwarded += buffer.readableBytes
            pending.append(buffer)
            drain(context: context)
        }

        /// Chunks waiting to go, in order.
        var pending: [ByteBuffer] = []
        /// A timer will call `drain` again (stall or delay).
        var waiting = false

        /// Sends what may go now, in order: nothing while stalled, everything after the
        /// delay otherwise.
        private func drain(context: ChannelHandlerContext) {
            guard !waiting, !pending.isEmpty else { return }
            let faults = proxy.faults
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            if faults.stalled {
                waiting = true
                context.eventLoop.scheduleTask(in: .milliseconds(20)) {
                    let (relay, context) = loopBound.value
                    relay.waiting = false
                    relay.drain(context: context)
                }
                return
            }
            let chunks = pending
            pending.removeAll()
            let peer = peer
            guard faults.delay > .zero else {
                for chunk in chunks { peer.write(chunk, promise: nil) }
                peer.flush()
                return
            }
            waiting = true
            let nanoseconds = faults.delay.components.seconds * 1_000_000_000 + faults.delay.components.attoseconds / 1_000_000_000
            context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
                for chunk in chunks { peer.write(chunk, promise: nil) }
                peer.flush()
                let (relay, context) = loopBound.value
                relay.waiting = false
                relay.drain(context: context)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }
}

/// Hands the proxy to the listener's initializer once it exists.
/// `@unchecked Sendable`: written once before the first connection can arrive
/// (the listener is bound before `proxy` is set, but connections only come after
/// the test learns the port from the initialised proxy).
private final class ProxyBox: @unchecked Sendable {
    var proxy: FaultProxy?
}
