import Foundation
import SporCRDT
import SporProposal
import SporServer
import SporTestSupport
import SporWire
import Testing

/// Two copies of one workspace (a copied directory, a restored backup) make different
/// events under the same agent. The server takes the first copy's and refuses the
/// second's with `historyDiverged` — over raw TCP, storing nothing — instead of taking
/// them as duplicates; real duplicates are still acknowledged as such.
@Suite("events with ids the server has and other content are refused", .blockingCallsAllowed)
struct ForkedHistoryTests {
    static let id = "0751.kopi"

    /// The document as both copies had it, and the two copies' next edits.
    struct Copies {
        let base: VersionVector
        let original: Document
        let copy: Document
    }

    static func copies(_ client: inout TestClient) async throws -> Copies {
        try await client.createDocument(id)
        var proposal = try Proposal.create(agent: try AgentID("0751/arbejdsplads"), actor: Actor(organisation: "0751", role: .member),
                                           title: "Grønne tage", roundID: "2024-autumn")
        guard case .pushAck = try await client.push(try proposal.document.encodedChanges(), to: id) else { throw TestFailure("push") }
        var document = proposal.document
        _ = try await client.subscribeAndCatchUp(id, into: &document)
        proposal = Proposal(document: document, actor: proposal.actor)
        var original = proposal, copy = proposal
        try original.setSection(.anchoring, to: "Forankres i kommunens klimaplan og budget for 2026.")
        try copy.setSection(.risks, to: "Risiko: leverandører af sensorer kan blive forsinket.")
        try copy.setSection(.summary, to: "Tre kommuner tester grønne tage.")
        return Copies(base: document.versionVector, original: original.document, copy: copy.document)
    }

    static func code(_ message: SporMessage) -> WireErrorCode? {
        if case let .error(report) = message { return report.knownCode }
        return nil
    }

    @Test("another copy's events under the same ids are refused, whole or in part; duplicates are acknowledged")
    func forkedPushRefused() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var client = try await server.connect(token: token)
        let copies = try await Self.copies(&client)
        let agent = try AgentID("0751/arbejdsplads")
        let copyBatch = try copies.copy.encodedChanges(since: copies.base)
        guard case let .pushAck(_, _, added, _) = try await client.push(copyBatch, to: Self.id), added > 0 else {
            throw TestFailure("the copy's push was not stored")
        }
        let stored = try await storedEvents(server)

        // The original's events: the same ids, other content.
        let refused = try await client.push(try copies.original.encodedChanges(since: copies.base), to: Self.id)
        #expect(Self.code(refused) == .historyDiverged, "\(refused)")
        if case let .error(report) = refused {
            #expect(report.message.contains("\(agent.name)@\(copies.base[agent])"), "names the first differing event: \(report.message)")
        }
        // Part of a stored span: the original's first event alone.
        let first = try copies.original.encodedChanges(since: copies.base, maxEventsPerBatch: 1)
        #expect(Self.code(try await client.push(first[0], to: Self.id)) == .historyDiverged)
        #expect(try await storedEvents(server) == stored, "nothing of a refused push is stored")

        // The copy's own batch again, and a part of it: duplicates, acknowledged.
        guard case let .pushAck(_, _, again, _) = try await client.push(copyBatch, to: Self.id) else { throw TestFailure("duplicate refused") }
        #expect(again == 0)
        let copyFirst = try copies.copy.encodedChanges(since: copies.base, maxEventsPerBatch: 3)
        guard case let .pushAck(_, _, part, _) = try await client.push(copyFirst[0], to: Self.id) else { throw TestFailure("part refused") }
        #expect(part == 0)
        // A push that repeats the copy's events and adds new ones is stored.
        var later = copies.copy
        var proposal = Proposal(document: later, actor: Actor(organisation: "0751", role: .member))
        try proposal.setSection(.climateEffect, to: "Færre oversvømmede kældre.")
        later = proposal.document
        guard case let .pushAck(_, _, more, _) = try await client.push(try later.encodedChanges(since: copies.base), to: Self.id) else {
            throw TestFailure("a push repeating stored events and adding new ones was refused")
        }
        #expect(more == later.eventCount - copies.copy.eventCount)
        #expect(try await storedEvents(server) == later.eventCount)
        await client.close()
        try await server.stop()
    }

    @Test("two copies pushing at once: one is stored, the other refused")
    func concurrentCopies() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var first = try await server.connect(token: token)
        var second = try await server.connect(token: token)
        let copies = try await Self.copies(&first)
        let originalBatch = try copies.original.encodedChanges(since: copies.base)
        let copyBatch = try copies.copy.encodedChanges(since: copies.base)
        // Both frames are sent before either answer is read: the committer may take them
        // in one transaction (the second is then checked against the first, unstored).
        let requestA = first.request(), requestB = second.request()
        try await first.send(.push(request: requestA, document: Self.id, changes: originalBatch))
        try await second.send(.push(request: requestB, document: Self.id, changes: copyBatch))
        let answerA = try await first.receive { message -> SporMessage? in
            switch message {
            case let .pushAck(request, _, _, _) where request == requestA: message
            case let .error(report) where report.request == requestA: message
            default: nil
            }
        }
        let answerB = try await second.receive { message -> SporMessage? in
            switch message {
            case let .pushAck(request, _, _, _) where request == requestB: message
            case let .error(report) where report.request == requestB: message
            default: nil
            }
        }
        let codes = [Self.code(answerA), Self.code(answerB)]
        #expect(codes.filter { $0 == .historyDiverged }.count == 1, "\(answerA) / \(answerB)")
        #expect(codes.filter { $0 == nil }.count == 1)
        let winner = Self.code(answerA) == nil ? copies.original : copies.copy
        #expect(try await storedEvents(server) == winner.eventCount)
        await first.close()
        await second.close()
        try await server.stop()
    }

    func storedEvents(_ server: TestServer) async throws -> Int {
        try await server.store.documents(visibleTo: try server.store.account(id: "0751")).first { $0.document == Self.id }?.events ?? -1
    }
}
