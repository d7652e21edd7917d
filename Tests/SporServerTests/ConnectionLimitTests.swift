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
    /// The first message the server sends on a connection that sent nothing within
    /// `limit`, nil if none (the connection is then closed).
    static func firstMessage(_ connection: WireConnection, within limit: Duration) async -> SporMessage? {
        var messages = connection.messages.makeAsyncIterator()
        let timer = Task {
            try await Task.sleep(for: limit)
            await connection.close()
        }
        defer { timer.cancel() }
        return try? await messages.next()
    }

    @Test("an address with too many unfinished handshakes is refused; closed ones free their slots")
    func handshakesPerAddress() async throws {
        let server = try await TestServer.start {
            $0.limits.maxHandshakingPerAddress = 4
            $0.limits.loopbackExemptFromAddressLimit = false
        }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        // Five silent connections: whichever the server admits last is refused (the
        // server admits them in its own order).
        var connections: [WireConnection] = []
        for _ in 0..<5 { connections.append(try await WireConnection.connect(host: "127.0.0.1", port: server.port)) }
        let first = await withTaskGroup(of: (Int, SporMessage?).self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask { (index, await Self.firstMessage(connection, within: .seconds(5))) }
            }
            var answers: [Int: SporMessage?] = [:]
            for await (index, message) in group { answers[index] = message }
            return answers
        }
        let refused = first.filter { if case .error(let report)? = $0.value { report.knownCode == .tooManyConnections } else { false } }
        #expect(refused.count == 1, "\(first)")
        if case let .error(report)?? = refused.first?.value { #expect(report.message.contains("handshake"), "\(report)") }
        // The four admitted ones were closed by the test's timer: once the server has
        // seen them go, a new connection says HELLO and is served.
        var served = false
        for _ in 0..<100 where !served {
            var client = try await TestClient.connect(port: server.port)
            served = (try? await client.hello(token: token)) != nil
            await client.close()
            if !served { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(served)
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
        var again = false
        for _ in 0..<100 where !again {
            var client = try await TestClient.connect(port: server.port)
            again = (try? await client.hello(token: aarhus)) != nil
            await client.close()
            if !again { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(again, "no connection after one closed")
        for client in open.dropFirst() { await client.close() }
        try await server.stop()
    }
}
