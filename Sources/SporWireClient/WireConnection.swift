import NIOCore
import NIOPosix
import NIOSSL
import SporWire
import Synchronization

/// A client's protocol connection to a Spor server, over TCP or TLS: send
/// messages, read the server's from ``messages``. It speaks frames only; the
/// handshake, subscriptions and merging are the caller's (the sync engine's).
///
/// ``messages`` ends when the server closes the connection and throws the
/// ``WireError`` if the server's bytes were not valid protocol. It is bounded: when
/// ``inboundHighWater`` messages wait unread, the connection stops reading the
/// socket (TCP then slows the server down) until the reader has taken them down to
/// ``inboundLowWater``.
public final class WireConnection: Sendable {
    /// Received messages that may wait unread before reading from the socket pauses.
    public static let inboundHighWater = 64
    /// Unread messages at which reading resumes.
    public static let inboundLowWater = 16

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

    /// The server's messages, in order; see the type's description for the bound.
    public let messages: Messages
    private let channel: Channel

    private init(channel: Channel, messages: Messages) {
        self.channel = channel
        self.messages = messages
    }

    /// Messages received and not yet read from ``messages`` (tests of the bound).
    var unreadMessages: Int { messages.flow.unread }

    /// The server's messages as an async sequence whose consumption reopens reading.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = SporMessage
        let stream: AsyncThrowingStream<SporMessage, Error>
        let flow: InboundFlow
        let channel: Channel

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: stream.makeAsyncIterator(), flow: flow, channel: channel)
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncThrowingStream<SporMessage, Error>.AsyncIterator
            let flow: InboundFlow
            let channel: Channel

            public mutating func next() async throws -> SporMessage? {
                guard let message = try await base.next() else { return nil }
                if flow.consumed() { channel.read() }
                return message
            }
        }
    }

    /// Connects; throws if the TCP connection or the TLS handshake's certificate
    /// verification fails (the latter when the first message is read or sent).
    ///
    /// `intercept`, if given, is called on the connection's event loop with each
    /// message as soon as it is decoded; a message it returns true for is taken by it
    /// and not queued for ``messages``. It is for instruments that must see a message
    /// when it arrives, not when a task gets round to reading it (the load generator
    /// times relays this way). It runs on the event loop, so it must be quick.
    public static func connect(host: String, port: Int, tls: TLSOptions? = nil,
                               maxFrameBytes: Int = SporProtocol.defaultMaxFrameBytes,
                               connectTimeout: TimeAmount = .seconds(10),
                               intercept: (@Sendable (SporMessage) -> Bool)? = nil) async throws -> WireConnection {
        let sslContext: NIOSSLContext? = try tls.map { options in
            var configuration = TLSConfiguration.makeClientConfiguration()
            // SPEC §2: never below TLS 1.2.
            configuration.minimumTLSVersion = .tlsv12
            configuration.certificateVerification = .fullVerification
            switch options.trust {
            case .system: configuration.trustRoots = .default
            case let .caFile(path): configuration.trustRoots = .file(path)
            }
            return try NIOSSLContext(configuration: configuration)
        }
        let serverName = tls?.serverName ?? host
        let (stream, continuation) = AsyncThrowingStream<SporMessage, Error>.makeStream()
        let flow = InboundFlow()
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
                    try pipeline.addHandler(MessageStreamHandler(continuation: continuation, flow: flow, intercept: intercept))
                }
            }
            .connect(host: host, port: port)
            .get()
        return WireConnection(channel: channel, messages: Messages(stream: stream, flow: flow, channel: channel))
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

/// How many received messages wait unread, shared by the channel handler (event
/// loop) and the reader (any task).
final class InboundFlow: Sendable {
    private struct State {
        var unread = 0
        var paused = false
    }

    private let state = Mutex(State())

    /// Messages received and not yet taken by the reader.
    var unread: Int { state.withLock { $0.unread } }

    /// Counts a message handed to the stream.
    func received() {
        state.withLock { $0.unread += 1 }
    }

    /// Whether the socket may be read now; if not, remembers that a read waits.
    func mayRead() -> Bool {
        state.withLock { state in
            if state.unread >= WireConnection.inboundHighWater {
                state.paused = true
                return false
            }
            return true
        }
    }

    /// Counts a message taken by the reader; true when a paused read should resume.
    func consumed() -> Bool {
        state.withLock { state in
            state.unread -= 1
            guard state.paused, state.unread <= WireConnection.inboundLowWater else { return false }
            state.paused = false
            return true
        }
    }
}

/// Feeds decoded messages into the connection's stream, and holds back socket reads
/// while too many wait unread.
private final class MessageStreamHandler: ChannelDuplexHandler {
    typealias InboundIn = SporMessage
    typealias OutboundIn = SporMessage
    typealias OutboundOut = SporMessage

    private let continuation: AsyncThrowingStream<SporMessage, Error>.Continuation
    private let flow: InboundFlow
    private let intercept: (@Sendable (SporMessage) -> Bool)?

    init(continuation: AsyncThrowingStream<SporMessage, Error>.Continuation, flow: InboundFlow,
         intercept: (@Sendable (SporMessage) -> Bool)?) {
        self.continuation = continuation
        self.flow = flow
        self.intercept = intercept
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        if let intercept, intercept(message) { return }
        flow.received()
        continuation.yield(message)
    }

    func read(context: ChannelHandlerContext) {
        if flow.mayRead() { context.read() }
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
