import SporTestSupport
import Testing
@testable import SporCRDT

/// The blocked slot sequence of lists against a plain array: every insert at a
/// random position (runs of them at one place, as concurrent typing makes), and
/// after each step every slot's position and the slot at every position agree.
@Suite("List slots in blocks")
struct SlotSequenceTests {
    static func slot(_ id: LV) -> ListState.Slot { .init(id: id, item: id, left: -1, right: -1) }

    @Test("random inserts match an array: positions, slots at positions, order", arguments: propertySeeds(12, base: 0x510_7))
    func matchesArray(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var model: [ListState.Slot] = []
        var sequence = SlotSequence()
        let steps = Int.random(in: 1...3_000, using: &random)
        var place = 0
        for id in 0..<steps {
            // Mostly near the last place (runs), sometimes anywhere, sometimes at the ends.
            switch Int.random(in: 0..<10, using: &random) {
            case 0: place = 0
            case 1: place = model.count
            case 2...4: place = Int.random(in: 0...model.count, using: &random)
            default: place = min(place + 1, model.count)
            }
            model.insert(Self.slot(LV(id)), at: place)
            sequence.insert(Self.slot(LV(id)), at: place)
            if id % 97 == 0 || id == steps - 1 {
                #expect(sequence.count == model.count)
                #expect(Array(sequence.all) == model, "seed \(seed) step \(id)")
                for (position, slot) in model.enumerated() where position % 7 == 0 || position == model.count - 1 {
                    #expect(sequence.position(of: slot.id) == position, "seed \(seed)")
                    #expect(sequence[position] == slot, "seed \(seed)")
                }
            }
        }
        #expect(sequence.position(of: LV(steps + 5)) == nil)
        // Built from a sequence: the same.
        let rebuilt = SlotSequence(model)
        #expect(Array(rebuilt.all) == model)
        #expect(model.indices.allSatisfy { rebuilt.position(of: model[$0].id) == $0 })
    }
}

@Suite("List bounds")
struct ListBoundTests {
    @Test("a list holds at most ListState.maxSlots items and moves: the next insert is refused, locally and in a merge, changing nothing")
    func bounded() throws {
        let list = try ContainerID.root("poster", .list)
        var author = Document(agent: try AgentID("0751/a"))
        for index in 0..<ListState.maxSlots { _ = try author.insert(.int(Int64(index)), at: 0, in: list) }
        let full = try author.encodedChanges()
        #expect(throws: CRDTError.self) { _ = try author.insert(.int(-1), at: 0, in: list) }
        #expect(author.list(list).count == ListState.maxSlots)
        // A writer who did not know the list was full: its insert does not merge.
        var other = Document(agent: try AgentID("0461/b"))
        _ = try other.insert(.string("én for meget"), at: 0, in: list)
        var replica = Document()
        try replica.merge(encodedChanges: full)
        let before = try replica.encodedChanges()
        do {
            try replica.merge(encodedChanges: try other.encodedChanges())
            Issue.record("a list past its bound merged")
        } catch {
            #expect(error.code == .limitExceeded, "\(error)")
        }
        #expect(try replica.encodedChanges() == before)
    }
}
