import Foundation
import SporServer
import SporTestSupport
import SporWire
import SporWireClient
import Testing

/// Connection slots: sockets that never finish their handshake are limited per
/// address, authenticated connections per organisation, so neither one address nor
/// one account can take the server's slots from everyone else.
@Suite("connection slots per address and per organisation", .blockingCallsAllowed)
struct ConnectionLimitTests {
    /// The first message the server sends on a connection that sent nothing.
    static func firstMessage(_ connection: WireConnection) async throws -> SporMessage? {
        var messages = connection.messages.makeAsyncIterator()
        let timer = Task {
            try await Task.sleep(for: .seconds(1))
            await connection.close()
        }
        defer { timer.cancel() }
        return try? await messages.next()
    }

    @Test("an address with too many unfinished handshakes is refused; a finished handshake frees its slot")
    func handshakesPerAddress() async throws {
        let server = try await TestServer.start {
            $0.limits.maxHandshakingPerAddress = 4
            $0.limits.loopbackExemptFromAddressLimit = false
        }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var silent: [WireConnection] = []
        for _ in 0..<4 { silent.append(try await WireConnection.connect(host: "127.0.0.1", port: server.port)) }
        let fifth = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
        guard case let .error(report)? = try await Self.firstMessage(fifth) else {
            throw TestFailure("the fifth unfinished handshake from one address was admitted")
        }
        #expect(report.knownCode == .tooManyConnections && report.message.contains("handshake"), "\(report)")
        // One of the four says HELLO: its slot is free for the next connection.
        try await silent[0].send(.hello(.init(token: token, client: "test")))
        var replies = silent[0].messages.makeAsyncIterator()
        guard case .welcome? = try await replies.next() else { throw TestFailure("no WELCOME") }
        var admitted = try await TestClient.connect(port: server.port)
        try await admitted.hello(token: token)
        await admitted.close()
        for connection in silent { await connection.close() }
        try await server.stop()
    }

    @Test("an organisation with the most connections allowed is refused another at HELLO; others connect")
    func connectionsPerAccount() async throws {
        let server = try await TestServer.start { $0.limits.maxConnectionsPerAccount = 3 }
        let aarhus = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let odense = try server.addOrganisation("Odense Kommune", code: "0461")
        var open: [TestClient] = []
        for _ in 0..<3 {
            var client = try await TestClient.connect(port: server.port)
            try await client.hello(token: aarhus)
            open.append(client)
        }
        var fourth = try await TestClient.connect(port: server.port)
        try await fourth.send(.hello(.init(token: aarhus, client: "test")))
        guard case let .error(report)? = try await fourth.receive() else { throw TestFailure("a fourth connection was admitted") }
        #expect(report.knownCode == .tooManyConnections && report.message.contains("0751 already has 3 connections"), "\(report)")
        var other = try await TestClient.connect(port: server.port)
        try await other.hello(token: odense)
        await other.close()
        // When one closes, the organisation may connect again.
        await open[0].close()
        try await Task.sleep(for: .milliseconds(200))
        var again = try await TestClient.connect(port: server.port)
        try await again.hello(token: aarhus)
        await again.close()
        for client in open.dropFirst() { await client.close() }
        try await server.stop()
    }
}
