/// An additive aggregate of tree elements (lengths in one or more metrics).
protocol TreeSummary: Equatable, Sendable {
    static var zero: Self { get }
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
}

/// An element stored in a ``SpanTree``: usually a run-length encoded span.
protocol TreeElement: Sendable {
    associatedtype Summary: TreeSummary
    var summary: Summary { get }
    /// A value for unused slots of a leaf; never read as data.
    static var unusedSlot: Self { get }
}

/// The position of one element in a ``SpanTree``: its leaf and its index in the leaf.
/// A cursor is invalidated by any structural change (insert, remove) to the tree.
struct TreeCursor: Equatable, Sendable {
    var leaf: Int32
    var index: Int32
}

/// An ordered sequence of elements in a B+tree whose nodes live in flat arrays
/// (an arena): no per-node objects, no reference counting, contiguous storage.
///
/// Every internal node stores, per child, the summed ``TreeSummary`` of the child's
/// subtree, so the element at a position in any metric of the summary is found in
/// O(log n), and the position of an element is computed in O(log n) by walking up.
/// Leaves are linked for in-order iteration.
///
/// When elements move to another leaf (splits, merges), the mutating methods call
/// `moved(element, newLeaf)` so that an external index of "which leaf holds what"
/// can follow (see ``ContentTree``).
///
/// Invariants (``checkInvariants()``): every node's child summaries equal the sums
/// of the children's elements; all leaves are at the same depth; only the root may be
/// an empty leaf; parent links and the leaf chain agree with the tree.
struct SpanTree<Element: TreeElement>: Sendable {
    typealias Summary = Element.Summary

    static var leafCapacity: Int { 32 }
    static var nodeCapacity: Int { 16 }

    // Leaves: `leafCapacity` slots each in `elements`.
    private(set) var elements: [Element] = []
    private(set) var leafCount: [Int32] = []
    private var leafParent: [Int32] = []
    /// The slot of each leaf in its parent node.
    private var leafSlot: [Int32] = []
    private(set) var leafNext: [Int32] = []
    private var leafPrev: [Int32] = []

    // Internal nodes: `nodeCapacity` slots each in `children` / `childSummaries`.
    private var children: [Int32] = []
    private var childSummaries: [Summary] = []
    private var nodeCount: [Int32] = []
    private var nodeParent: [Int32] = []
    /// The slot of each node in its parent node.
    private var nodeSlot: [Int32] = []

    private var freeLeaves: [Int32] = []
    private var freeNodes: [Int32] = []

    /// The root: a leaf when `height == 0`, else a node.
    private(set) var root: Int32 = 0
    /// The number of internal levels above the leaves.
    private(set) var height = 0
    /// The summary of all elements.
    private(set) var total: Summary = .zero
    /// The first leaf in order.
    private(set) var firstLeaf: Int32 = 0

    init() {
        root = allocateLeaf()
        firstLeaf = root
    }

    /// Removes every element, keeping the allocated capacity for reuse.
    mutating func removeAll() {
        elements.removeAll(keepingCapacity: true)
        leafCount.removeAll(keepingCapacity: true)
        leafParent.removeAll(keepingCapacity: true)
        leafSlot.removeAll(keepingCapacity: true)
        leafNext.removeAll(keepingCapacity: true)
        leafPrev.removeAll(keepingCapacity: true)
        children.removeAll(keepingCapacity: true)
        childSummaries.removeAll(keepingCapacity: true)
        nodeCount.removeAll(keepingCapacity: true)
        nodeParent.removeAll(keepingCapacity: true)
        nodeSlot.removeAll(keepingCapacity: true)
        freeLeaves.removeAll(keepingCapacity: true)
        freeNodes.removeAll(keepingCapacity: true)
        height = 0
        total = .zero
        root = allocateLeaf()
        firstLeaf = root
    }

    var isEmpty: Bool { leafCount[Int(firstLeaf)] == 0 }

    // MARK: - Allocation

