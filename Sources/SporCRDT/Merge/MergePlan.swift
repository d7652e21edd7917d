/// The order in which Eg-walker replays a zone of history, and where it may skip the
/// CRDT state altogether.
///
/// Built from the conflict zone between the version the text currently shows
/// (`current`) and the version to reach (`target`):
///
/// 1. The zone is cut into *steps*: runs of events inside one graph entry, split so
///    that every event another step depends on ends a step. A step is a chain: its
///    first event has the step's `parents`, every later one its predecessor.
/// 2. Steps are ordered topologically, all steps already in the text first (they only
///    build CRDT state), then the rest. The order is a post-order walk back from the
///    heads in which, where branches merge, the smaller branches come first: every
///    chain is replayed in one go, and only the smaller side of a merge is ever
///    retreated and re-advanced.
/// 3. A cut between two steps is *critical* when every event before it is an ancestor
///    of every event after it (the version at the cut may have several heads, as
///    just before a merge). A step between two critical cuts is concurrent with
///    nothing: its operations apply to the text unchanged, no CRDT state needed; at
///    any critical cut the CRDT state can be dropped.
///
/// Cost: O(s log s) for s steps, independent of the number of events in them.
struct MergePlan {
    struct Step {
        var range: LVRange
        /// Where the parents of `range.start` are in `parentPool` (planning only).
        var parentsStart: Int32
        var parentsCount: Int32
        /// Whether the step's events are already reflected in the text.
        var isInText: Bool
        /// Where the steps this one depends on are in `parentSteps`.
        var parentStepsStart: Int32 = 0
        var parentStepsCount: Int32 = 0
    }

    /// The steps of the zone, sorted by LV (a topological order).
    private(set) var steps: [Step] = []
    /// The replay order, as indices into `steps`.
    private(set) var order: [Int32] = []
    /// Dependencies between steps, as indices into `steps` (each below the dependent).
    private(set) var parentSteps: [Int32] = []
    private var parentPool: [LV] = []
    /// `criticalAfter[k]`: the cut after the `k`th step of `order` is critical. The cut
    /// before the first step is always critical.
    private(set) var criticalAfter: [Bool] = []
    /// The position of each step (index into `steps`) in `order`.
    private(set) var position: [Int32] = []
    /// The event every step descends from, or nil for the empty document.
    private(set) var commonPoint: LV?

    @inline(__always)
    private func parents(of step: Step) -> ArraySlice<LV> {
        parentPool[Int(step.parentsStart)..<Int(step.parentsStart + step.parentsCount)]
    }

    /// The steps `step` depends on.
    @inline(__always)
    func parentSteps(of step: Step) -> ArraySlice<Int32> {
        parentSteps[Int(step.parentStepsStart)..<Int(step.parentStepsStart + step.parentStepsCount)]
    }

    /// Whether the cut before step `k` is critical.
    @inline(__always)
    func isCriticalBefore(_ k: Int) -> Bool { k == 0 || criticalAfter[k - 1] }

    /// Plans the replay needed to move a text from version `current` to `target`.
    init(graph: CausalGraph, from current: [LV], to target: [LV], walker: inout GraphWalker) {
        var unordered: [Step] = []
        if current.isEmpty, target == graph.heads {
            // A fresh replica takes in the whole history: the zone is every entry.
            commonPoint = nil
            unordered.reserveCapacity(graph.entries.count)
            for index in graph.entries.indices {
                let entry = graph.entries[index]
                unordered.append(Step(range: LVRange(entry.start, entry.end), parentsStart: entry.parentsStart,
                                      parentsCount: entry.parentsCount, isInText: false))
            }
            parentPool = graph.parentPool
        } else {
            commonPoint = walker.conflictZone(graph, current, target)
            for (range, flag) in walker.zone.reversed() {
                var start = range.start
                while start < range.end {
                    let entryIndex = graph.entryIndex(containing: start)
                    let entry = graph.entries[entryIndex]
                    let end = min(range.end, entry.end)
                    let parentsStart = Int32(parentPool.count)
                    if start == entry.start {
                        parentPool.append(contentsOf: graph.parents(ofEntry: entryIndex))
                    } else {
                        parentPool.append(start - 1)
                    }
                    unordered.append(Step(range: LVRange(start, end), parentsStart: parentsStart,
                                          parentsCount: Int32(parentPool.count) - parentsStart, isInText: flag.contains(.a)))
                    start = end
                }
            }
            unordered.sort { $0.range.start < $1.range.start }
        }
        if unordered.isEmpty { return }
        unordered = splitAtDependencies(unordered)
        planOrder(unordered)
    }

