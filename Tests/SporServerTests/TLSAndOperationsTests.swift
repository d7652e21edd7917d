import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SporCRDT
import SporServer
import SporWire
import SporWireClient
import SporTestSupport
import Testing

/// TLS, metrics, listening rules and graceful shutdown.
///
/// The TLS material in Resources/ was made once with openssl (the CA key discarded):
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key
/// -out test-ca.pem -days 36500 -subj "/CN=Spor Test CA"`, then a `localhost` key and CSR
/// signed by it with `subjectAltName=DNS:localhost,IP:127.0.0.1`.
@Suite("TLS and operations", .blockingCallsAllowed)
struct TLSAndOperationsTests {
    static func resource(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources") else {
            throw TestFailure("missing test resource \(name)")
        }
        return url.path
    }

    @Test("a TLS client that trusts the test CA syncs; one that does not is refused")
    func tlsWithTestCA() async throws {
        let server = try await TestServer.start(tls: .init(certificateChain: try Self.resource("server.pem"),
                                                           privateKey: try Self.resource("server.key")))
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var client = try await TestClient.connect(port: server.port, tls: .init(trust: .caFile(try Self.resource("test-ca.pem")),
                                                                                serverName: "localhost"))
        try await client.hello(token: token)
        try await client.createDocument("0751.p")
        var document = Document(agent: try AgentID("0751/tls"))
        try document.insert("krypteret", at: 0)
        guard case .pushAck = try await client.push(try document.encodedChanges(), to: "0751.p") else { throw TestFailure("push over TLS") }
        await client.close()

        // The system trust store does not know the test CA: the handshake fails.
        var untrusting = try await TestClient.connect(port: server.port, tls: .init(trust: .system, serverName: "localhost"))
        await #expect(throws: (any Error).self) {
            try await untrusting.hello(token: token)
        }
        // A plain-TCP client cannot talk to the TLS port either.
        var plain = try await TestClient.connect(port: server.port)
        await #expect(throws: (any Error).self) {
            try await plain.hello(token: token)
        }
        try await server.stop()
    }

    /// Completes the TLS handshake (true) or fails it (false), offering versions up to `highest`.
    static func handshake(port: Int, offering highest: TLSVersion) async throws -> Bool {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv1
        configuration.maximumTLSVersion = highest
        configuration.trustRoots = .file(try Self.resource("test-ca.pem"))
        let context = try NIOSSLContext(configuration: configuration)
        let group = MultiThreadedEventLoopGroup.singleton
        let outcome = group.next().makePromise(of: Bool.self)
        final class Watcher: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let outcome: EventLoopPromise<Bool>
            init(_ outcome: EventLoopPromise<Bool>) { self.outcome = outcome }
            func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
                if case TLSUserEvent.handshakeCompleted = event { outcome.succeed(true) }
                context.fireUserInboundEventTriggered(event)
            }
            func errorCaught(context: ChannelHandlerContext, error: any Error) { outcome.succeed(false) }
            func channelInactive(context: ChannelHandlerContext) { outcome.succeed(false) }
        }
        let channel = try await ClientBootstrap(group: group).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                try channel.pipeline.syncOperations.addHandler(Watcher(outcome))
            }
        }.connect(host: "127.0.0.1", port: port).get()
        let completed = try await outcome.futureResult.get()
        try? await channel.close()
        return completed
    }

    @Test("TLS 1.0 and 1.1 are refused at the handshake; 1.2 is accepted")
    func oldTLSRefused() async throws {
        let server = try await TestServer.start(tls: .init(certificateChain: try Self.resource("server.pem"),
                                                           privateKey: try Self.resource("server.key")))
        #expect(try await Self.handshake(port: server.port, offering: .tlsv12), "the harness cannot complete a handshake")
        #expect(try await !Self.handshake(port: server.port, offering: .tlsv11))
        #expect(try await !Self.handshake(port: server.port, offering: .tlsv1))
        try await server.stop()
    }

    @Test("without TLS the server refuses to listen beyond loopback unless told to")
    func loopbackOnlyWithoutTLS() throws {
        var configuration = ServerConfiguration()
        configuration.host = "0.0.0.0"
        let store = try SporStore(directory: TestServer.temporaryDirectory())
        #expect(throws: ServerError.self) { try SporServer(configuration: configuration, store: store) }
        configuration.allowInsecureRemote = true
        _ = try SporServer(configuration: configuration, store: store)
    }

    @Test("metrics are served in Prometheus text format and count what happened")
    func metricsEndpoint() async throws {
        let server = try await TestServer.start {
            $0.metricsHost = "127.0.0.1"
            $0.metricsPort = 0
        }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var client = try await server.connect(token: token)
        try await client.createDocument("0751.p")
        var document = Document(agent: try AgentID("0751/m"))
        try document.insert("tæl", at: 0)
        guard case .pushAck = try await client.push(try document.encodedChanges(), to: "0751.p") else { throw TestFailure("push") }
        let port = try #require(server.server.metricsAddress?.port)
        let body = try await Self.httpGet(port: port, path: "/metrics")
        #expect(body.contains("HTTP/1.1 200 OK"))
        #expect(body.contains("spor_events_stored_total 4"), "3 pushed and the server's first")
        #expect(body.contains("spor_pushes_total 1"))
        #expect(body.contains("spor_connections_open 1"))
        #expect(body.contains("spor_commit_seconds_bucket"))
        // Memory gauges, read when rendered: malloc and SQLite (an open store) hold bytes.
        func gauge(_ name: String) -> Double? {
            body.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
        }
        #expect((gauge("spor_heap_in_use_bytes") ?? 0) > 1_000_000)
        #expect((gauge("spor_sqlite_memory_bytes") ?? 0) > 0)
        #expect((gauge("spor_sqlite_memory_bytes") ?? .infinity) < (gauge("spor_heap_in_use_bytes") ?? 0))
        #expect(gauge("spor_heap_free_bytes") != nil)
        let missing = try await Self.httpGet(port: port, path: "/other")
        #expect(missing.contains("404"))
        await client.close()
        try await server.stop()
    }

    @Test("the operations port: /healthz, /readyz (not ready once draining), spor_build_info, HEAD without a body, 405 for other methods")
    func healthAndReadiness() async throws {
        let server = try await TestServer.start {
            $0.metricsHost = "127.0.0.1"
            $0.metricsPort = 0
        }
        let port = try #require(server.server.metricsAddress?.port)
        let health = try await Self.httpGet(port: port, path: "/healthz")
        #expect(health.hasPrefix("HTTP/1.1 200 OK") && health.hasSuffix("\r\n\r\nok\n"), "\(health)")
        let ready = try await Self.httpGet(port: port, path: "/readyz")
        #expect(ready.hasPrefix("HTTP/1.1 200 OK") && ready.hasSuffix("\r\n\r\nready\n"), "\(ready)")
        let metrics = try await Self.httpGet(port: port, path: "/metrics")
        #expect(metrics.contains("spor_build_info{version=\"\(SporRelease.version)\",protocols=\"2-4\"} 1")
                || metrics.contains("spor_build_info{protocols=\"2-4\",version=\"\(SporRelease.version)\"} 1"), "\(metrics)")
        let head = try await Self.httpGet(port: port, path: "/healthz", method: "HEAD")
        #expect(head.hasPrefix("HTTP/1.1 200 OK") && head.hasSuffix("\r\n\r\n"), "HEAD has no body: \(head)")
        let post = try await Self.httpGet(port: port, path: "/readyz", method: "POST")
        #expect(post.hasPrefix("HTTP/1.1 405") && post.contains("Allow: GET, HEAD"), "\(post)")
        let missing = try await Self.httpGet(port: port, path: "/nothing")
        #expect(missing.hasPrefix("HTTP/1.1 404") && missing.contains("/healthz"), "\(missing)")
        #expect(await server.server.notReadyReason() == nil)
        server.server.shutdown()
        #expect(await server.server.notReadyReason() == "shutting down")
        try await server.task.value
    }

    @Test("graceful shutdown commits and acknowledges what was pushed, then says shuttingDown")
    func gracefulShutdown() async throws {
        let directory = TestServer.temporaryDirectory()
        let server = try await TestServer.start(directory: directory)
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var client = try await server.connect(token: token)
        try await client.createDocument("0751.p")
        var document = Document(agent: try AgentID("0751/s"))
        var pushed = VersionVector()
        var requests: [UInt64] = []
        for index in 0..<50 {
            try document.insert("\(index) ", at: document.textLength())
            let request = client.request()
            try await client.send(.push(request: request, document: "0751.p", changes: try document.encodedChanges(since: pushed)))
            pushed = document.versionVector
            requests.append(request)
        }
        // Wait for the first ack so the pushes are in, then stop while the rest may be queued.
        _ = try await client.receive { message -> Bool? in if case .pushAck = message { true } else { nil } }
        server.server.shutdown()
        var acknowledged: Set<UInt64> = [requests[0]]
        var sawShutdown = false
        while let message = try await client.receive() {
            switch message {
            case let .pushAck(request, _, _, _): acknowledged.insert(request)
            case let .error(report) where report.knownCode == .shuttingDown: sawShutdown = true
            default: break
            }
        }
        try await server.task.value
        #expect(sawShutdown)
        // Every acknowledged push is on disk: a restarted server serves them all.
        let restarted = try await TestServer.start(directory: directory)
        var reader = try await restarted.connect(token: token)
        var replica = Document()
        try await reader.subscribeAndCatchUp("0751.p", into: &replica)
        let stored = replica.eventCount
        #expect(acknowledged.count <= requests.count)
        let expectedAtLeast = requests.prefix { acknowledged.contains($0) }.count
        #expect(stored >= expectedAtLeast)
        #expect(document.text().hasPrefix(replica.text()))
        await reader.close()
        try await restarted.stop()
    }

    /// A minimal HTTP/1.1 GET over a raw socket (Connection: close).
    static func httpGet(port: Int, path: String, method: String = "GET") async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
            var response = ""
            for try await buffer in inbound { response += String(buffer: buffer) }
            return response
        }
    }
}
