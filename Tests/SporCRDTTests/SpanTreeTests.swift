import SporTestSupport
import Testing
@testable import SporCRDT

/// A test element: a run of `length` units tagged with `value`.
private struct Run: TreeElement, Equatable {
    var value: Int
    var length: Int
    struct Summary: TreeSummary {
        var units: Int
        var runs: Int
        static let zero = Summary(units: 0, runs: 0)
        static func + (l: Summary, r: Summary) -> Summary { Summary(units: l.units + r.units, runs: l.runs + r.runs) }
        static func - (l: Summary, r: Summary) -> Summary { Summary(units: l.units - r.units, runs: l.runs - r.runs) }
    }
    var summary: Summary { Summary(units: length, runs: 1) }
    static let unusedSlot = Run(value: -1, length: 0)
}

@Suite("SpanTree")
struct SpanTreeTests {
    @Test("random inserts, updates and removals match an array model, with leaf tracking",
          arguments: propertySeeds(6, base: 0x7EE_0001))
    func randomOperations(seed: UInt64) {
        print("SpanTree seed \(seed)")
        var random = SeededRandom(seed: seed)
        var tree = SpanTree<Run>()
        var model: [Run] = []
        var leafOf: [Int: Int32] = [:]  // value -> leaf, maintained through `moved`
        var nextValue = 0
        for step in 0..<40_000 {
            let choice = Int.random(in: 0..<10, using: &random)
            if model.isEmpty || choice < 6 {
                let index = Int.random(in: 0...model.count, using: &random)
                let run = Run(value: nextValue, length: Int.random(in: 1...5, using: &random))
                nextValue += 1
                // Insert before the element at `index` (by runs metric), or at the end.
                let cursor: TreeCursor
                if let found = tree.find(index, by: \.runs) {
                    cursor = found.cursor
                } else if let last = lastCursor(tree) {
                    cursor = TreeCursor(leaf: last.leaf, index: last.index + 1)
                } else {
                    cursor = tree.startCursor
                }
                let placed = tree.insert(run, at: cursor) { moved, leaf in leafOf[moved.value] = leaf }
                leafOf[run.value] = placed.leaf
                model.insert(run, at: index)
            } else if choice < 8 {
                let index = Int.random(in: 0..<model.count, using: &random)
                let (cursor, _) = tree.find(index, by: \.runs)!
                let length = Int.random(in: 1...9, using: &random)
                tree.update(at: cursor) { $0.length = length }
                model[index].length = length
            } else {
                let index = Int.random(in: 0..<model.count, using: &random)
                let (cursor, _) = tree.find(index, by: \.runs)!
                let count = min(Int.random(in: 1...3, using: &random), tree.count(ofLeaf: cursor.leaf) - Int(cursor.index))
                tree.remove(at: cursor, count: count) { moved, leaf in leafOf[moved.value] = leaf }
                for removed in model[index..<index + count] { leafOf[removed.value] = nil }
                model.removeSubrange(index..<index + count)
            }
            if step % 2000 == 0 || step == 39_999 {
                #expect(tree.checkInvariants() == nil, "seed \(seed) step \(step): \(tree.checkInvariants() ?? "")")
                var inOrder: [Run] = []
                tree.forEach { inOrder.append($0) }
                let same = inOrder == model
                #expect(same, "seed \(seed) step \(step): tree order differs from the model")
                #expect(tree.total.units == model.reduce(0) { $0 + $1.length })
                // Every element is found in the leaf the notifications said.
                for (value, leaf) in leafOf.prefix(200) {
                    var found = false
                    for index in 0..<tree.count(ofLeaf: leaf) where tree[TreeCursor(leaf: leaf, index: Int32(index))].value == value { found = true }
                    #expect(found, "seed \(seed): element \(value) not in leaf \(leaf)")
                }
                // Positions: summary(before:) agrees with the model.
                if !model.isEmpty {
                    let probe = Int.random(in: 0..<model.count, using: &random)
                    let (cursor, _) = tree.find(probe, by: \.runs)!
                    #expect(tree.summary(before: cursor).units == model[..<probe].reduce(0) { $0 + $1.length })
                }
            }
        }
        #expect(tree.height >= 2, "the test should exercise node splits (height \(tree.height))")
    }

    @Test("bulk build gives a valid tree of any size")
    func bulkBuild() {
        for count in [0, 1, 31, 32, 33, 500, 20_000] {
            var tree = SpanTree<Run>()
            let runs = (0..<count).map { Run(value: $0, length: 1 + $0 % 3) }
            tree.build(from: runs) { _, _ in }
            #expect(tree.checkInvariants() == nil, "count \(count)")
            var inOrder: [Run] = []
            tree.forEach { inOrder.append($0) }
            #expect(inOrder == runs)
        }
    }

    private func lastCursor(_ tree: SpanTree<Run>) -> TreeCursor? {
        if tree.isEmpty { return nil }
        var leaf = tree.firstLeaf
        while tree.nextLeaf(leaf) >= 0 { leaf = tree.nextLeaf(leaf) }
        return TreeCursor(leaf: leaf, index: Int32(tree.count(ofLeaf: leaf) - 1))
    }
}