    /// The index of the step containing `lv` in `steps` (sorted by start), if any.
    @inline(__always)
    private static func stepIndex(containing lv: LV, in steps: [Step]) -> Int? {
        var low = 0
        var high = steps.count - 1
        while low <= high {
            let mid = (low + high) >> 1
            let range = steps[mid].range
            if range.end <= lv { low = mid + 1 } else if range.start > lv { high = mid - 1 } else { return mid }
        }
        return nil
    }

    /// Splits steps after every event that another step depends on, so that
    /// dependencies always point at the last event of a step.
    private mutating func splitAtDependencies(_ steps: [Step]) -> [Step] {
        var cuts: [LV] = []
        for step in steps {
            for parent in parents(of: step) {
                if let index = Self.stepIndex(containing: parent, in: steps), steps[index].range.end - 1 != parent {
                    cuts.append(parent + 1)
                }
            }
        }
        if cuts.isEmpty { return steps }
        cuts.sort()
        var split: [Step] = []
        split.reserveCapacity(steps.count + cuts.count)
        var cutIndex = 0
        for var step in steps {
            while cutIndex < cuts.count, cuts[cutIndex] <= step.range.start { cutIndex += 1 }
            while cutIndex < cuts.count, cuts[cutIndex] < step.range.end {
                let cut = cuts[cutIndex]
                cutIndex += 1
                // Several steps may depend on the same event: cut only once.
                if cut <= step.range.start { continue }
                var head = step
                head.range.end = cut
                split.append(head)
                step.range.start = cut
                step.parentsStart = Int32(parentPool.count)
                step.parentsCount = 1
                parentPool.append(cut - 1)
            }
            split.append(step)
        }
        return split
    }