    private mutating func allocateLeaf() -> Int32 {
        if let leaf = freeLeaves.popLast() {
            leafCount[Int(leaf)] = 0
            leafParent[Int(leaf)] = -1
            leafSlot[Int(leaf)] = 0
            leafNext[Int(leaf)] = -1
            leafPrev[Int(leaf)] = -1
            return leaf
        }
        let leaf = Int32(leafCount.count)
        elements.append(contentsOf: repeatElement(Element.unusedSlot, count: Self.leafCapacity))
        leafCount.append(0)
        leafParent.append(-1)
        leafSlot.append(0)
        leafNext.append(-1)
        leafPrev.append(-1)
        return leaf
    }

    private mutating func allocateNode() -> Int32 {
        if let node = freeNodes.popLast() {
            nodeCount[Int(node)] = 0
            nodeParent[Int(node)] = -1
            nodeSlot[Int(node)] = 0
            return node
        }
        let node = Int32(nodeCount.count)
        children.append(contentsOf: repeatElement(-1, count: Self.nodeCapacity))
        childSummaries.append(contentsOf: repeatElement(Summary.zero, count: Self.nodeCapacity))
        nodeCount.append(0)
        nodeParent.append(-1)
        nodeSlot.append(0)
        return node
    }

    // MARK: - Reading

    @inline(__always)
    func count(ofLeaf leaf: Int32) -> Int { Int(leafCount[Int(leaf)]) }

    @inline(__always)
    subscript(cursor: TreeCursor) -> Element {
        elements[Int(cursor.leaf) * Self.leafCapacity + Int(cursor.index)]
    }

    /// The leaf after `leaf`, or -1.
    @inline(__always)
    func nextLeaf(_ leaf: Int32) -> Int32 { leafNext[Int(leaf)] }

    /// The cursor of the first element (or the end cursor of an empty tree).
    var startCursor: TreeCursor { TreeCursor(leaf: firstLeaf, index: 0) }

    /// The cursor after `cursor`, or nil at the end.
    @inline(__always)
    func cursor(after cursor: TreeCursor) -> TreeCursor? {
        if Int(cursor.index) + 1 < count(ofLeaf: cursor.leaf) {
            return TreeCursor(leaf: cursor.leaf, index: cursor.index + 1)
        }
        let next = leafNext[Int(cursor.leaf)]
        return next < 0 ? nil : TreeCursor(leaf: next, index: 0)
    }

    /// The cursor before `cursor`, or nil at the start.
    @inline(__always)
    func cursor(before cursor: TreeCursor) -> TreeCursor? {
        if cursor.index > 0 { return TreeCursor(leaf: cursor.leaf, index: cursor.index - 1) }
        let previous = leafPrev[Int(cursor.leaf)]
        return previous < 0 ? nil : TreeCursor(leaf: previous, index: Int32(count(ofLeaf: previous) - 1))
    }

    /// Finds the element containing position `target` of the metric `measure`: the
    /// first element whose end (in that metric) lies beyond `target`. Returns its
    /// cursor and `target`'s offset inside it, or nil when `target >= total`.
    /// O(log n).
    @inline(__always)
    func find(_ target: Int, by measure: (Summary) -> Int) -> (cursor: TreeCursor, offset: Int)? {
        guard let found = findWithPrefix(target, by: measure) else { return nil }
        return (found.cursor, found.offset)
    }

