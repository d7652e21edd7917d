import Foundation
import SporCRDT
import SporProposal
import SporServer
import SporWire
import SporWireClient
import Synchronization
import SporTestSupport
import Testing

/// Clients converging through a real server over TCP.
@Suite("sync through the server", .blockingCallsAllowed)
struct SyncTests {
    @Test("handshake: WELCOME names the organisation, its agent prefix and the limits")
    func handshake() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let client = try await server.connect(token: token)
        let welcome = try #require(client.welcome)
        #expect(welcome.version == 4)
        #expect(welcome.organisation == "0751")
        #expect(welcome.organisationName == "Aarhus Kommune")
        #expect(welcome.organisationKind == "kommune")
        #expect(welcome.agentPrefix == "0751/")
        #expect(welcome.maxFrameBytes == SporProtocol.defaultMaxFrameBytes)
        await client.close()
        // A version 2 client is still served, at version 2.
        let older = try await server.connect(token: token, versions: 2...2)
        #expect(older.welcome?.version == 2)
        await older.close()
        try await server.stop()
    }

    @Test("a connection's intercept takes the messages it accepts as they arrive; the rest reach `messages` in order")
    func intercept() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let taken = Mutex<[UInt64]>([])
        let connection = try await WireConnection.connect(host: "127.0.0.1", port: server.port) { message in
            guard case let .pong(nonce) = message, nonce < 100 else { return false }
            taken.withLock { $0.append(nonce) }
            return true
        }
        var messages = connection.messages.makeAsyncIterator()
        try await connection.send(.hello(.init(token: token, client: "spor-tests")))
        guard case .welcome? = try await messages.next() else { throw TestFailure("expected WELCOME") }
        for nonce in [1, 2, 3, 100] as [UInt64] { try await connection.send(.ping(nonce: nonce)) }
        // The pongs answer in order: 100 is the next message queued, so 1–3 were not.
        #expect(try await messages.next() == .pong(nonce: 100))
        #expect(taken.withLock { $0 } == [1, 2, 3])
        await connection.close()
        try await server.stop()
    }

    @Test("three organisations editing concurrently converge through the server")
    func threeClientsConverge() async throws {
        let server = try await TestServer.start()
        let tokens = try [("Aarhus Kommune", "0751"), ("Region Midtjylland", "1082"), ("Silkeborg Kommune", "0740")].map {
            try server.addOrganisation($0.0, kind: $0.1 == "1082" ? .region : .kommune, code: $0.1)
        }
        var clients: [TestClient] = []
        for token in tokens { clients.append(try await server.connect(token: token)) }
        try await clients[0].createDocument("0751.proposal-1")
        try await clients[0].addMember("1082", to: "0751.proposal-1")
        try await clients[0].addMember("0740", to: "0751.proposal-1")

        var documents = try ["0751/laptop", "1082/pc", "0740/mac"].map { Document(agent: try AgentID($0)) }
        for index in 0..<3 { try await clients[index].subscribeAndCatchUp("0751.proposal-1", into: &documents[index]) }

        // Round 1: everyone types offline at the same place, then pushes.
        let words = ["Ærø ", "Klima 🌱 ", "Vand "]
        var pushed = [VersionVector](repeating: VersionVector(), count: 3)
        for index in 0..<3 { try documents[index].insert(words[index], at: 0) }
        for index in 0..<3 {
            let changes = try documents[index].encodedChanges(since: pushed[index])
            let reply = try await clients[index].push(changes, to: "0751.proposal-1")
            guard case .pushAck(_, _, let newEvents, _) = reply else { throw TestFailure("push refused: \(reply)") }
            #expect(newEvents == words[index].unicodeScalars.count)
            pushed[index] = documents[index].versionVector
        }
        // Each receives the other two live.
        let total = words.reduce(0) { $0 + $1.unicodeScalars.count }
        for index in 0..<3 {
            try await clients[index].mergeLive("0751.proposal-1", into: &documents[index]) { $0.clientEventCount == total }
        }
        #expect(documents[0].text() == documents[1].text())
        #expect(documents[1].text() == documents[2].text())
        for word in words { #expect(documents[0].text().contains(word)) }

        // Round 2: one edits on top of everything, the others receive it.
        try documents[1].delete(0..<1)
        let reply = try await clients[1].push(try documents[1].encodedChanges(since: pushed[1]), to: "0751.proposal-1")
        guard case .pushAck = reply else { throw TestFailure("push refused: \(reply)") }
        for index in [0, 2] {
            try await clients[index].mergeLive("0751.proposal-1", into: &documents[index]) { $0.clientEventCount == total + 1 }
            #expect(documents[index].text() == documents[1].text())
        }
        for client in clients { await client.close() }
        try await server.stop()
    }

    @Test("a late subscriber catches up from any version, in batches")
    func catchUpFromVersion() async throws {
        let server = try await TestServer.start { $0.limits.catchUpFrameBytes = 256 }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var writer = try await server.connect(token: token)
        try await writer.createDocument("0751.p")
        var source = Document(agent: try AgentID("0751/a"))
        var pushed = VersionVector()
        var halfway = Document()
        for round in 0..<40 {
            try source.insert("Linje \(round) om klimatilpasning.\n", at: source.textLength())
            let reply = try await writer.push(try source.encodedChanges(since: pushed), to: "0751.p")
            guard case .pushAck = reply else { throw TestFailure("push refused: \(reply)") }
            pushed = source.versionVector
            if round == 19 { halfway = try Document(decoding: source.encoded()) }
        }
        var reader = try await server.connect(token: token)
        var fresh = Document()
        let version = try await reader.subscribeAndCatchUp("0751.p", into: &fresh)
        #expect(fresh.text() == source.text())
        #expect(version.withoutServer == source.versionVector)
        // From halfway, only the rest is sent.
        let before = halfway.eventCount
        try await reader.send(.unsubscribe(document: "0751.p"))
        var partial = halfway
        try await reader.subscribeAndCatchUp("0751.p", into: &partial)
        #expect(partial.text() == source.text())
        #expect(partial.eventCount > before)
        await writer.close()
        await reader.close()
        try await server.stop()
    }

    @Test("a pushed duplicate is acknowledged with 0 new events and not relayed again")
    func duplicatePush() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var client = try await server.connect(token: token)
        try await client.createDocument("0751.p")
        var document = Document(agent: try AgentID("0751/a"))
        try document.insert("hej", at: 0)
        let changes = try document.encodedChanges()
        guard case .pushAck(_, _, 3, _) = try await client.push(changes, to: "0751.p") else { throw TestFailure("first push") }
        guard case .pushAck(_, _, 0, _) = try await client.push(changes, to: "0751.p") else { throw TestFailure("duplicate push") }
        let documents = try await server.store.documents(visibleTo: try server.store.account(id: "0751"))
        #expect(documents == [.init(document: "0751.p", events: 4)], "3 pushed and the server's first")
        await client.close()
        try await server.stop()
    }

    @Test("a restarted server keeps every acknowledged change, account and membership")
    func restartKeepsEverything() async throws {
        let directory = TestServer.temporaryDirectory()
        var server = try await TestServer.start(directory: directory)
        let aarhus = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let region = try server.addOrganisation("Region Midtjylland", kind: .region, code: "1082")
        var client = try await server.connect(token: aarhus)
        try await client.createDocument("0751.p")
        try await client.addMember("1082", to: "0751.p")
        var document = Document(agent: try AgentID("0751/a"))
        var pushed = VersionVector()
        for index in 0..<25 {
            try document.insert("Afsnit \(index). ", at: document.textLength())
            guard case .pushAck = try await client.push(try document.encodedChanges(since: pushed), to: "0751.p") else {
                throw TestFailure("push refused")
            }
            pushed = document.versionVector
        }
        await client.close()
        try await server.stop()

        server = try await TestServer.start(directory: directory)
        var reader = try await server.connect(token: region)
        var replica = Document()
        let version = try await reader.subscribeAndCatchUp("0751.p", into: &replica)
        #expect(replica.text() == document.text())
        #expect(version.withoutServer == document.versionVector)
        // The writer continues where it left off after the restart.
        var writer = try await server.connect(token: aarhus)
        try document.insert("Slut.", at: document.textLength())
        guard case .pushAck(_, _, 5, _) = try await writer.push(try document.encodedChanges(since: pushed), to: "0751.p") else {
            throw TestFailure("push after restart refused")
        }
        try await reader.mergeLive("0751.p", into: &replica) { $0.clientEventCount == document.eventCount }
        #expect(replica.text() == document.text())
        await reader.close()
        await writer.close()
        try await server.stop()
    }
}