    /// Orders `unordered` (sorted by LV) for replay and finds the critical cuts.
    private mutating func planOrder(_ unordered: [Step]) {
        let count = unordered.count
        // Dependencies as flat arrays: parents (steps) of each step, and child counts.
        var unordered = unordered
        var parentStepStart = [Int32](repeating: 0, count: count + 1)
        parentSteps.reserveCapacity(count + count / 2)
        var hasOutsideParent = [Bool](repeating: false, count: count)
        var childCount = [Int32](repeating: 0, count: count)
        var weight = [Int](repeating: 0, count: count)
        for (index, step) in unordered.enumerated() {
            let stepParents = parents(of: step)
            var total = step.range.count
            if stepParents.isEmpty { hasOutsideParent[index] = true }
            for parent in stepParents {
                // Parents are at most one step back in the common, linear case.
                let parentIndex: Int?
                if index > 0, unordered[index - 1].range.end - 1 == parent {
                    parentIndex = index - 1
                } else {
                    parentIndex = Self.stepIndex(containing: parent, in: unordered)
                }
                if let parentIndex {
                    parentSteps.append(Int32(parentIndex))
                    childCount[parentIndex] += 1
                    // Weights count shared ancestors once per path, so they grow
                    // exponentially with rounds of many-parent merges: saturate
                    // (both terms ≤ Int.max / 4, so the sum cannot overflow).
                    total = min(total + weight[parentIndex], Int.max / 4)
                } else {
                    hasOutsideParent[index] = true
                }
            }
            weight[index] = total
            parentStepStart[index + 1] = Int32(parentSteps.count)
            unordered[index].parentStepsStart = parentStepStart[index]
            unordered[index].parentStepsCount = parentStepStart[index + 1] - parentStepStart[index]
        }

        // Post-order from the heads backwards: smaller branches first. Steps in the
        // text first (their heads: no in-text child), then the rest.
        var hasInTextChild = [Bool](repeating: false, count: count)
        for index in 0..<count where unordered[index].isInText {
            for slot in Int(parentStepStart[index])..<Int(parentStepStart[index + 1]) {
                hasInTextChild[Int(parentSteps[slot])] = true
            }
        }
        var order: [Int] = []
        order.reserveCapacity(count)
        var emitted = [Bool](repeating: false, count: count)
        var stack: [(step: Int, expanded: Bool)] = []
        func emitWithAncestors(_ root: Int) {
            stack.append((root, false))
            while let (step, expanded) = stack.popLast() {
                if emitted[step] { continue }
                if expanded {
                    emitted[step] = true
                    order.append(step)
                    continue
                }
                stack.append((step, true))
                let first = Int(parentStepStart[step]), end = Int(parentStepStart[step + 1])
                if end - first == 1 {
                    let parent = Int(parentSteps[first])
                    if !emitted[parent] { stack.append((parent, false)) }
                } else if end - first == 2 {
                    // The common merge of two branches: larger first, without sorting.
                    var larger = Int(parentSteps[first]), smaller = Int(parentSteps[first + 1])
                    if weight[larger] < weight[smaller] { swap(&larger, &smaller) }
                    if !emitted[larger] { stack.append((larger, false)) }
                    if !emitted[smaller] { stack.append((smaller, false)) }
                } else if end > first {
                    // Largest pushed first, so that the smallest is replayed first.
                    for parent in parentSteps[first..<end].map({ Int($0) }).sorted(by: { weight[$0] > weight[$1] })
                    where !emitted[parent] {
                        stack.append((parent, false))
                    }
                }
            }
        }
        var heads: [Int] = []
        for index in 0..<count where unordered[index].isInText && !hasInTextChild[index] { heads.append(index) }
        heads.sort { weight[$0] < weight[$1] }
        for head in heads { emitWithAncestors(head) }
        heads.removeAll()
        for index in 0..<count where childCount[index] == 0 { heads.append(index) }
        heads.sort { weight[$0] < weight[$1] }
        for head in heads { emitWithAncestors(head) }
        precondition(order.count == count, "the zone's steps do not form a DAG")

        // Critical cuts. The cut after position k is critical iff every step after it
        // descends from every step before it — iff every *minimal* step after it (one
        // whose parents are all before the cut) has exactly the frontier of the steps
        // before the cut as its parents. Kept up to date while walking `order`: which
        // processed steps are heads (no processed child yet), and for every step not
        // processed yet, how many of its parents are heads. O(steps + edges).
        var childStart = [Int](repeating: 0, count: count + 1)
        for slot in parentSteps.indices { childStart[Int(parentSteps[slot]) + 1] += 1 }
        for index in 0..<count { childStart[index + 1] += childStart[index] }
        var children = [Int32](repeating: 0, count: parentSteps.count)
        var nextChild = childStart
        for child in 0..<count {
            for slot in Int(parentStepStart[child])..<Int(parentStepStart[child + 1]) {
                let parent = Int(parentSteps[slot])
                children[nextChild[parent]] = Int32(child)
                nextChild[parent] += 1
            }
        }
        // A parent outside the zone counts as one more parent that is never a head.
        var parentCount = [Int](repeating: 0, count: count)
        var pendingParents = [Int](repeating: 0, count: count)
        for index in 0..<count {
            let inZone = Int(parentStepStart[index + 1] - parentStepStart[index])
            pendingParents[index] = inZone
            parentCount[index] = inZone + (hasOutsideParent[index] ? 1 : 0)
        }
        var headParents = [Int](repeating: 0, count: count)
        var isHead = [Bool](repeating: false, count: count)
        var processed = [Bool](repeating: false, count: count)
        var isMinimal = [Bool](repeating: false, count: count)
        var headCount = 0
        var badMinimal = 0  // minimal steps with a parent that is not a head
        var minimalByParentCount: [Int: Int] = [:]
        func addMinimal(_ step: Int) {
            isMinimal[step] = true
            minimalByParentCount[parentCount[step], default: 0] += 1
            if headParents[step] < parentCount[step] { badMinimal += 1 }
        }
        func removeMinimal(_ step: Int) {
            isMinimal[step] = false
            let key = parentCount[step]
            let remaining = (minimalByParentCount[key] ?? 1) - 1
            minimalByParentCount[key] = remaining == 0 ? nil : remaining
            if headParents[step] < parentCount[step] { badMinimal -= 1 }
        }
        for index in 0..<count where pendingParents[index] == 0 { addMinimal(index) }
        criticalAfter = [Bool](repeating: false, count: count)
        for k in 0..<count {
            let step = order[k]
            removeMinimal(step)
            processed[step] = true
            for slot in Int(parentStepStart[step])..<Int(parentStepStart[step + 1]) {
                let parent = Int(parentSteps[slot])
                guard isHead[parent] else { continue }
                isHead[parent] = false
                headCount -= 1
                for childSlot in childStart[parent]..<childStart[parent + 1] {
                    let child = Int(children[childSlot])
                    if processed[child] { continue }
                    if isMinimal[child], headParents[child] == parentCount[child] { badMinimal += 1 }
                    headParents[child] -= 1
                }
            }
            isHead[step] = true
            headCount += 1
            for childSlot in childStart[step]..<childStart[step + 1] {
                let child = Int(children[childSlot])
                headParents[child] += 1
                if isMinimal[child], headParents[child] == parentCount[child] { badMinimal -= 1 }
                pendingParents[child] -= 1
                if pendingParents[child] == 0 { addMinimal(child) }
            }
            criticalAfter[k] = k == count - 1
                || (badMinimal == 0 && minimalByParentCount.count == 1 && minimalByParentCount[headCount] != nil)
        }
        position = [Int32](repeating: 0, count: count)
        for (orderIndex, stepIndex) in order.enumerated() { position[stepIndex] = Int32(orderIndex) }
        steps = unordered
        self.order = order.map { Int32($0) }
    }
}
