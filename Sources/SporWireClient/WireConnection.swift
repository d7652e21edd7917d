import NIOCore
import NIOPosix
import NIOSSL
import SporWire

/// A client's protocol v1 connection to a Spor server, over TCP or TLS: send
/// messages, read the server's from ``messages``. It speaks frames only; the
/// handshake, subscriptions and merging are the caller's (the sync engine's).
///
/// ``messages`` ends when the server closes the connection and throws the
/// ``WireError`` if the server's bytes were not valid protocol.
public final class WireConnection: Sendable {
    /// Where to find the CA that signed the server's certificate.
    public enum Trust: Sendable, Hashable {
        /// The system trust store.
        case system
        /// Only this PEM file's certificates (a private CA, or a pinned certificate).
        case caFile(String)
    }

    public struct TLSOptions: Sendable, Hashable {
        public var trust: Trust
        /// The name the certificate must be valid for; nil: the host connected to.
        public var serverName: String?

        public init(trust: Trust = .system, serverName: String? = nil) {
            self.trust = trust
            self.serverName = serverName
        }
    }

    public let messages: AsyncThrowingStream<SporMessage, Error>
    private let channel: Channel

    private init(channel: Channel, messages: AsyncThrowingStream<SporMessage, Error>) {
        self.channel = channel
        self.messages = messages
    }

    /// Connects; throws if the TCP connection or the TLS handshake's certificate
    /// verification fails (the latter when the first message is read or sent).
    public static func connect(host: String, port: Int, tls: TLSOptions? = nil,
                               maxFrameBytes: Int = SporProtocol.defaultMaxFrameBytes,
                               connectTimeout: TimeAmount = .seconds(10)) async throws -> WireConnection {
        let sslContext: NIOSSLContext? = try tls.map { options in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            switch options.trust {
            case .system: configuration.trustRoots = .default
            case let .caFile(path): configuration.trustRoots = .file(path)
            }
            return try NIOSSLContext(configuration: configuration)
        }
        let serverName = tls?.serverName ?? host
        let (stream, continuation) = AsyncThrowingStream<SporMessage, Error>.makeStream()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        let isIPAddress = (try? SocketAddress(ipAddress: serverName, port: 0)) != nil
                        try pipeline.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: isIPAddress ? nil : serverName))
                    }
                    try pipeline.addHandler(RawBytesWriter())
                    try pipeline.addHandler(ByteToMessageHandler(SporFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try pipeline.addHandler(MessageToByteHandler(SporFrameEncoder()))
                    try pipeline.addHandler(MessageStreamHandler(continuation: continuation))
                }
            }
            .connect(host: host, port: port)
            .get()
        return WireConnection(channel: channel, messages: stream)
    }

    /// Sends one message; throws if the connection is closed.
    public func send(_ message: SporMessage) async throws {
        try await channel.writeAndFlush(message)
    }

    /// Sends raw bytes, not framed (tests of how servers treat malformed input).
    public func sendRaw(_ bytes: [UInt8]) async throws {
        let channel = channel
        let buffer = channel.allocator.buffer(bytes: bytes)
        try await channel.eventLoop.flatSubmit {
            do {
                let context = try channel.pipeline.syncOperations.context(handlerType: RawBytesWriter.self)
                return context.writeAndFlush(NIOAny(buffer))
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }.get()
    }

    /// Closes the connection; ``messages`` then ends.
    public func close() async {
        try? await channel.close()
    }
}

/// Where ``WireConnection/sendRaw(_:)`` writes: below the frame encoder, above TLS.
private final class RawBytesWriter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
}

/// Feeds decoded messages into the connection's stream.
private final class MessageStreamHandler: ChannelInboundHandler {
    typealias InboundIn = SporMessage

    private let continuation: AsyncThrowingStream<SporMessage, Error>.Continuation

    init(continuation: AsyncThrowingStream<SporMessage, Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
