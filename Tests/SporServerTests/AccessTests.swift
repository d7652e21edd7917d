import Foundation
import SporCRDT
import SporProposal
import SporServer
import SporWire
import SporTestSupport
import Testing

/// Who may connect, see and write what.
@Suite("accounts and access", .blockingCallsAllowed)
struct AccessTests {
    /// Sends HELLO with `token` and returns the server's answer.
    private func helloReply(_ server: TestServer, token: String, versions: ClosedRange<Int> = SporProtocol.supportedVersions) async throws -> (SporMessage?, SporMessage?) {
        var client = try await TestClient.connect(port: server.port)
        try await client.send(.hello(.init(versions: versions, token: token, client: "tests")))
        let first = try await client.receive()
        // After a refusal the server closes; after WELCOME the connection stays open.
        let second = if case .error? = first { try await client.receive() } else { SporMessage?.none }
        await client.close()
        return (first, second)
    }

    private func code(of message: SporMessage?) -> WireErrorCode? {
        if case let .error(report)? = message { return report.knownCode }
        return nil
    }

    @Test("a wrong token is refused with unauthenticated and the connection closed")
    func wrongToken() async throws {
        let server = try await TestServer.start()
        _ = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let (reply, after) = try await helloReply(server, token: "spor_not-a-token")
        #expect(code(of: reply) == .unauthenticated)
        #expect(after == nil)
        try await server.stop()
    }

