import SporTestSupport
import Testing
@testable import SporCRDT

/// Reading the past, redlines between versions, attribution and anchors.
@Suite("Versions, changes and attribution")
struct VersionTests {
    @Test("any container read at a past version equals the document as it was then",
          arguments: propertySeeds(12, base: 0x71_3E))
    func timeTravel(seed: UInt64) throws {
        print("time-travel seed \(seed)")
        var random = SeededRandom(seed: seed)
        var aarhus = Document(agent: try AgentID("aarhus"))
        var odense = Document(agent: try AgentID("odense"))
        var snapshots: [(Version, String)] = []
        for step in 0..<60 {
            if Bool.random(using: &random) {
                try MixedContainerConvergenceTests.randomEdit(&aarhus, using: &random)
            } else {
                try MixedContainerConvergenceTests.randomEdit(&odense, using: &random)
            }
            if step % 7 == 3 { try ContainerSemanticsTests.sync(&aarhus, &odense) }
            if step % 5 == 0 { snapshots.append((aarhus.version, Self.withoutEmpty(dump(aarhus)))) }
        }
        try ContainerSemanticsTests.sync(&aarhus, &odense)
        let reopened = try Document(decoding: aarhus.encoded())
        for (version, expected) in snapshots {
            #expect(try dumpView(aarhus.view(at: version), of: aarhus) == expected, "seed \(seed) at \(version)")
            #expect(try dumpView(reopened.view(at: version), of: aarhus) == expected, "seed \(seed) reopened")
        }
    }

    /// A dump without the containers that hold nothing (those created later read as
    /// empty at an earlier version).
    static func withoutEmpty(_ dump: String) -> String {
        dump.split(separator: "\n").filter {
            !$0.hasSuffix(" = \"\"") && !$0.hasSuffix(" = ") && !$0.hasSuffix(" = []") && !$0.hasSuffix(" = {}")
        }.joined(separator: "\n")
    }

    /// ``dump(_:)`` of a view, over the containers `document` knows.
    func dumpView(_ view: DocumentView, of document: Document) throws -> String {
        var lines: [String] = []
        for id in document.containerIDs {
            switch id.kind {
            case .text:
                lines.append("\(id) = \(String(reflecting: try view.text(id)))")
            case .register:
                lines.append("\(id) = \(describe(try view.register(id)))")
            case .map:
                let entries = try view.map(id).map { "\($0.key): \(describe($0.value))" }
                lines.append("\(id) = {\(entries.joined(separator: ", "))}")
            case .list:
                lines.append("\(id) = [\(try view.list(id).map { "\($0.id)=\($0.value)" }.joined(separator: ", "))]")
            case .set:
                lines.append("\(id) = {\(try view.set(id).map(\.description).joined(separator: ", "))}")
            }
        }
        return Self.withoutEmpty(lines.joined(separator: "\n"))
    }

    @Test("a redline shows who inserted and who deleted what since a version")
    func redline() throws {
        var aarhus = Document(agent: try AgentID("aarhus"))
        try aarhus.insert("Vi tester klimatilpasning i byen.", at: 0)
        var region = Document(agent: try AgentID("region-midtjylland"))
        try region.merge(encodedChanges: try aarhus.encodedChanges())
        let submitted = region.version
        try region.delete(3..<10)                                 // "tester "
        try region.insert("demonstrerer ", at: 3)                 // "Vi demonstrerer klima..."
        try aarhus.insert(" og på landet", at: 32)                // before the ".", concurrently
        try region.merge(encodedChanges: try aarhus.encodedChanges(since: region.versionVector))
        let changes = try region.textChanges(in: .text, from: submitted)
        let described = changes.map { "\($0.kind.rawValue)(\($0.author?.name ?? "-")):\($0.text)" }
        #expect(described == [
            "unchanged(-):Vi ",
            "inserted(region-midtjylland):demonstrerer ",
            "deleted(region-midtjylland):tester ",
            "unchanged(-):klimatilpasning i byen",
            "inserted(aarhus): og på landet",
            "unchanged(-):.",
        ])
        #expect(throws: CRDTError.self) { try aarhus.textChanges(in: .text, from: region.version, to: submitted) }
    }

    @Test("redlines and attribution reassemble exactly the texts they describe", arguments: propertySeeds(12, base: 0xD1_FF))
    func redlinesReassemble(seed: UInt64) throws {
        print("redline seed \(seed)")
        var random = SeededRandom(seed: seed)
        var replicas = try (0..<3).map { Document(agent: try AgentID(["aarhus", "odense", "vejle"][$0])) }
        var versions: [Version] = []
        for step in 0..<120 {
            let replica = Int.random(in: 0..<3, using: &random)
            try ConvergenceTests.randomEdit(&replicas[replica], hotPosition: 2, using: &random)
            if step % 9 == 4 {
                let other = (replica + 1) % 3
                try replicas[replica].merge(encodedChanges: try replicas[other].encodedChanges(since: replicas[replica].versionVector))
            }
            if step % 10 == 0 { versions.append(replicas[0].version) }
        }
        for other in 1..<3 { try replicas[0].merge(encodedChanges: try replicas[other].encodedChanges(since: replicas[0].versionVector)) }
        let document = replicas[0]
        let attribution = try document.attribution(of: .text)
        #expect(attribution.map(\.text).joined() == document.text(), "seed \(seed)")
        for version in versions {
            let changes = try document.textChanges(in: .text, from: version)
            let before = changes.filter { $0.kind != .inserted }.map(\.text).joined()
            let after = changes.filter { $0.kind != .deleted }.map(\.text).joined()
            #expect(before == (try document.text(.text, at: version)), "seed \(seed): old side of the redline")
            #expect(after == document.text(), "seed \(seed): new side of the redline")
            #expect(changes.allSatisfy { ($0.kind == .unchanged) == ($0.author == nil) })
        }
    }

    @Test("attribution names the agent of every character")
    func attribution() throws {
        var aarhus = Document(agent: try AgentID("aarhus"))
        try aarhus.insert("Hej verden", at: 0)
        var odense = Document(agent: try AgentID("odense"))
        try odense.merge(encodedChanges: try aarhus.encodedChanges())
        try odense.insert(" fra Odense", at: 10)
        try odense.replace(0..<3, with: "Goddag")
        let runs = try odense.attribution(of: .text).map { "\($0.author.name):\($0.text)" }
        #expect(runs == ["odense:Goddag", "aarhus: verden", "odense: fra Odense"])
    }

    @Test("an anchor follows its character through edits around it, and stays put when it is deleted")
    func anchors() throws {
        var document = Document(agent: try AgentID("aarhus"))
        try document.insert("Risiko: oversvømmelse af kælderen.", at: 0)
        let anchor = try document.anchor(in: .text, at: 8)  // before "oversvømmelse"
        #expect(try document.position(of: anchor, in: .text) == 8)
        try document.insert("Stor ", at: 0)
        #expect(try document.position(of: anchor, in: .text) == 13)
        try document.delete(0..<5)
        try document.delete(8..<9)                            // the anchored "o" itself
        #expect(try document.position(of: anchor, in: .text) == 8)
        try document.insert("O", at: 8)
        #expect(document.text() == "Risiko: Oversvømmelse af kælderen.")
        let end = try document.anchor(in: .text, at: document.textLength())
        #expect(try document.position(of: end, in: .text) == document.textLength())
    }
}
