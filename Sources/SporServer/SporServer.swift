import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SporWire
import Synchronization

/// The sync relay: accepts TCP (optionally TLS) connections speaking protocol v2,
/// stores pushed changes durably in its ``SporStore`` before acknowledging them, and
/// relays them to the other subscribers of the document.
///
/// Run it with ``run()`` (a ServiceLifecycle `Service`: graceful shutdown stops
/// accepting, lets queued writes commit, tells every client `shuttingDown` and
/// closes). ``listeningAddress()`` waits until it accepts connections.
public final class SporServer: Service, Sendable {
    public let configuration: ServerConfiguration
    public let store: SporStore
    let logger: Logger
    let metrics = ServerMetrics()
    let hub = SubscriptionHub()
    let accounts: AccountDirectory
    let committer: PushCommitter
    let records: ServerRecords
    private let state = Mutex(RunState())
    private let listening: AsyncStream<SocketAddress>
    private let listeningContinuation: AsyncStream<SocketAddress>.Continuation

    private struct RunState {
        var nextConnection: ConnectionID = 1
        var open: [ConnectionID: Connection] = [:]
        /// Connections admitted but not yet in `open`, per address (counted with the
        /// handshaking ones, so simultaneous accepts cannot overshoot the limit).
        var admitting: [String: Int] = [:]
        var draining = false
        var address: SocketAddress?
        var metricsAddress: SocketAddress?
        var listener: Channel?
    }

    private enum Admission {
        case admitted(ConnectionID)
        case refused(SporMessage.ErrorReport)
    }

    private struct Connection {
        let channel: Channel
        let outbox: Outbox
        /// The peer's IP address (no port): connections still in their handshake
        /// are limited per address.
        let address: String?
        /// Set after the handshake: the account, the hash of its token, and when it
        /// was checked against the database.
        var account: String?
        var tokenHash: Data?
        var authenticatedAt: ContinuousClock.Instant?
    }