    /// ``find(_:by:)`` that also returns the summary of every element before the one
    /// found (its position in every metric), at no extra cost.
    @inline(__always)
    func findWithPrefix(_ target: Int, by measure: (Summary) -> Int) -> (cursor: TreeCursor, offset: Int, prefix: Summary)? {
        var remaining = target
        var prefix = Summary.zero
        var node = root
        var level = height
        if level > 0 {
            let found: Bool = childSummaries.withUnsafeBufferPointer { summaries in
                children.withUnsafeBufferPointer { children in
                    nodeCount.withUnsafeBufferPointer { nodeCount in
                        while level > 0 {
                            let base = Int(node) * Self.nodeCapacity
                            let count = Int(nodeCount[Int(node)])
                            var child = -1
                            for slot in 0..<count {
                                let summary = summaries[base + slot]
                                let length = measure(summary)
                                if remaining < length { child = slot; break }
                                remaining -= length
                                prefix = prefix + summary
                            }
                            if child < 0 { return false }
                            node = children[base + child]
                            level -= 1
                        }
                        return true
                    }
                }
            }
            if !found { return nil }
        }
        let count = self.count(ofLeaf: node)
        return elements.withUnsafeBufferPointer { elements in
            let base = Int(node) * Self.leafCapacity
            for index in 0..<count {
                let summary = elements[base + index].summary
                let length = measure(summary)
                if remaining < length { return (TreeCursor(leaf: node, index: Int32(index)), remaining, prefix) }
                remaining -= length
                prefix = prefix + summary
            }
            return nil
        }
    }

    /// The summed summary of every element before `cursor`. O(log n).
    func summary(before cursor: TreeCursor) -> Summary {
        var sum = Summary.zero
        elements.withUnsafeBufferPointer { elements in
            let base = Int(cursor.leaf) * Self.leafCapacity
            for index in 0..<Int(cursor.index) { sum = sum + elements[base + index].summary }
        }
        var slot = Int(leafSlot[Int(cursor.leaf)])
        var parent = leafParent[Int(cursor.leaf)]
        if parent < 0 { return sum }
        childSummaries.withUnsafeBufferPointer { summaries in
            while parent >= 0 {
                let nodeBase = Int(parent) * Self.nodeCapacity
                for index in 0..<slot { sum = sum + summaries[nodeBase + index] }
                slot = Int(nodeSlot[Int(parent)])
                parent = nodeParent[Int(parent)]
            }
        }
        return sum
    }

    /// Calls `body` with every element in order.
    func forEach(_ body: (Element) throws -> Void) rethrows {
        var leaf = firstLeaf
        while leaf >= 0 {
            let base = Int(leaf) * Self.leafCapacity
            for index in 0..<count(ofLeaf: leaf) { try body(elements[base + index]) }
            leaf = leafNext[Int(leaf)]
        }
    }

    // MARK: - Summary maintenance

    /// Adds `delta` to the recorded summary of every ancestor of `leaf`.
    private mutating func propagate(_ delta: Summary, fromLeaf leaf: Int32) {
        if delta == .zero { return }
        total = total + delta
        var slot = Int(leafSlot[Int(leaf)])
        var parent = leafParent[Int(leaf)]
        if parent < 0 { return }
        childSummaries.withUnsafeMutableBufferPointer { summaries in
            nodeSlot.withUnsafeBufferPointer { nodeSlot in
                nodeParent.withUnsafeBufferPointer { nodeParent in
                    while parent >= 0 {
                        let index = Int(parent) * Self.nodeCapacity + slot
                        summaries[index] = summaries[index] + delta
                        slot = Int(nodeSlot[Int(parent)])
                        parent = nodeParent[Int(parent)]
                    }
                }
            }
        }
    }

    private func leafSummary(_ leaf: Int32) -> Summary {
        var sum = Summary.zero
        let base = Int(leaf) * Self.leafCapacity
        for index in 0..<count(ofLeaf: leaf) { sum = sum + elements[base + index].summary }
        return sum
    }

    private func nodeSummary(_ node: Int32) -> Summary {
        var sum = Summary.zero
        let base = Int(node) * Self.nodeCapacity
        for slot in 0..<Int(nodeCount[Int(node)]) { sum = sum + childSummaries[base + slot] }
        return sum
    }

    // MARK: - Mutation

    /// Replaces the element at `cursor` by the result of `body`, updating summaries.
    @inline(__always)
    mutating func update<R>(at cursor: TreeCursor, _ body: (inout Element) -> R) -> R {
        let slot = Int(cursor.leaf) * Self.leafCapacity + Int(cursor.index)
        let before = elements[slot].summary
        let result = body(&elements[slot])
        propagate(elements[slot].summary - before, fromLeaf: cursor.leaf)
        return result
    }

