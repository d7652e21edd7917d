import SporTestSupport
import Testing
@testable import SporCRDT

/// A replica copied with its agent (a copied or restored workspace) and both copies
/// edited: the digests find the first event the copies made differently, whichever
/// way the events are cut into batches, and re-issuing the copy's events from there
/// under a new agent keeps everything it shows and merges with the original.
@Suite("Forked agents: digests and re-issue")
struct ForkedAgentTests {
    @Test("digests find where two copies of one agent diverge; re-issue keeps the copy's content and converges",
          arguments: propertySeeds(25, base: 0xF0_4CED))
    func forkedCopies(seed: UInt64) throws {
        print("forked-agent seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter ForkedAgentTests)")
        var random = SeededRandom(seed: seed)
        // A shared history on three replicas.
        var network = SimulatedNetwork(agents: try ConvergenceTests.agents(3))
        for _ in 0..<Int.random(in: 10...40, using: &random) {
            let replica = Int.random(in: 0..<3, using: &random)
            try MixedContainerConvergenceTests.randomEdit(&network.replicas[replica], using: &random)
            if Bool.random(using: &random) { try network.broadcast(from: replica) }
        }
        for replica in 0..<3 { try network.broadcast(from: replica) }
        try network.drain(using: &random)
        try network.syncAll()

        // Replica 0 is copied with its agent; both copies edit on their own.
        var original = network.replicas[0]
        let agent = try #require(original.agent)
        let base = original.versionVector
        var copy = Document(decodingForEdits: original, agent: agent)
        for _ in 0..<Int.random(in: 1...12, using: &random) { try MixedContainerConvergenceTests.randomEdit(&original, using: &random) }
        for _ in 0..<Int.random(in: 1...12, using: &random) { try MixedContainerConvergenceTests.randomEdit(&copy, using: &random) }
        let originalEvents = original.versionVector[agent], copyEvents = copy.versionVector[agent]
        let overlap = base[agent]..<min(originalEvents, copyEvents)

        // Digests do not depend on how events are cut into batches.
        let whole = try EventDigests(encodedChanges: original.encodedChanges(since: base))
        let pieces = try original.encodedChanges(since: base, maxEventsPerBatch: Int.random(in: 1...5, using: &random))
        var pieceTotal: UInt64 = 0
        for piece in pieces {
            let digests = try EventDigests(encodedChanges: piece)
            for seqs in digests.seqs(of: agent) { pieceTotal &+= try #require(digests.digest(of: agent, seqs: seqs)) }
        }
        #expect(pieceTotal == whole.digest(of: agent, seqs: base[agent]..<originalEvents), "seed \(seed): digests depend on the cut")
        let local = try original.eventDigests(of: agent, seqs: base[agent]..<originalEvents)
        #expect(local == whole, "seed \(seed): the document's digests differ from its batch's")

        // The copies diverge at their first differing event (both edited: at the first
        // one unless their first edits happened to be the same).
        let theirs = try EventDigests(encodedChanges: copy.encodedChanges(since: base))
        let divergence = whole.firstDifference(from: theirs, of: agent, in: overlap) ?? overlap.upperBound
        #expect(divergence >= base[agent])
        if divergence > overlap.lowerBound {
            #expect(whole.digest(of: agent, seqs: overlap.lowerBound..<divergence) == theirs.digest(of: agent, seqs: overlap.lowerBound..<divergence))
        }
        if divergence < overlap.upperBound {
            let event = divergence..<(divergence + 1)
            #expect(whole.digest(of: agent, seqs: event) != theirs.digest(of: agent, seqs: event), "seed \(seed)")
        }

        // The copy re-issues its events from the divergence under a new agent.
        let newAgent = try AgentID("\(agent.name)-copy")
        let (repaired, reissued) = try copy.reissuing(eventsOf: agent, from: divergence, as: newAgent) { $0 == newAgent }
        #expect(reissued == copyEvents - divergence, "seed \(seed)")
        #expect(repaired.versionVector[agent] == divergence)
        #expect(repaired.versionVector[newAgent] == reissued)
        #expect(contentDump(repaired) == contentDump(copy), "seed \(seed): re-issuing changed what the copy shows")
        #expect(repaired.agent == newAgent)

        // The repaired copy and the original merge both ways and converge; a third
        // replica that had neither converges too.
        var merged = original
        try merged.merge(encodedChanges: try repaired.encodedChanges(since: merged.versionVector))
        var mergedOther = repaired
        try mergedOther.merge(encodedChanges: try original.encodedChanges(since: mergedOther.versionVector))
        #expect(dump(merged) == dump(mergedOther), "seed \(seed): the repaired copy and the original diverged")
        var third = network.replicas[2]
        try third.merge(encodedChanges: try original.encodedChanges(since: third.versionVector))
        try third.merge(encodedChanges: try repaired.encodedChanges(since: third.versionVector))
        #expect(dump(third) == dump(merged), "seed \(seed): a third replica diverged")
        // Every event of both copies is in the result.
        #expect(merged.versionVector[agent] == originalEvents && merged.versionVector[newAgent] == reissued)
    }

    @Test("re-issuing refuses an event of another agent that builds on the events to re-issue")
    func foreignDescendant() throws {
        let mine = try AgentID("0751/a"), theirs = try AgentID("0101/b")
        var document = Document(agent: mine)
        try document.insert("Klimaspor", at: 0)
        var partner = Document(agent: theirs)
        try partner.merge(encodedChanges: try document.encodedChanges())
        try partner.insert(" Aarhus", at: 9)
        try document.merge(encodedChanges: try partner.encodedChanges(since: document.versionVector))
        #expect(throws: CRDTError.self) {
            _ = try document.reissuing(eventsOf: mine, from: 0, as: try AgentID("0751/c")) { $0.name.hasPrefix("0751/") }
        }
        // From after the events the partner built on, it works.
        try document.insert("!", at: document.textLength())
        let (repaired, reissued) = try document.reissuing(eventsOf: mine, from: 9, as: try AgentID("0751/c")) { $0.name.hasPrefix("0751/") }
        #expect(reissued == 1)
        #expect(repaired.text() == "Klimaspor Aarhus!")
    }
}

/// What a document shows, without event ids and authors (which re-issuing renames):
/// every container (list items named by their visible position), texts, every kept
/// register value, map entries, list values in order and sets.
func contentDump(_ document: Document) -> String {
    func name(_ id: ContainerID) -> String? {
        guard let parent = id.parent else { return id.description }
        guard let parentName = name(parent) else { return nil }
        if let item = id.listItem {
            guard let index = document.list(parent).firstIndex(where: { $0.id.event == item }) else { return nil }
            return "\(parentName)[\(index)](\(id.kind))"
        }
        return "\(parentName)/\(id.key ?? "?")(\(id.kind))"
    }
    func values(_ value: RegisterValue) -> String { value.writes.map(\.value.description).sorted().joined(separator: " | ") }
    var lines: [String] = []
    for id in document.containerIDs {
        guard let label = name(id) else { continue }
        switch id.kind {
        case .text: lines.append("\(label) = \(String(reflecting: document.text(id)))")
        case .register: lines.append("\(label) = \(values(document.register(id)))")
        case .map: lines.append("\(label) = {\(document.map(id).map { "\($0.key): \(values($0.value))" }.joined(separator: ", "))}")
        case .list: lines.append("\(label) = [\(document.list(id).map(\.value.description).joined(separator: ", "))]")
        case .set: lines.append("\(label) = {\(document.set(id).map(\.description).sorted().joined(separator: ", "))}")
        }
    }
    return lines.sorted().joined(separator: "\n")
}