    public init(configuration: ServerConfiguration, store: SporStore, logger: Logger = Logger(label: "spor.server")) throws {
        try Self.requireTLSOffLoopback(host: configuration.host, tls: configuration.tls != nil,
                                       allowInsecureRemote: configuration.allowInsecureRemote, what: "listen")
        self.configuration = configuration
        self.store = store
        self.logger = logger
        accounts = AccountDirectory(store: store, metrics: metrics)
        committer = PushCommitter(store: store, hub: hub, metrics: metrics, logger: logger,
                                  cachedReplicas: configuration.limits.cachedReplicas,
                                  replicaWindow: configuration.limits.replicaWindowEvents,
                                  maxQueued: configuration.limits.maxQueuedRequests,
                                  agentLimits: .init(perOrganisation: configuration.limits.maxAgentsPerOrganisation,
                                                     perDocument: configuration.limits.maxAgentsPerDocument),
                                  placementBudget: configuration.limits.placementBudget,
                                  mergeShare: (configuration.limits.mergeSecondsPerSecond, configuration.limits.mergeSecondsBurst),
                                  now: configuration.now, webhooks: configuration.webhooks.endpoints)
        records = ServerRecords(store: store, committer: committer, now: configuration.now, logger: logger,
                                webhooks: configuration.webhooks.endpoints)
        (listening, listeningContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// ``ServerConfiguration`` by a name that modules with a `ServerConfiguration` of
    /// their own (Hummingbird's) can spell.
    public typealias Configuration = ServerConfiguration

    /// Refuses a non-loopback address without TLS unless a proxy in front terminates it:
    /// a token must never cross a network in clear text.
    public static func requireTLSOffLoopback(host: String, tls: Bool, allowInsecureRemote: Bool, what: String) throws {
        guard !tls, !allowInsecureRemote, !isLoopback(host) else { return }
        throw ServerError(.invalidArgument, "refusing to \(what) on \(host) without TLS: give --tls-cert "
                          + "and --tls-key, or --insecure-remote if a proxy in front terminates TLS")
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    var isDraining: Bool { state.withLock { $0.draining } }

    /// The address the server accepts connections on, once it does.
    public func listeningAddress() async -> SocketAddress? {
        if let address = state.withLock({ $0.address }) { return address }
        for await address in listening { return address }
        return state.withLock { $0.address }
    }

    /// The metrics listener's address, if one was configured and is up.
    public var metricsAddress: SocketAddress? { state.withLock { $0.metricsAddress } }

    /// The current metrics in Prometheus text format.
    public func prometheusMetrics() -> String { metrics.prometheusText() }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let sslContext = try configuration.tls.map(Self.makeSSLContext)
        let limits = configuration.limits
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        if let sendBuffer = limits.socketSendBufferBytes {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(sendBuffer))
        }
        let server = try await bootstrap
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext { try pipeline.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try pipeline.addHandler(ByteToMessageHandler(SporFrameDecoder(maxFrameBytes: limits.maxFrameBytes)))
                    try pipeline.addHandler(ConnectionTimeouts(helloTimeout: .seconds(Int64(limits.helloTimeoutSeconds)),
                                                               idleTimeout: .seconds(Int64(limits.idleTimeoutSeconds))))
                    // Outbound frames are written to the channel by each connection's
                    // outbox, already encoded (relays once for all subscribers).
                    return try NIOAsyncChannel<SporMessage, Never>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16)))
                }
            }
        let metricsChannel = try await bindMetrics(group: group)
        let address = server.channel.localAddress
        let stopRequested = state.withLock { state -> Bool in
            state.address = address
            state.metricsAddress = metricsChannel?.localAddress
            state.listener = server.channel
            return state.draining
        }
        if stopRequested { beginShutdown(closing: server.channel) }
        if let address { listeningContinuation.yield(address) }
        logger.info("listening", metadata: ["address": "\(address.map { "\($0)" } ?? "?")", "tls": "\(sslContext != nil)"])

        async let committing: Void = committer.run()
        async let upgrading: Void = records.backfillMembers { [self] in !self.isDraining }
        async let sweeping: Void = sweepRevokedConnections()
        async let notifying: Void = WebhookDispatcher(store: store, settings: configuration.webhooks, logger: logger,
                                                      isStopping: { [self] in self.isDraining }).run()
        async let reminding: Void = remindOfDeadlines()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { connections in
                do {
                    try await server.executeThenClose { inbound in
                        for try await child in inbound {
                            connections.addTask { await self.serve(child) }
                        }
                    }
                } catch {
                    logger.debug("accept loop ended", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown(closing: server.channel)
        }
        await upgrading
        await sweeping
        await notifying
        await reminding
        committer.finish()
        await committing
        try? await metricsChannel?.close()
        logger.info("stopped")
    }

    /// Shuts down as on SIGTERM: ``run()`` returns once every connection is closed
    /// and every queued write has committed.
    public func shutdown() {
        let listener = state.withLock { state -> Channel? in
            state.draining = true
            return state.listener
        }
        if let listener { beginShutdown(closing: listener) }
    }

    /// Stops accepting, waits (briefly) for queued writes to commit, then tells every
    /// client the server is shutting down.
    private func beginShutdown(closing listener: Channel) {
        logger.info("shutting down")
        state.withLock { $0.draining = true }
        listener.close(promise: nil)
        Task {
            let deadline = ContinuousClock.now + .seconds(5)
            while !committer.isIdle, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
            let open = state.withLock { Array($0.open.values) }
            for connection in open {
                connection.outbox.finish(with: .error(.init(code: .shuttingDown, message: "the server is shutting down; reconnect later")))
            }
        }
    }

    /// Records that connection `id` authenticated as `account` with a token whose hash
    /// is `tokenHash`, for ``sweepRevokedConnections()``.
    /// Records that connection `id` authenticated as `account`; false (and nothing
    /// recorded) if the account already has ``ServerConfiguration/Limits/maxConnectionsPerAccount``
    /// connections open. O(open connections).
    func authenticated(_ id: ConnectionID, account: String, tokenHash: Data) -> Bool {
        let now = ContinuousClock.now
        let limit = configuration.limits.maxConnectionsPerAccount
        return state.withLock { state in
            guard state.open.values.count(where: { $0.account == account }) < limit else { return false }
            state.open[id]?.account = account
            state.open[id]?.tokenHash = tokenHash
            state.open[id]?.authenticatedAt = now
            return true
        }
    }

    /// Every second until the server stops: closes each open connection whose token
    /// was revoked or rotated, with `unauthenticated`, whether or not it sends
    /// anything. The accounts are read at most every ``ServerConfiguration/Limits/accountRecheckInterval``
    /// minus a second (one read for all connections), so revocation takes effect
    /// within that interval.
    private func sweepRevokedConnections() async {
        let interval = configuration.limits.accountRecheckInterval
        let maxAge = max(.zero, interval - .seconds(1))
        while !isDraining {
            try? await Task.sleep(for: .seconds(1))
            guard !isDraining, let snapshot = try? await accounts.accounts(readAfter: .now - maxAge) else { continue }
            let open = state.withLock { state in state.open.values.filter { $0.account != nil } }
            for connection in open {
                // Only a snapshot read after the handshake can judge it: a token rotated
                // a moment ago is not in an older one.
                guard let hash = connection.tokenHash, let since = connection.authenticatedAt, snapshot.readAt > since,
                      snapshot.byTokenHash[hash]?.id != connection.account else { continue }
                metrics.revokedConnections.increment()
                logger.notice("closing a connection whose token was revoked or rotated", metadata: ["organisation": "\(connection.account ?? "?")"])
                connection.outbox.finish(with: .error(.init(code: .unauthenticated, message: "the organisation's token has been revoked or rotated")))
            }
        }
    }

    private func serve(_ child: NIOAsyncChannel<SporMessage, Never>) async {
        let limits = configuration.limits
        let channel = child.channel
        let peer = channel.remoteAddress?.ipAddress
        let address = limits.loopbackExemptFromAddressLimit && (peer?.hasPrefix("127.") == true || peer == "::1") ? nil : peer
        let admitted = state.withLock { state -> Admission in
            if state.draining { return .refused(.init(code: .shuttingDown, message: "the server is shutting down")) }
            guard state.open.count < limits.maxConnections else {
                return .refused(.init(code: .tooManyConnections, message: "the server has \(limits.maxConnections) connections open; try again later"))
            }
            // Sockets that never say HELLO hold a slot until the handshake timeout:
            // one address cannot take them all.
            if let address, state.open.values.count(where: { $0.account == nil && $0.address == address })
                + state.admitting[address, default: 0] >= limits.maxHandshakingPerAddress {
                return .refused(.init(code: .tooManyConnections, message: "\(limits.maxHandshakingPerAddress) connections from your "
                                      + "address are still in their handshake; try again later"))
            }
            let id = state.nextConnection
            state.nextConnection += 1
            if let address { state.admitting[address, default: 0] += 1 }
            return .admitted(id)
        }
        guard case let .admitted(id) = admitted else {
            metrics.connectionsRefused.increment()
            guard case let .refused(reason) = admitted else { return }
            try? await child.executeThenClose { _ in
                try await channel.writeAndFlush(Outbox.encode(.error(reason), allocator: channel.allocator)).get()
            }
            return
        }
        var logger = logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "peer"] = "\(channel.remoteAddress.map { "\($0)" } ?? "?")"
        var connection = ClientConnection(id: id, server: self, channel: channel, logger: logger)
        state.withLock { state in
            state.open[id] = Connection(channel: channel, outbox: connection.outbox, address: address)
            if let address {
                state.admitting[address, default: 1] -= 1
                if state.admitting[address] == 0 { state.admitting[address] = nil }
            }
        }
        metrics.connectionsAccepted.increment()
        metrics.connectionsOpen.increment()
        await connection.run(child)
        state.withLock { _ = $0.open.removeValue(forKey: id) }
        metrics.connectionsOpen.decrement()
    }

    /// Looks at the deadlines every `reminderIntervalSeconds` (the first time at once)
    /// while some endpoint takes `proposal.deadlineSoon`, until the server drains.
    private func remindOfDeadlines() async {
        guard !records.webhooksTold(.deadlineSoon).isEmpty else { return }
        let interval = configuration.webhooks.reminderIntervalSeconds
        while !isDraining {
            _ = await records.remindOfDeadlines()
            // In slices, so that a drain is noticed within a fraction of a second.
            var waited = 0.0
            while waited < interval, !isDraining {
                let slice = min(0.2, interval - waited)
                try? await Task.sleep(for: .milliseconds(Int(slice * 1000)))
                waited += slice
            }
        }
    }

    /// Why the server should get no clients now (`/readyz`), nil when it is ready: it
    /// listens, is not draining for shutdown, and its store answers a read.
    public func notReadyReason() async -> String? {
        let (listening, draining) = state.withLock { ($0.address != nil, $0.draining) }
        if draining { return "shutting down" }
        if !listening { return "starting" }
        do {
            try await store.checkReadable()
        } catch {
            return "the store does not answer a read (\(error))"
        }
        return nil
    }

    private func bindMetrics(group: MultiThreadedEventLoopGroup) async throws -> Channel? {
        guard let host = configuration.metricsHost else { return nil }
        let metrics = metrics
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        OperationsHTTPHandler(metrics: { metrics.prometheusText() }, readiness: { [self] in await self.notReadyReason() }))
                }
            }
            .bind(host: host, port: configuration.metricsPort)
            .get()
    }

    static func makeSSLContext(_ files: ServerConfiguration.TLSFiles) throws -> NIOSSLContext {
        try NIOSSLContext(configuration: tlsConfiguration(files))
    }

    /// The server side of TLS from PEM files, as the sync port and the web port use it.
    public static func tlsConfiguration(_ files: ServerConfiguration.TLSFiles) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
        let key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // SPEC §2: TLS 1.2 or later; 1.0 and 1.1 are refused at the handshake.
        tls.minimumTLSVersion = .tlsv12
        return tls
    }
}