    /// Inserts `element` before position `cursor.index` of `cursor.leaf` (which may be
    /// the leaf's count: append to the leaf) and returns where it ended up. Splits full
    /// leaves and nodes; reports other elements that change leaf to `moved` (the
    /// inserted element's leaf is the returned cursor's).
    @discardableResult
    mutating func insert(
        _ element: Element, at cursor: TreeCursor, moved: (Element, Int32) -> Void
    ) -> TreeCursor {
        var leaf = cursor.leaf
        var index = Int(cursor.index)
        if count(ofLeaf: leaf) == Self.leafCapacity {
            let newLeaf = splitLeaf(leaf, moved: moved)
            let kept = count(ofLeaf: leaf)
            if index > kept {
                leaf = newLeaf
                index -= kept
            } else if index == kept {
                // Either side works; appending to the left half keeps runs together.
            }
        }
        let base = Int(leaf) * Self.leafCapacity
        let count = self.count(ofLeaf: leaf)
        elements.withUnsafeMutableBufferPointer { elements in
            let start = elements.baseAddress! + base + index
            (start + 1).update(from: start, count: count - index)  // overlapping moves are handled
            start.pointee = element
        }
        leafCount[Int(leaf)] += 1
        propagate(element.summary, fromLeaf: leaf)
        return TreeCursor(leaf: leaf, index: Int32(index))
    }

    /// Moves the upper half of a full leaf into a new leaf placed after it.
    private mutating func splitLeaf(_ leaf: Int32, moved: (Element, Int32) -> Void) -> Int32 {
        let newLeaf = allocateLeaf()
        let count = self.count(ofLeaf: leaf)
        let keep = count / 2
        let base = Int(leaf) * Self.leafCapacity
        let newBase = Int(newLeaf) * Self.leafCapacity
        var movedSummary = Summary.zero
        for index in keep..<count {
            let element = elements[base + index]
            elements[newBase + index - keep] = element
            movedSummary = movedSummary + element.summary
            moved(element, newLeaf)
        }
        leafCount[Int(leaf)] = Int32(keep)
        leafCount[Int(newLeaf)] = Int32(count - keep)
        // Link into the leaf chain.
        let next = leafNext[Int(leaf)]
        leafNext[Int(newLeaf)] = next
        leafPrev[Int(newLeaf)] = leaf
        if next >= 0 { leafPrev[Int(next)] = newLeaf }
        leafNext[Int(leaf)] = newLeaf
        // The old leaf's ancestors lose the moved summary; the new leaf is inserted next
        // to it with that summary (total unchanged).
        propagate(.zero - movedSummary, fromLeafKeepingTotal: leaf)
        insertChild(newLeaf, summary: movedSummary, after: leaf, childIsLeaf: true)
        return newLeaf
    }

    /// Like `propagate` but leaves `total` alone (used while restructuring).
    private mutating func propagate(_ delta: Summary, fromLeafKeepingTotal leaf: Int32) {
        let saved = total
        propagate(delta, fromLeaf: leaf)
        total = saved
    }

