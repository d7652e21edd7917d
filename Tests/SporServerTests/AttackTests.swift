import Foundation
@testable import SporCRDT
import SporTestSupport
import SporWire
import SporWireClient
import Testing

/// A member's bug or a hostile account must not make the server allocate what it
/// sends, hold it, or make a proposal unsyncable: each attack against the real
/// `spor-server` process over raw TCP, refused with the error SPEC §11 names, the
/// server's peak memory low throughout, and another organisation served meanwhile.
@Suite("attacks on the server by a member", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct AttackTests {
    /// Far below what any attack here would cost if it worked (1 GiB and more).
    static let memoryBound = 300 * 1024 * 1024

    struct Setup {
        let server: ServerProcess
        var attacker: TestClient
        let attackerToken: String
        let bystanderToken: String
        let document = "0751.angreb"
    }

    static func start() async throws -> Setup {
        let server = try ServerProcess()
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        let bystander = try server.addOrganisation("Odense Kommune", kind: "kommune", code: "0461")
        var attacker = try await TestClient.connect(port: server.port)
        try await attacker.hello(token: token)
        try await attacker.createDocument("0751.angreb")
        return Setup(server: server, attacker: attacker, attackerToken: token, bystanderToken: bystander)
    }

    /// Another organisation creates a proposal and pushes to it: served as usual.
    static func expectBystanderServed(_ setup: Setup) async throws {
        var client = try await TestClient.connect(port: setup.server.port)
        try await client.hello(token: setup.bystanderToken)
        let id = "0461.upaavirket-\(UInt32.random(in: 0...UInt32.max))"
        try await client.createDocument(id)
        var document = Document(agent: try AgentID("0461/laptop"))
        try document.insert("Skybrud", at: 0)
        let reply = try await client.push(try document.encodedChanges(), to: id)
        guard case .pushAck = reply else { throw TestFailure("the bystander's push was not stored: \(reply)") }
        await client.close()
    }

    static func refusal(_ reply: SporMessage) -> (WireErrorCode?, String) {
        if case let .error(report) = reply { return (report.knownCode, report.message) }
        return (nil, "\(reply)")
    }

    /// A change batch whose compressed body claims `declared` bytes once inflated:
    /// the envelope and checksum are valid, the body is not deflate data at all (it
    /// need not be: the allocation came before inflating).
    static func bomb(declaring declared: Int, storedBytes: Int) -> [UInt8] {
        var writer = EncodedFile.beginWriting(.changes, flags: 1, capacity: storedBytes + 32)
        writer.writeVarint(declared)
        writer.writeVarint(storedBytes)
        writer.writeBytes([UInt8](repeating: 0x5A, count: storedBytes))
        return EncodedFile.finish(writer)
    }

    @Test("a decompression bomb (1 MB claiming 1 GiB, and 3 MB claiming 3 GiB) is refused before anything is inflated")
    func decompressionBomb() async throws {
        var setup = try await Self.start()
        for (declared, stored) in [(1 << 30, 1 << 20), (3 << 30, 3 << 20)] {
            let reply = try await setup.attacker.push(Self.bomb(declaring: declared, storedBytes: stored), to: setup.document)
            let (code, message) = Self.refusal(reply)
            #expect(code == .batchTooLarge && message.contains("at most \(4 * 1024 * 1024)"), "\(message)")
        }
        // Not even a member: refused the same, before access is known.
        let stranger = try setup.server.addOrganisation("Vejle Kommune", kind: "kommune", code: "0630")
        var outsider = try await TestClient.connect(port: setup.server.port)
        try await outsider.hello(token: stranger)
        let (code, _) = Self.refusal(try await outsider.push(Self.bomb(declaring: 1 << 30, storedBytes: 1 << 20), to: setup.document))
        #expect(code == .batchTooLarge)
        try await Self.expectBystanderServed(setup)
        let peak = try #require(setup.server.peakResidentBytes)
        #expect(peak < Self.memoryBound, "peak RSS \(peak / 1_048_576) MiB")
    }

    @Test("a batch of megabyte values (a small push, hundreds of MB inflated) is refused, naming the limit per value")
    func amplifiedValues() async throws {
        var setup = try await Self.start()
        var document = Document(agent: try AgentID("0751/angriber"))
        let register = try ContainerID.root("fyld", .register)
        try document.set(.string(String(repeating: "a", count: 1 << 20)), in: register)
        let batch = try document.encodedChanges()
        #expect(batch.count < 64 * 1024, "compresses to \(batch.count) bytes")
        let (code, message) = Self.refusal(try await setup.attacker.push(batch, to: setup.document))
        #expect(code == .batchTooLarge && message.contains("at most 65536 bytes per value"), "\(message)")
        // A value of a real proposal's size is fine.
        var fine = Document(agent: try AgentID("0751/skriver"))
        try fine.set(.string(String(repeating: "æ", count: 20_000)), in: try ContainerID.root("note", .register))
        guard case .pushAck = try await setup.attacker.push(try fine.encodedChanges(), to: setup.document) else {
            throw TestFailure("a 40 KB value was refused")
        }
        try await Self.expectBystanderServed(setup)
    }

    @Test("one organisation cannot give a document thousands of writers: a push past the limit is refused, the document stays syncable")
    func agentFlood() async throws {
        var setup = try await Self.start()
        // 250 writers of the organisation: accepted (a real workspace has one, plus one per copy found).
        func batch(agents range: Range<Int>) throws -> [UInt8] {
            var combined = Document()
            for index in range {
                var writer = Document(agent: try AgentID("0751/w\(index)"))
                try writer.insert("x", at: 0)
                try combined.merge(encodedChanges: try writer.encodedChanges())
            }
            return try combined.encodedChanges()
        }
        guard case .pushAck = try await setup.attacker.push(try batch(agents: 0..<250), to: setup.document) else {
            throw TestFailure("250 writers were refused")
        }
        let (code, message) = Self.refusal(try await setup.attacker.push(try batch(agents: 250..<300), to: setup.document))
        #expect(code == .limitExceeded && message.contains("at most 256 per organisation"), "\(message)")
        // The document still syncs whole for anyone: CAUGHT_UP's version stays small.
        var reader = try await TestClient.connect(port: setup.server.port)
        try await reader.hello(token: setup.attackerToken)
        var replica = Document()
        let version = try await reader.subscribeAndCatchUp(setup.document, into: &replica)
        #expect(version.agents.count == 251, "250 writers and the server")
        #expect(replica.text().count == 250)
        await reader.close()
        try await Self.expectBystanderServed(setup)
    }

    @Test("subscribing again and again with the largest versions, never reading: the queue is bounded, memory stays low, others are served")
    func subscribeFlood() async throws {
        var setup = try await Self.start()
        var counts: [AgentID: Int] = [:]
        for index in 0..<4_096 { counts[try AgentID("0751/a\(index)")] = 1 }
        let largest = VersionVector(counts)
        counts[try AgentID("0751/one-too-many")] = 1
        let refused = try await setup.attacker.reply(to: 99, after: .subscribe(request: 99, document: setup.document,
                                                                                version: VersionVector(counts)))
        #expect(Self.refusal(refused).0 == .limitExceeded, "\(refused)")

        // A connection that sends and never reads.
        let flooder = try await WireConnection.connect(host: "127.0.0.1", port: setup.server.port)
        try await flooder.send(.hello(.init(token: setup.attackerToken, client: "flood")))
        // One frame, encoded once and sent again and again (the request id repeats;
        // the server answers each).
        let frame = SporMessage.subscribe(request: 1, document: setup.document, version: largest).frameBytes
        var sent = 0
        do {
            for _ in 1...1_500 {
                try await flooder.sendRaw(frame)
                sent += 1
            }
        } catch {
            // The server closed it (slowConsumer): what the bound is for.
        }
        try await Self.expectBystanderServed(setup)
        let peak = try #require(setup.server.peakResidentBytes)
        print("subscribe flood: \(sent) subscriptions of 4,096 agents sent, server peak RSS \(peak / 1_048_576) MiB")
        #expect(peak < Self.memoryBound, "peak RSS \(peak / 1_048_576) MiB after \(sent) subscriptions")
        await flooder.close()
    }

    @Test("a push that would take a list past its bound is refused with limitExceeded; what was stored stays and syncs")
    func listPastItsBound() async throws {
        var setup = try await Self.start()
        let list = try ContainerID.root("poster", .list)
        var first = Document(agent: try AgentID("0751/a"))
        for index in 0..<(ListState.maxSlots - 1) { _ = try first.insert(.int(Int64(index)), at: 0, in: list) }
        guard case .pushAck = try await setup.attacker.push(try first.encodedChanges(), to: setup.document) else {
            throw TestFailure("a list one below its bound was refused")
        }
        // A writer who had not seen them adds two: the second is one too many.
        var second = Document(agent: try AgentID("0751/b"))
        for index in 0..<2 { _ = try second.insert(.int(Int64(index)), at: 0, in: list) }
        let (code, message) = Self.refusal(try await setup.attacker.push(try second.encodedChanges(), to: setup.document))
        #expect(code == .limitExceeded && message.contains("at most \(ListState.maxSlots)"), "\(message)")
        var reader = try await TestClient.connect(port: setup.server.port)
        try await reader.hello(token: setup.attackerToken)
        var replica = Document()
        try await reader.subscribeAndCatchUp(setup.document, into: &replica)
        #expect(replica.list(list).count == ListState.maxSlots - 1)
        await reader.close()
        try await Self.expectBystanderServed(setup)
    }

    @Test("a small push whose concurrent insertions would take seconds to place is refused with limitExceeded; a moderate one is stored")
    func concurrentInsertionsPastTheBudget() async throws {
        var setup = try await Self.start()
        let list = try ContainerID.root("poster", .list)
        for target in [nil, list] {
            let what = target == nil ? "text" : "list"
            // Stored first: 1,000 insertions at the front, one writer.
            let first = try Document.frontInserts(by: "0751/\(what)-a", count: 1_000, list: target)
            guard case .pushAck = try await setup.attacker.push(try first.encodedChanges(), to: setup.document) else {
                throw TestFailure("the first writer's \(what) insertions were refused")
            }
            // A writer who had not seen them does the same: each of its insertions is
            // placed past all 1,000 (about a million scans: seconds at 50,000).
            let second = try Document.frontInserts(by: "0751/\(what)-b", count: 1_000, list: target)
            let changes = try second.encodedChanges()
            #expect(changes.count < 8_000, "\(changes.count) bytes: the attack is a small push")
            let (code, message) = Self.refusal(try await setup.attacker.push(changes, to: setup.document))
            #expect(code == .limitExceeded && message.contains("100000 concurrent items"), "\(what): \(message)")
            // Moderate concurrency is stored: 40 against 1,000 (in a text each is
            // scanned past twice, to find the origin and to place it: about 80,000).
            let moderate = try Document.frontInserts(by: "0751/\(what)-c", count: 40, list: target)
            let reply = try await setup.attacker.push(try moderate.encodedChanges(), to: setup.document)
            guard case .pushAck = reply else { throw TestFailure("\(what): a moderately concurrent push was refused: \(reply)") }
        }
        var reader = try await TestClient.connect(port: setup.server.port)
        try await reader.hello(token: setup.attackerToken)
        var replica = Document()
        try await reader.subscribeAndCatchUp(setup.document, into: &replica)
        #expect(replica.textLength() == 1_040)
        #expect(replica.list(list).count == 1_040)
        await reader.close()
        try await Self.expectBystanderServed(setup)
    }
}
