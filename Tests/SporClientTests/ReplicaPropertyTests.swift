import Foundation
import SporCRDT
import SporProposal
import SporTestSupport
import Testing
@testable import SporClient

/// The workspace's storage under random interleavings: local edits, partners'
/// batches merged in (with and without the engine's cached document, so that a
/// stale cache is exercised), snapshots, reopening. Both replicas must end equal,
/// and each outbox must hold exactly the local events.
@Suite("Workspace replicas under random histories", .blockingCallsAllowed)
struct ReplicaPropertyTests {
    /// One replica: its workspace, the engine's cached document, and how many of the
    /// other replica's outbox batches it has received.
    struct Replica {
        var workspace: Workspace
        var cache: LoadedDocument?
        var delivered = 0
        let name: String
    }

    @Test("two workspaces exchanging outbox batches in random order converge", arguments: propertySeeds(12, base: 0x5_EED_0F))
    func converge(seed: UInt64) async throws {
        print("replica seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter ReplicaPropertyTests)")
        var random = SeededRandom(seed: seed)
        let aarhus = try offlineWorkspace()
        let odense = try offlineWorkspace(organisation: "0461", name: "Odense Kommune")
        let id = try aarhus.createProposal(title: "Fælles", roundID: "2024-spring", now: february2024)
        var replicas = [Replica(workspace: aarhus, name: "aarhus"), Replica(workspace: odense, name: "odense")]
        // Odense starts from what Aarhus pushed so far.
        replicas[1].cache = try await deliver(from: aarhus, to: &replicas[1], id: id)

        let words = ["skybrud", "Ærø", "grønne tage", "🌊", "data", "kommunerne"]
        for step in 0..<60 {
            let index = Int.random(in: 0...1, using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let word = words[Int.random(in: 0..<words.count, using: &random)]
                let section: Section = [.summary, .challenge, .risks][Int.random(in: 0...2, using: &random)]
                let position = Int.random(in: 0...1000, using: &random)
                try replicas[index].workspace.change(id) { proposal in
                    var text = proposal.document.text(ProposalSchema.text(of: section))
                    let offset = text.isEmpty ? 0 : position % (text.count + 1)
                    text.insert(contentsOf: "\(word)\(step) ", at: text.index(text.startIndex, offsetBy: offset))
                    try proposal.setSection(section, to: text)
                }
            case 5:
                try replicas[index].workspace.change(id) { proposal in
                    _ = try proposal.addBudgetLine(BudgetLineInput(item: "linje \(step)", amount: Int64(step) * 1000, source: .own, year: 2025))
                }
            case 6:
                try replicas[index].workspace.compact(id)
            case 7:
                // Reopened, as by a new process; the engine's cache is gone too.
                replicas[index].workspace = try Workspace(directory: replicas[index].workspace.directory)
                replicas[index].cache = nil
            default:
                let other = replicas[1 - index].workspace
                replicas[index].cache = try await deliver(from: other, to: &replicas[index], id: id,
                                                          keepCache: Bool.random(using: &random))
            }
        }
        for index in [0, 1, 0] {
            replicas[index].cache = try await deliver(from: replicas[1 - index].workspace, to: &replicas[index], id: id)
        }
        let documents = try replicas.map { try $0.workspace.document(id) }
        #expect(documents[0].version == documents[1].version, "seed \(seed)")
        #expect(try Proposal(document: documents[0], actor: Actor(organisation: "0751", role: .member)).content()
                == Proposal(document: documents[1], actor: Actor(organisation: "0461", role: .member)).content(), "seed \(seed)")
        // Each outbox holds exactly its workspace's own events, each once.
        for replica in replicas {
            let agent = try replica.workspace.identity().agent
            var seqs = 0
            for case let .push(changes, events) in try replica.workspace.outbox().map(\.kind) {
                let summary = try ChangeSummary(encodedChanges: changes)
                #expect(summary.runs.allSatisfy { $0.agent == agent }, "seed \(seed)")
                #expect(summary.eventCount == events)
                seqs += events
            }
            #expect(seqs == documents[0].versionVector[agent], "seed \(seed): \(replica.name)")
        }
    }

    /// Merges the outbox batches of `source` that `replica` has not received yet, as
    /// the relay would, through the engine's path; returns the engine's cache.
    func deliver(from source: Workspace, to replica: inout Replica, id: String, keepCache: Bool = true) async throws -> LoadedDocument? {
        let batches = try source.outbox().compactMap { entry -> [UInt8]? in
            if case let .push(changes, _) = entry.kind { return changes }
            return nil
        }
        let new = Array(batches.dropFirst(replica.delivered))
        replica.delivered = batches.count
        let agent = try replica.workspace.identity().agent
        let (loaded, _, _) = try await replica.workspace.mergeFromServer(id, batches: new, cached: keepCache ? replica.cache : nil, agent: agent)
        return loaded
    }
}