    /// Inserts `child` (a leaf or node) with `summary` into the parent of `sibling`,
    /// right after it, growing the tree upwards when the root splits.
    private mutating func insertChild(_ child: Int32, summary: Summary, after sibling: Int32, childIsLeaf: Bool) {
        let parent = childIsLeaf ? leafParent[Int(sibling)] : nodeParent[Int(sibling)]
        if parent < 0 {
            // `sibling` is the root: grow a new root above both.
            let newRoot = allocateNode()
            let base = Int(newRoot) * Self.nodeCapacity
            children[base] = sibling
            // What the old root holds now (a split may be moving part of it elsewhere).
            childSummaries[base] = childIsLeaf ? leafSummary(sibling) : nodeSummary(sibling)
            children[base + 1] = child
            childSummaries[base + 1] = summary
            nodeCount[Int(newRoot)] = 2
            setParent(of: sibling, isLeaf: childIsLeaf, to: newRoot, slot: 0)
            setParent(of: child, isLeaf: childIsLeaf, to: newRoot, slot: 1)
            root = newRoot
            height += 1
            return
        }
        var node = parent
        if nodeCount[Int(node)] == Int32(Self.nodeCapacity) {
            let newNode = splitNode(node)
            let siblingParent = childIsLeaf ? leafParent[Int(sibling)] : nodeParent[Int(sibling)]
            if siblingParent == newNode { node = newNode }
        }
        let base = Int(node) * Self.nodeCapacity
        let count = Int(nodeCount[Int(node)])
        let slot = Int(childIsLeaf ? leafSlot[Int(sibling)] : nodeSlot[Int(sibling)])
        var position = count
        while position > slot + 1 {
            let moving = children[base + position - 1]
            children[base + position] = moving
            childSummaries[base + position] = childSummaries[base + position - 1]
            setParent(of: moving, isLeaf: childIsLeaf, to: node, slot: position)
            position -= 1
        }
        children[base + slot + 1] = child
        childSummaries[base + slot + 1] = summary
        nodeCount[Int(node)] += 1
        setParent(of: child, isLeaf: childIsLeaf, to: node, slot: slot + 1)
        // The parent's own summary is unchanged: the sibling's recorded summary was
        // already reduced by `summary` before this call.
        propagateNode(summary, fromNode: node)
    }


    /// Adds `delta` to the recorded summaries of `node` in its ancestors (not total).
    private mutating func propagateNode(_ delta: Summary, fromNode node: Int32) {
        if delta == .zero { return }
        var slot = Int(nodeSlot[Int(node)])
        var parent = nodeParent[Int(node)]
        while parent >= 0 {
            let index = Int(parent) * Self.nodeCapacity + slot
            childSummaries[index] = childSummaries[index] + delta
            slot = Int(nodeSlot[Int(parent)])
            parent = nodeParent[Int(parent)]
        }
    }

    private mutating func setParent(of child: Int32, isLeaf: Bool, to parent: Int32, slot: Int) {
        if isLeaf {
            leafParent[Int(child)] = parent
            leafSlot[Int(child)] = Int32(slot)
        } else {
            nodeParent[Int(child)] = parent
            nodeSlot[Int(child)] = Int32(slot)
        }
    }

    /// Whether the children of `node` are leaves.
    private func childrenAreLeaves(_ node: Int32) -> Bool {
        var depth = 0
        var current = node
        while current != root {
            current = nodeParent[Int(current)]
            depth += 1
        }
        return depth == height - 1
    }

    /// Moves the upper half of a full node's children into a new node after it.
    private mutating func splitNode(_ node: Int32) -> Int32 {
        let leavesBelow = childrenAreLeaves(node)
        let newNode = allocateNode()
        let count = Int(nodeCount[Int(node)])
        let keep = count / 2
        let base = Int(node) * Self.nodeCapacity
        let newBase = Int(newNode) * Self.nodeCapacity
        var movedSummary = Summary.zero
        for slot in keep..<count {
            children[newBase + slot - keep] = children[base + slot]
            childSummaries[newBase + slot - keep] = childSummaries[base + slot]
            movedSummary = movedSummary + childSummaries[base + slot]
            setParent(of: children[base + slot], isLeaf: leavesBelow, to: newNode, slot: slot - keep)
        }
        nodeCount[Int(node)] = Int32(keep)
        nodeCount[Int(newNode)] = Int32(count - keep)
        propagateNode(.zero - movedSummary, fromNode: node)
        insertChild(newNode, summary: movedSummary, after: node, childIsLeaf: false)
        return newNode
    }

