import SporTestSupport
import SporTraces
import Testing
@testable import SporCRDT

/// A document file merged as the whole history of a replica that has nothing: taken
/// as it is (trusted), it gives exactly the document a replay gives and merges on
/// like it; checked (untrusted), a text that differs from its events' merge is
/// refused and nothing kept; broken forms of it only ever throw.
@Suite("A document file for a new replica")
struct NewReplicaFileTests {
    static func history(seed: UInt64) throws -> (trace: EditingTrace, document: Document, width: Int) {
        var random = SeededRandom(seed: seed)
        var generator = BranchingHistory(width: Int.random(in: 2...16, using: &random),
                                         events: Int.random(in: 300...3_000, using: &random))
        generator.eventsBetweenPulls = Int.random(in: 20...300, using: &random)
        let trace = try generator.generate(using: &random)
        return (trace, try trace.replayBranchesAndMerge(), generator.width)
    }

    @Test("2-16 branches: a new replica taking the texts equals one replaying the events, and merges on like it",
          arguments: propertySeeds(12, base: 0x5E_ED01))
    func trustedEqualsReplayed(seed: UInt64) throws {
        print("new-replica seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter NewReplicaFileTests)")
        let (trace, document, width) = try Self.history(seed: seed)
        let batch = document.encoded()

        var trusted = Document()
        #expect(try trusted.merge(encodedChanges: batch, trustingTexts: true) == document.eventCount)
        var checked = Document()
        try checked.merge(encodedChanges: batch)
        var replayed = Document()
        try replayed.merge(encodedChanges: try document.encodedChanges())
        for replica in [trusted, checked] {
            #expect(replica.text() == trace.endContent, "seed \(seed), width \(width)")
            #expect(replica.versionVector == replayed.versionVector)
            #expect(replica.version == replayed.version)
        }

        // Both go on merging concurrent work the same way: a partner who saw only part
        // of the history edits, and both replicas take the partner's events.
        let cut = trace.transactions.count / 2
        let partial = EditingTrace(name: "partial", endContent: "", agentCount: trace.agentCount,
                                   transactions: Array(trace.transactions[..<cut]))
        var partner = try partial.appendBranches()
        try partner.mergePendingEvents(since: [])
        var late = Document(agent: try AgentID("late-partner"))
        try late.merge(encodedChanges: try partner.encodedChanges())
        try late.insert("sen tilføjelse ", at: late.textLength() / 2)
        try late.delete(0..<min(3, late.textLength()))
        let lateChanges = try late.encodedChanges(since: partner.versionVector)
        try trusted.merge(encodedChanges: lateChanges)
        try replayed.merge(encodedChanges: lateChanges)
        #expect(trusted.text() == replayed.text(), "seed \(seed): after a concurrent edit")
        #expect(trusted.encoded() == replayed.encoded())
    }

    @Test("every container kind, two texts, an opened file: the same document either way")
    func allContainers() throws {
        let (aarhus, _) = try DecodingRobustnessTests.sampleDocuments()
        let opened = try Document(decoding: aarhus.encoded())
        for source in [aarhus, opened] {
            var trusted = Document()
            try trusted.merge(encodedChanges: source.encoded(), trustingTexts: true)
            #expect(trusted.encoded() == aarhus.encoded())
            var checked = Document()
            try checked.merge(encodedChanges: source.encoded())
            #expect(checked.firstContainer(differingFrom: aarhus) == nil)
            #expect(checked.versionVector == aarhus.versionVector)
            #expect(trusted.text(try ContainerID("budget")) == aarhus.text(try ContainerID("budget")))
        }
        // An empty document's batch is empty.
        var empty = Document()
        #expect(try empty.merge(encodedChanges: Document().encoded(), trustingTexts: true) == 0)
    }

    /// `document`'s file with the first occurrence of `original` in its stored texts
    /// replaced by `replacement` (as long), checksum fixed: what a dishonest or broken
    /// sender could send.
    static func forgedFile(of document: Document, replacing original: String, with replacement: String) throws -> [UInt8] {
        let (from, to) = (Array(original.utf8), Array(replacement.utf8))
        precondition(from.count == to.count && original.unicodeScalars.count == replacement.unicodeScalars.count)
        var file = document.encoded()
        let start = try #require((0...(file.count - from.count)).first { Array(file[$0..<$0 + from.count]) == from })
        file.replaceSubrange(start..<start + from.count, with: to)
        return DecodingRobustnessTests.withValidChecksum(file)
    }

    @Test("a text that is not what the events merge to is refused when checked, and nothing is kept")
    func forgedTextRefused() throws {
        let (aarhus, odense) = try DecodingRobustnessTests.sampleDocuments()
        let forged = try Self.forgedFile(of: aarhus, replacing: "1.000.000", with: "9.000.000")
        #expect(try Document(decoding: forged).text(try ContainerID("budget")).contains("9.000.000"))
        var server = Document()
        let error = try #require(throws: CRDTError.self) { try server.merge(encodedChanges: forged) }
        #expect(error.code == .malformed)
        #expect(server.eventCount == 0 && server.textIDs.isEmpty)
        #expect(server.encoded() == Document().encoded())
        // Into a replica that has events the file's texts play no part: its events merge.
        var partner = odense
        try partner.merge(encodedChanges: forged, trustingTexts: true)
        #expect(partner.text(try ContainerID("budget")) == aarhus.text(try ContainerID("budget")))
        #expect(partner.text() == aarhus.text())
        // Trusted, into an empty replica, the stored text is taken as it is: that is
        // what trusting the sender means (a client and its server).
        var client = Document()
        try client.merge(encodedChanges: forged, trustingTexts: true)
        #expect(client.text(try ContainerID("budget")).contains("9.000.000"))
    }

    @Test("random mutations of a file only ever throw, and a failed merge keeps nothing",
          arguments: propertySeeds(6, base: 0xA11_0C))
    func mutationsOfTheNewForm(seed: UInt64) throws {
        print("new-replica mutation seed \(seed)")
        var random = SeededRandom(seed: seed)
        let (aarhus, odense) = try DecodingRobustnessTests.sampleDocuments()
        let original = aarhus.encoded()
        for _ in 0..<300 {
            let mutated = DecodingRobustnessTests.mutated(original, using: &random)
            DecodingRobustnessTests.expectSafe(mutated, into: odense, context: "seed \(seed)")
            for trusting in [false, true] {
                var empty = Document()
                do {
                    try empty.merge(encodedChanges: mutated, trustingTexts: trusting)
                    #expect(empty.log.graph.checkInvariants() == nil, "seed \(seed)")
                } catch {
                    #expect(empty.eventCount == 0 && empty.textIDs.isEmpty, "seed \(seed): a failed merge kept something")
                }
            }
        }
    }
}