    @Test("a revoked token is refused; a rotated token works and the old one does not")
    func revokedAndRotatedToken() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        try server.store.revoke(id: "0751")
        #expect(code(of: try await helloReply(server, token: token).0) == .unauthenticated)
        let rotated = try server.store.rotateToken(id: "0751")
        guard case .welcome? = try await helloReply(server, token: rotated).0 else { throw TestFailure("rotated token refused") }
        #expect(code(of: try await helloReply(server, token: token).0) == .unauthenticated)
        try await server.stop()
    }

    @Test("open connections of a revoked or rotated organisation are refused at their first request after the re-check interval; others carry on")
    func openConnectionsRecheckTheirToken() async throws {
        let server = try await TestServer.start { $0.limits.accountRecheckInterval = .milliseconds(300) }
        var clients: [TestClient] = []
        for (name, code) in [("Aarhus Kommune", "0751"), ("Odense Kommune", "0461"), ("Vejle Kommune", "0630")] {
            clients.append(try await server.connect(token: try server.addOrganisation(name, code: code)))
        }
        // A first re-check for everyone, while all tokens are good: the server now
        // holds a snapshot of the accounts, which must not be trusted for long.
        try await Task.sleep(for: .milliseconds(400))
        for index in clients.indices {
            try await clients[index].send(.ping(nonce: 9))
            guard case .pong(9)? = try await clients[index].receive() else { throw TestFailure("client \(index) not answered") }
        }
        try server.store.revoke(id: "0751")
        _ = try server.store.rotateToken(id: "0461")
        try await Task.sleep(for: .milliseconds(400))
        // (The server's sweep may have closed the two already, unasked: then the ping
        // finds a closed connection, and the refusal is waiting to be read.)
        for (index, client) in clients.enumerated() { try? await client.send(.ping(nonce: UInt64(index))) }

        for index in 0..<2 {
            let answer = try await clients[index].receive()
            #expect(code(of: answer) == .unauthenticated, "client \(index): \(String(describing: answer))")
            #expect(try await clients[index].receive() == nil, "closed after the refusal")
        }
        guard case .pong(2)? = try await clients[2].receive() else { throw TestFailure("Vejle was not answered") }
        for client in clients { await client.close() }
        try await server.stop()
    }

    @Test("two hundred connections re-checking their tokens at once share a few reads of the account table")
    func recheckReadsAreShared() async throws {
        let server = try await TestServer.start { $0.limits.accountRecheckInterval = .seconds(1) }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let count = 200
        var clients: [TestClient] = []
        for _ in 0..<count { clients.append(try await server.connect(token: token)) }
        let readsBefore = accountReads(server)
        try await Task.sleep(for: .milliseconds(1_100))
        for client in clients { try await client.send(.ping(nonce: 1)) }
        for index in clients.indices {
            guard case .pong(1)? = try await clients[index].receive() else { throw TestFailure("connection \(index) not answered") }
        }
        // Each connection re-checks on this ping; one read serves all that ask within
        // a second of it. Reading per connection would be 200 reads.
        let reads = accountReads(server) - readsBefore
        #expect((1...10).contains(reads), "account reads for \(count) re-checks: \(reads)")
        for client in clients { await client.close() }
        try await server.stop()
    }

    private func accountReads(_ server: TestServer) -> Int {
        let line = server.server.prometheusMetrics().split(separator: "\n").first { $0.hasPrefix("spor_account_reads_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    @Test("tokens are stored only as hashes")
    func tokensStoredHashed() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        try await server.stop()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: server.store.path))
        var wal = Data()
        if let data = try? Data(contentsOf: URL(fileURLWithPath: server.store.path + "-wal")) { wal = data }
        #expect(bytes.range(of: Data(token.utf8)) == nil)
        #expect(wal.range(of: Data(token.utf8)) == nil)
        #expect(try server.store.accounts().map(\.id) == ["0751"])
    }

    @Test("no common protocol version: unsupportedVersion")
    func unsupportedVersion() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        #expect(code(of: try await helloReply(server, token: token, versions: 5...6).0) == .unsupportedVersion)
        // A protocol 1 client (spor before 0.2) is told to upgrade, in words.
        let (old, after) = try await helloReply(server, token: token, versions: 1...1)
        guard case let .error(report)? = old else { throw TestFailure("a v1 HELLO was not refused: \(String(describing: old))") }
        #expect(report.knownCode == .unsupportedVersion)
        #expect(report.message.contains("upgrade spor"), "\(report.message)")
        #expect(after == nil, "the connection is closed")
        try await server.stop()
    }

    @Test("a non-member cannot subscribe, push or add members: the proposal looks like an unknown one")
    func nonMemberDenied() async throws {
        let server = try await TestServer.start()
        let aarhus = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let odense = try server.addOrganisation("Odense Kommune", code: "0461")
        var owner = try await server.connect(token: aarhus)
        try await owner.createDocument("0751.secret-proposal")
        var outsider = try await server.connect(token: odense)

        try await outsider.send(.subscribe(request: 99, document: "0751.secret-proposal", version: VersionVector()))
        guard case let .error(denied)? = try await outsider.receive() else { throw TestFailure("subscribe not refused") }
        try await outsider.send(.subscribe(request: 99, document: "no-such-proposal", version: VersionVector()))
        guard case let .error(unknown)? = try await outsider.receive() else { throw TestFailure("unknown not refused") }
        #expect(denied.knownCode == .notFound)
        // Same answer as for a document that does not exist, but for the name.
        #expect(denied.message.replacingOccurrences(of: "0751.secret-proposal", with: "X")
                == unknown.message.replacingOccurrences(of: "no-such-proposal", with: "X"))

        var document = Document(agent: try AgentID("0461/x"))
        try document.insert("ind", at: 0)
        guard case let .error(pushDenied) = try await outsider.push(try document.encodedChanges(), to: "0751.secret-proposal") else {
            throw TestFailure("push not refused")
        }
        #expect(pushDenied.knownCode == .notFound)
        let request = outsider.request()
        try await outsider.send(.addMember(request: request, document: "0751.secret-proposal", organisation: "0461", role: .partner))
        guard case let .error(addDenied)? = try await outsider.receive() else { throw TestFailure("add member not refused") }
        #expect(addDenied.knownCode == .notFound)
        #expect(try server.store.members(of: "0751.secret-proposal") == ["0751"])

        let listRequest = outsider.request()
        try await outsider.send(.listDocuments(request: listRequest))
        guard case let .documents(_, list)? = try await outsider.receive() else { throw TestFailure("no list") }
        #expect(list.isEmpty)
        // After being added it can.
        try await owner.addMember("0461", to: "0751.secret-proposal")
        var replica = Document()
        try await outsider.subscribeAndCatchUp("0751.secret-proposal", into: &replica)
        await owner.close()
        await outsider.close()
        try await server.stop()
    }

    @Test("new events in another organisation's name are refused; passing on stored ones is not")
    func forgedAgentDenied() async throws {
        let server = try await TestServer.start()
        let aarhus = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let region = try server.addOrganisation("Region Midtjylland", kind: .region, code: "1082")
        var owner = try await server.connect(token: aarhus)
        try await owner.createDocument("0751.p")
        try await owner.addMember("1082", to: "0751.p")
        var forger = try await server.connect(token: region)
        var forged = Document(agent: try AgentID("0751/laptop"))
        try forged.insert("Aarhus trækker sig", at: 0)
        guard case let .error(report) = try await forger.push(try forged.encodedChanges(), to: "0751.p") else {
            throw TestFailure("forged push accepted")
        }
        #expect(report.knownCode == .forbidden)
        #expect(report.message.contains("0751/laptop"))

        // Aarhus's real events, pushed by Aarhus, may be passed on by the region (duplicates).
        var real = Document(agent: try AgentID("0751/laptop"))
        try real.insert("Aarhus deltager", at: 0)
        guard case .pushAck = try await owner.push(try real.encodedChanges(), to: "0751.p") else { throw TestFailure("owner push") }
        var regional = Document(agent: try AgentID("1082/pc"))
        try regional.merge(encodedChanges: try real.encodedChanges())
        try regional.insert("Regionen: ", at: 0)
        guard case .pushAck(_, _, 10, _) = try await forger.push(try regional.encodedChanges(), to: "0751.p") else {
            throw TestFailure("pushing known foreign events with new own events was refused")
        }
        await owner.close()
        await forger.close()
        try await server.stop()
    }

    @Test("the secretariat's records are written by the server only: a member's and the secretariat's own writes are refused; the step is asked for")
    func secretariatRecordsByServerOnly() async throws {
        let server = try await TestServer.start()
        let aarhus = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let secretariat = try server.addOrganisation("Sekretariatet", kind: .secretariat, code: "sek")
        var member = try await server.connect(token: aarhus)
        try await member.createDocument("0751.p")
        let proposal = try Proposal.create(agent: try AgentID("0751/laptop"), actor: Actor(organisation: "0751", role: .member),
                                           title: "Klimaspor", roundID: "2024-autumn")
        guard case .pushAck = try await member.push(try proposal.document.encodedChanges(), to: "0751.p") else { throw TestFailure("create") }
        let base = proposal.document.versionVector

        var forged = proposal.document
        try forged.set(.string("approved"), forKey: ProposalSchema.Key.decision, in: ProposalSchema.secretariat)
        guard case let .error(report) = try await member.push(try forged.encodedChanges(since: base), to: "0751.p") else {
            throw TestFailure("member wrote the decision")
        }
        #expect(report.knownCode == .forbidden)
        #expect(report.message.contains("server only"), "\(report.message)")

        var office = try await server.connect(token: secretariat)
        var replica = Document(agent: try AgentID("sek/office"))
        try await office.subscribeAndCatchUp("0751.p", into: &replica)
        let before = replica.versionVector
        try replica.set(.string("approved"), forKey: ProposalSchema.Key.decision, in: ProposalSchema.secretariat)
        guard case let .error(own) = try await office.push(try replica.encodedChanges(since: before), to: "0751.p") else {
            throw TestFailure("the secretariat wrote its record itself")
        }
        #expect(own.knownCode == .forbidden)
        // Asked as a step, the server judges it: nothing was submitted yet.
        let request = office.request()
        let reply = try await office.reply(to: request, after: .processStep(request: request, document: "0751.p", step: .init(
            kind: .recordDecision, outcome: "approved", note: "")))
        guard case let .error(refused) = reply else { throw TestFailure("decision without a submission recorded: \(reply)") }
        #expect(refused.knownCode == .stepRefused)
        #expect(refused.message.contains("approval process"), "\(refused.message)")
        await member.close()
        await office.close()
        try await server.stop()
    }
}