    /// Removes `count` elements starting at `cursor` (all in `cursor.leaf`). Empty
    /// leaves are unlinked; a small leaf is merged into its successor when both fit.
    mutating func remove(at cursor: TreeCursor, count removeCount: Int, moved: (Element, Int32) -> Void) {
        let leaf = cursor.leaf
        let base = Int(leaf) * Self.leafCapacity
        let count = self.count(ofLeaf: leaf)
        let start = Int(cursor.index)
        var removed = Summary.zero
        for index in start..<start + removeCount { removed = removed + elements[base + index].summary }
        for index in start + removeCount..<count { elements[base + index - removeCount] = elements[base + index] }
        leafCount[Int(leaf)] = Int32(count - removeCount)
        propagate(.zero - removed, fromLeaf: leaf)
        if leafCount[Int(leaf)] == 0 {
            removeEmptyLeaf(leaf)
        } else if count - removeCount < Self.leafCapacity / 4 {
            mergeWithNext(leaf, moved: moved)
        }
    }

    private mutating func mergeWithNext(_ leaf: Int32, moved: (Element, Int32) -> Void) {
        let next = leafNext[Int(leaf)]
        guard next >= 0, leafParent[Int(next)] == leafParent[Int(leaf)] else { return }
        let count = self.count(ofLeaf: leaf)
        let nextCount = self.count(ofLeaf: next)
        guard count + nextCount <= Self.leafCapacity * 3 / 4 else { return }
        let base = Int(leaf) * Self.leafCapacity
        let nextBase = Int(next) * Self.leafCapacity
        var movedSummary = Summary.zero
        for index in 0..<nextCount {
            let element = elements[nextBase + index]
            elements[base + count + index] = element
            movedSummary = movedSummary + element.summary
            moved(element, leaf)
        }
        leafCount[Int(leaf)] = Int32(count + nextCount)
        leafCount[Int(next)] = 0
        propagate(movedSummary, fromLeafKeepingTotal: leaf)
        propagate(.zero - movedSummary, fromLeafKeepingTotal: next)
        removeEmptyLeaf(next)
    }

    /// Unlinks an empty leaf from the chain and the tree (unless it is the only leaf).
    private mutating func removeEmptyLeaf(_ leaf: Int32) {
        if height == 0 { return }  // the root leaf stays, empty
        let previous = leafPrev[Int(leaf)]
        let next = leafNext[Int(leaf)]
        if previous >= 0 { leafNext[Int(previous)] = next } else { firstLeaf = next }
        if next >= 0 { leafPrev[Int(next)] = previous }
        let parent = leafParent[Int(leaf)]
        freeLeaves.append(leaf)
        removeChild(leaf, from: parent)
    }

    private mutating func removeChild(_ child: Int32, from node: Int32) {
        let base = Int(node) * Self.nodeCapacity
        let count = Int(nodeCount[Int(node)])
        let childIsLeaf = childrenAreLeaves(node)
        var slot = 0
        while children[base + slot] != child { slot += 1 }
        for position in slot..<count - 1 {
            let moving = children[base + position + 1]
            children[base + position] = moving
            childSummaries[base + position] = childSummaries[base + position + 1]
            setParent(of: moving, isLeaf: childIsLeaf, to: node, slot: position)
        }
        nodeCount[Int(node)] = Int32(count - 1)
        if count - 1 == 0, node != root {
            let parent = nodeParent[Int(node)]
            freeNodes.append(node)
            removeChild(node, from: parent)
            return
        }
        // A root with a single child is replaced by that child.
        while height > 0, nodeCount[Int(root)] == 1 {
            let only = children[Int(root) * Self.nodeCapacity]
            freeNodes.append(root)
            root = only
            height -= 1
            if height == 0 { leafParent[Int(only)] = -1 } else { nodeParent[Int(only)] = -1 }
        }
    }

    // MARK: - Bulk construction

