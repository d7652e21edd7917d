import Foundation
import SporClient
import SporProposal
import SporTestSupport
import SporWire
import SporWireClient
import Testing
@testable import SporCRDT

/// Valid PUSH frames whose change batches are mutated inside a re-sealed checksum:
/// the bytes pass the envelope and reach the batch decoder, the server's checks and
/// the merge. Whatever the server accepts it relays and serves to every member, so
/// it must accept only batches that merge. Short form in CI; long form
/// `SPOR_BATCH_MUTATIONS=5000`.
@Suite("Mutated change batches over TCP", .timeLimit(.minutes(20)), .blockingCallsAllowed)
struct MutatedBatchTests {
    @Test("the server accepts only change batches that every client can merge; a new member then syncs the proposal")
    func mutatedBatches() async throws {
        let attempts = repetitions("BATCH_MUTATIONS", short: 300)
        let seed = getenvString("SPOR_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        let server = try ServerProcess()
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        let odenseToken = try server.addOrganisation("Odense Kommune", kind: "kommune", code: "0461")
        let actor = Actor(organisation: "0751", role: .member)

        // `stored` mirrors what the server stored: every batch it acknowledged, merged.
        var stored = try Proposal.create(agent: try AgentID("0751/honest"), actor: actor, title: "Skybrud og tørke",
                                         roundID: "2024-spring").document
        let connection = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
        var messages = connection.messages.makeAsyncIterator()
        try await connection.send(.hello(.init(token: token, client: "mutations")))
        guard case .welcome? = try await messages.next() else { throw TestFailure("no WELCOME") }
        var nextRequest: UInt64 = 1
        /// Sends one request and returns the server's answer to it.
        func request(_ make: (UInt64) -> SporMessage) async throws -> SporMessage {
            let id = nextRequest
            nextRequest += 1
            try await connection.send(make(id))
            while let message = try await messages.next() {
                switch message {
                case .ok(id), .pushAck(id, _, _, _): return message
                case let .error(report) where report.request == id: return message
                default: continue
                }
            }
            throw TestFailure("the server closed the connection")
        }
        guard case .ok = try await request({ .createDocument(request: $0, document: "0751.p") }) else { throw TestFailure("create") }
        guard case .ok = try await request({ .addMember(request: $0, document: "0751.p", organisation: "0461", role: .partner) }) else { throw TestFailure("member") }
        let first = try stored.encodedChanges()
        guard case .pushAck = try await request({ .push(request: $0, document: "0751.p", changes: first) }) else {
            throw TestFailure("first push")
        }

        var accepted = 0, refused: [String: Int] = [:], acceptedButUnmergeable: [String] = []
        for attempt in 0..<attempts {
            // A new author each time, editing what the server has: sections, budget.
            let author = try Document(decoding: stored.encoded(), agent: try AgentID("0751/m\(attempt)"))
            var proposal = Proposal(document: author, actor: actor)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let section = [Section.summary, .challenge, .activities].randomElement(using: &random) ?? .summary
                var text = Array(proposal.document.text(ProposalSchema.text(of: section)))
                if text.count > 4, Bool.random(using: &random) {
                    let start = Int.random(in: 0..<text.count - 2, using: &random)
                    text.removeSubrange(start..<min(text.count, start + Int.random(in: 1...6, using: &random)))
                } else {
                    text.insert(contentsOf: Array(" skybrud-\(attempt) æøå 🌊"), at: Int.random(in: 0...text.count, using: &random))
                }
                try proposal.setSection(section, to: String(text))
                if Int.random(in: 0..<4, using: &random) == 0 {
                    _ = try proposal.addBudgetLine(BudgetLineInput(item: "linje \(attempt)", amount: Int64(attempt) * 1000,
                                                                   source: .own, year: 2025))
                }
            }
            let honest = try proposal.document.encodedChanges(since: stored.versionVector)
            let mutation = Int.random(in: 0..<4, using: &random) == 0 ? "none" : "mutated"
            let bytes = mutation == "none" ? honest : Self.mutate(honest, using: &random)
            let answer = try await request { .push(request: $0, document: "0751.p", changes: bytes) }
            switch answer {
            case .pushAck:
                accepted += 1
                do {
                    try stored.merge(encodedChanges: bytes)
                } catch {
                    acceptedButUnmergeable.append("attempt \(attempt): \(error)")
                }
            case let .error(report):
                refused[report.knownCode.map { "\($0)" } ?? "\(report.code)", default: 0] += 1
                #expect(mutation != "none", "seed \(seed): an honest batch was refused: \(report.message)")
            default:
                Issue.record("unexpected answer \(answer)")
            }
        }
        await connection.close()
        #expect(acceptedButUnmergeable.isEmpty,
                "seed \(seed): the server stored batches no client can merge: \(acceptedButUnmergeable.prefix(5))")

        // A member who was not there syncs the whole proposal with the real client.
        let odense = try await setUpWorkspace(server.address, token: odenseToken)
        let report = try await SyncEngine(workspace: odense).sync()
        #expect(report.newDocuments == ["0751.p"])
        let synced = try odense.document("0751.p")
        #expect(synced.versionVector.withoutServer == stored.versionVector, "seed \(seed)")
        let onServer = try serverState(server, "0751.p")
        #expect(onServer.events == stored.eventCount + (onServer.agents[serverAgentName] ?? 0), "seed \(seed)")
        print("mutated batches: \(attempts) pushes (seed \(seed)), \(accepted) accepted, refused \(refused.sorted { $0.key < $1.key }), "
              + "\(acceptedButUnmergeable.count) accepted but unmergeable")
    }

    /// `batch` with 1–3 of its payload bytes flipped, replaced, inserted or removed,
    /// and its checksum made valid again: only the bytes between the envelope's
    /// header ("SPOR", kind, version, flags) and its checksum change.
    static func mutate(_ batch: [UInt8], using random: inout SeededRandom) -> [UInt8] {
        var body = Array(batch[0..<(batch.count - 4)])
        let payload = 7
        guard body.count > payload + 1 else { return batch }
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let at = Int.random(in: payload..<body.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: body[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: body[at] = [0, 1, 2, 0x7F, 0x80, 0xFF].randomElement(using: &random) ?? 0
            case 2: body.insert(UInt8.random(in: 0...255, using: &random), at: at)
            default: if body.count > payload + 2 { body.remove(at: at) }
            }
        }
        var writer = ByteWriter(reservingCapacity: body.count + 4)
        writer.writeBytes(body)
        return EncodedFile.finish(writer)
    }
}
