import Testing
@testable import SporCRDT

/// The merge semantics each container kind documents, on small hand-checked cases.
@Suite("Container semantics")
struct ContainerSemanticsTests {
    /// Two replicas that exchange everything both ways.
    static func sync(_ a: inout Document, _ b: inout Document) throws {
        try a.merge(encodedChanges: try b.encodedChanges(since: a.versionVector))
        try b.merge(encodedChanges: try a.encodedChanges(since: b.versionVector))
    }

    static func pair() throws -> (Document, Document) {
        (Document(agent: try AgentID("aarhus")), Document(agent: try AgentID("odense")))
    }

    @Test("register: concurrent writes are kept as a conflict with their authors until resolved")
    func registerConflict() throws {
        var (aarhus, odense) = try Self.pair()
        let amount = try ContainerID.root("amount", .register)
        try aarhus.set(.int(500_000), in: amount)
        try Self.sync(&aarhus, &odense)
        #expect(odense.register(amount).value == .int(500_000))
        #expect(!odense.register(amount).isConflict)

        try aarhus.set(.int(600_000), in: amount)
        try odense.set(.int(750_000), in: amount)
        try Self.sync(&aarhus, &odense)
        let conflict = aarhus.register(amount)
        #expect(conflict.isConflict)
        #expect(Set(conflict.writes.map(\.value)) == [.int(600_000), .int(750_000)])
        #expect(Set(conflict.writes.map(\.author.agent.name)) == ["aarhus", "odense"])
        #expect(odense.register(amount) == conflict, "both replicas show the same winner first")
        // Same Lamport time: the winner is the larger agent name.
        #expect(conflict.value == .int(750_000))

        try odense.set(.int(700_000), in: amount)  // has seen both: resolves
        try Self.sync(&aarhus, &odense)
        #expect(aarhus.register(amount).writes.map(\.value) == [.int(700_000)])
    }

    @Test("map: a concurrent set beats a removal; concurrently created children are one container")
    func mapSemantics() throws {
        var (aarhus, odense) = try Self.pair()
        let proposal = try ContainerID.root("proposal", .map)
        try aarhus.set(.string("Klimaspor"), forKey: "title", in: proposal)
        try Self.sync(&aarhus, &odense)
        try aarhus.removeValue(forKey: "title", in: proposal)
        try odense.set(.string("Klimaspor Vest"), forKey: "title", in: proposal)
        // Both create the same child text and write into it.
        let summaryAarhus = try aarhus.createChild(.text, forKey: "summary", in: proposal)
        let summaryOdense = try odense.createChild(.text, forKey: "summary", in: proposal)
        #expect(summaryAarhus == summaryOdense)
        try aarhus.insert("Aarhus skriver. ", at: 0, in: summaryAarhus)
        try odense.insert("Odense skriver.", at: 0, in: summaryOdense)
        try Self.sync(&aarhus, &odense)
        #expect(aarhus.mapEntry("title", in: proposal).value == .string("Klimaspor Vest"))
        let merged = aarhus.text(summaryAarhus)
        #expect(merged.contains("Aarhus skriver. ") && merged.contains("Odense skriver."))
        #expect(odense.text(summaryOdense) == merged)
        #expect(dump(aarhus) == dump(odense))
    }

    @Test("list: inserts, removals and moves; concurrent moves of one item never duplicate it")
    func listSemantics() throws {
        var (aarhus, odense) = try Self.pair()
        let budget = try ContainerID.root("budget", .list)
        let first = try aarhus.insert(.string("Konsulent"), at: 0, in: budget)
        let second = try aarhus.insert(.string("Workshop"), at: 1, in: budget)
        let third = try aarhus.insert(.string("Formidling"), at: 2, in: budget)
        try Self.sync(&aarhus, &odense)
        #expect(odense.list(budget).map(\.value) == [.string("Konsulent"), .string("Workshop"), .string("Formidling")])

        // Both move "Konsulent" to different places at once.
        try aarhus.move(first, to: 2, in: budget)
        try odense.move(first, to: 1, in: budget)
        try Self.sync(&aarhus, &odense)
        let afterMoves = aarhus.list(budget)
        #expect(afterMoves.count == 3)
        #expect(afterMoves.filter { $0.id == first }.count == 1)
        #expect(odense.list(budget) == afterMoves)
        // Same Lamport time: the larger agent name (odense) wins: position 1.
        #expect(afterMoves.map(\.value) == [.string("Workshop"), .string("Konsulent"), .string("Formidling")])

        // A removal wins over a concurrent move.
        try aarhus.remove(second, from: budget)
        try odense.move(second, to: 2, in: budget)
        try Self.sync(&aarhus, &odense)
        #expect(aarhus.list(budget).map(\.id) == [first, third])
        #expect(odense.list(budget) == aarhus.list(budget))
        #expect(throws: CRDTError.self) { try aarhus.remove(second, from: budget) }
        #expect(throws: CRDTError.self) { try aarhus.insert(.null, at: 5, in: budget) }
    }

    @Test("list: runs of items inserted concurrently at one place do not interleave")
    func listRunsDoNotInterleave() throws {
        var (aarhus, odense) = try Self.pair()
        let milestones = try ContainerID.root("milestones", .list)
        try aarhus.insert(.string("start"), at: 0, in: milestones)
        try Self.sync(&aarhus, &odense)
        for (offset, name) in ["A1", "A2", "A3"].enumerated() { try aarhus.insert(.string(name), at: 1 + offset, in: milestones) }
        for (offset, name) in ["O1", "O2", "O3"].enumerated() { try odense.insert(.string(name), at: 1 + offset, in: milestones) }
        try Self.sync(&aarhus, &odense)
        let names = aarhus.list(milestones).compactMap(\.value.stringValue)
        #expect(names == ["start", "A1", "A2", "A3", "O1", "O2", "O3"])
        #expect(odense.list(milestones) == aarhus.list(milestones))
    }

    @Test("set: add wins over a concurrent removal; a removal that has seen the add removes it")
    func setSemantics() throws {
        var (aarhus, odense) = try Self.pair()
        let tags = try ContainerID.root("tags", .set)
        try aarhus.add(.string("klimatilpasning"), to: tags)
        try Self.sync(&aarhus, &odense)
        try aarhus.remove(.string("klimatilpasning"), from: tags)
        try odense.add(.string("klimatilpasning"), to: tags)
        try Self.sync(&aarhus, &odense)
        #expect(aarhus.set(tags) == [.string("klimatilpasning")])
        try aarhus.remove(.string("klimatilpasning"), from: tags)
        try Self.sync(&aarhus, &odense)
        #expect(aarhus.set(tags).isEmpty && odense.set(tags).isEmpty)
    }

    @Test("wrong kinds and bad values are refused, leaving the document unchanged")
    func badInput() throws {
        var document = Document(agent: try AgentID("aarhus"))
        let register = try ContainerID.root("amount", .register)
        let before = document.encoded()
        #expect(throws: CRDTError.self) { try document.set(.double(.nan), in: register) }
        #expect(throws: CRDTError.self) { try document.add(.int(1), to: register) }
        #expect(throws: CRDTError.self) { try document.insert("x", at: 0, in: register) }
        #expect(throws: CRDTError.self) { try document.set(.int(1), forKey: "", in: try ContainerID.root("m", .map)) }
        #expect(throws: CRDTError.self) { try register.child("x", .text) }
        #expect(document.encoded() == before)
        #expect(document.eventCount == 0)
    }
}