    /// Replaces the contents by `newElements`, packing leaves `fill` full (0...1).
    /// O(n). Reports every element's leaf to `moved`.
    mutating func build(from newElements: some Sequence<Element>, fill: Double = 0.75, moved: (Element, Int32) -> Void) {
        removeAll()
        let perLeaf = max(1, min(Self.leafCapacity, Int(Double(Self.leafCapacity) * fill)))
        var leaves: [(Int32, Summary)] = []
        var leaf = root
        var sum = Summary.zero
        for element in newElements {
            if count(ofLeaf: leaf) == perLeaf {
                leaves.append((leaf, sum))
                let next = allocateLeaf()
                leafNext[Int(leaf)] = next
                leafPrev[Int(next)] = leaf
                leaf = next
                sum = .zero
            }
            elements[Int(leaf) * Self.leafCapacity + count(ofLeaf: leaf)] = element
            leafCount[Int(leaf)] += 1
            sum = sum + element.summary
            moved(element, leaf)
        }
        leaves.append((leaf, sum))
        total = leaves.reduce(Summary.zero) { $0 + $1.1 }
        // Build the internal levels bottom-up.
        var level: [(Int32, Summary)] = leaves
        var levelIsLeaves = true
        let perNode = max(2, Self.nodeCapacity * 3 / 4)
        while level.count > 1 {
            var nextLevel: [(Int32, Summary)] = []
            var index = 0
            while index < level.count {
                let node = allocateNode()
                let base = Int(node) * Self.nodeCapacity
                var nodeSum = Summary.zero
                var slot = 0
                // Avoid leaving a single child for the last node.
                let remaining = level.count - index
                let take = remaining <= Self.nodeCapacity ? remaining : (remaining < perNode + 2 ? remaining / 2 : perNode)
                while slot < take {
                    let (child, childSum) = level[index]
                    children[base + slot] = child
                    childSummaries[base + slot] = childSum
                    setParent(of: child, isLeaf: levelIsLeaves, to: node, slot: slot)
                    nodeSum = nodeSum + childSum
                    slot += 1
                    index += 1
                }
                nodeCount[Int(node)] = Int32(take)
                nextLevel.append((node, nodeSum))
            }
            level = nextLevel
            levelIsLeaves = false
            height += 1
        }
        root = level[0].0
        if height == 0 { leafParent[Int(root)] = -1 } else { nodeParent[Int(root)] = -1 }
    }

    // MARK: - Invariants

    /// Describes the first broken invariant, or nil (tests and debugging only).
    func checkInvariants() -> String? {
        var leavesInOrder: [Int32] = []
        func check(_ node: Int32, level: Int, parent: Int32) -> (Summary, String?) {
            if level == 0 {
                if leafParent[Int(node)] != parent { return (.zero, "leaf \(node) has parent \(leafParent[Int(node)]), expected \(parent)") }
                if count(ofLeaf: node) == 0, node != root { return (.zero, "empty non-root leaf \(node)") }
                leavesInOrder.append(node)
                return (leafSummary(node), nil)
            }
            if nodeParent[Int(node)] != parent { return (.zero, "node \(node) has wrong parent") }
            let count = Int(nodeCount[Int(node)])
            if count == 0 { return (.zero, "empty node \(node)") }
            var sum = Summary.zero
            for slot in 0..<count {
                let child = children[Int(node) * Self.nodeCapacity + slot]
                let recordedSlot = level == 1 ? leafSlot[Int(child)] : nodeSlot[Int(child)]
                if recordedSlot != Int32(slot) { return (.zero, "child \(child) of node \(node) records slot \(recordedSlot), is at \(slot)") }
                let (childSum, problem) = check(child, level: level - 1, parent: node)
                if let problem { return (.zero, problem) }
                if childSum != childSummaries[Int(node) * Self.nodeCapacity + slot] {
                    return (.zero, "node \(node) slot \(slot): recorded summary differs from the child's")
                }
                sum = sum + childSum
            }
            return (sum, nil)
        }
        let (sum, problem) = check(root, level: height, parent: -1)
        if let problem { return problem }
        if sum != total { return "total differs from the sum of the tree" }
        var chain: [Int32] = []
        var leaf = firstLeaf
        while leaf >= 0 {
            chain.append(leaf)
            let next = leafNext[Int(leaf)]
            if next >= 0, leafPrev[Int(next)] != leaf { return "leaf chain back-link broken at \(next)" }
            leaf = next
        }
        if chain != leavesInOrder { return "leaf chain \(chain) differs from tree order \(leavesInOrder)" }
        return nil
    }
}
