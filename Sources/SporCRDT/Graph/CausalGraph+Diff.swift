import HeapModule

/// Which side(s) of a comparison an event was reached from while walking the graph
/// backwards from two versions.
struct ReachFlag: OptionSet, Hashable, Sendable {
    let rawValue: UInt8
    static let a = ReachFlag(rawValue: 1)
    static let b = ReachFlag(rawValue: 2)
    static let shared: ReachFlag = [.a, .b]
}

/// One entry of the backwards walk's priority queue: an event still to visit and the
/// sides it was reached from. Ordered by LV so the walk always visits the newest
/// event first, which guarantees an event is visited only after all of its
/// descendants that the walk will reach.
struct WalkItem: Comparable {
    var lv: LV
    var flag: ReachFlag
    static func < (lhs: WalkItem, rhs: WalkItem) -> Bool {
        lhs.lv != rhs.lv ? lhs.lv < rhs.lv : lhs.flag.rawValue < rhs.flag.rawValue
    }
}

/// Walks a ``CausalGraph`` backwards from two versions at once. Owns its queue and
/// result buffers so that hot loops (the merge walker moves between branches
/// thousands of times) do not allocate.
///
/// Cost of each walk: O(d log d) where d is the number of graph entries reachable
/// from one version but not the other, plus the shared entries met on the way.
struct GraphWalker {
    private var queue = Heap<WalkItem>()
    private var unsharedInQueue = 0

    /// Events in `a` but not `b` after ``diff(_:_:_:)``, descending.
    private(set) var onlyA: [LVRange] = []
    /// Events in `b` but not `a` after ``diff(_:_:_:)``, descending.
    private(set) var onlyB: [LVRange] = []
    /// After ``conflictZone(_:_:_:)``: the zone's ranges, descending, with their sides.
    private(set) var zone: [(range: LVRange, flag: ReachFlag)] = []

    /// Computes ``onlyA`` and ``onlyB`` for versions `a` and `b`.
    mutating func diff(_ graph: CausalGraph, _ a: some Collection<LV>, _ b: some Collection<LV>) {
        onlyA.removeAll(keepingCapacity: true)
        onlyB.removeAll(keepingCapacity: true)
        // Fast paths: equal versions, or one a direct ancestor of the other in one run.
        if a.count == 1, b.count == 1, let x = a.first, let y = b.first {
            if x == y { return }
            let low = min(x, y), high = max(x, y)
            if low >= 0, graph.entries[graph.entryIndex(containing: high)].start <= low {
                if x < y { onlyB.append(LVRange(low + 1, high + 1)) } else { onlyA.append(LVRange(low + 1, high + 1)) }
                return
            }
        }
        _ = walk(graph, a, b, stopAtCommonPoint: false, collectZone: false)
    }

    /// The smallest part of history that a merge of versions `a` and `b` must replay:
    /// fills ``zone`` and returns the newest event of the *common version*, which every
    /// event of the zone descends from (nil: the empty document). Every event outside
    /// the zone is in the common version or an ancestor of it.
    ///
    /// The common version is a single event where there is one, or else a set of
    /// concurrent events that every oldest event of the zone has exactly as its
    /// parents — as when two people type at the same time and exchange edits after
    /// every keystroke: each new pair of edits has the previous pair as parents, and
    /// the zone is the new pair, not the whole history back to the last single event.
    mutating func conflictZone(_ graph: CausalGraph, _ a: some Collection<LV>, _ b: some Collection<LV>) -> LV? {
        zone.removeAll(keepingCapacity: true)
        return walk(graph, a, b, stopAtCommonPoint: true, collectZone: true)
    }

    /// The oldest event of every range the zone walk has recorded so far: the only
    /// zone events whose parents can lie outside the zone.
    private var bottoms: [LV] = []

    /// Candidate common versions tested per walk before settling for a single common
    /// event (each test is O(zone ranges)).
    private static let maxVersionChecks = 8

    /// Whether the queued events (all shared; `newest` just popped) form a common
    /// version: every zone event whose parents all lie outside the zone has exactly
    /// these events as parents. Then every zone event descends from all of them (the
    /// others descend from such an event through their parents in the zone), and the
    /// document at this version can stand for everything before the zone.
    private func isCommonVersion(_ graph: CausalGraph, newest: LV) -> Bool {
        var version = Set(queue.unordered.map(\.lv))
        version.insert(newest)
        var minimal = 0
        for bottom in bottoms {
            let entryIndex = graph.entryIndex(containing: bottom)
            let parents: [LV] = graph.entries[entryIndex].start == bottom ? Array(graph.parents(ofEntry: entryIndex)) : [bottom - 1]
            // Zone events with a parent in the zone descend, through it, from some
            // oldest zone event; those (all parents outside) must have the version
            // exactly as parents.
            guard parents.allSatisfy({ version.contains($0) }) else { continue }
            guard parents.count == version.count else { return false }
            minimal += 1
        }
        return minimal > 0
    }

    private mutating func push(_ lv: LV, _ flag: ReachFlag) {
        queue.insert(WalkItem(lv: lv, flag: flag))
        if flag != .shared { unsharedInQueue += 1 }
    }

    private mutating func pop() -> WalkItem? {
        guard let item = queue.popMax() else { return nil }
        if item.flag != .shared { unsharedInQueue -= 1 }
        return item
    }

    private mutating func record(_ range: LVRange, _ flag: ReachFlag, collectZone: Bool) {
        if collectZone {
            if let last = zone.last, last.flag == flag, last.range.start == range.end {
                zone[zone.count - 1].range.start = range.start
            } else {
                zone.append((range, flag))
            }
        } else if flag == .a {
            onlyA.appendDescending(range)
        } else if flag == .b {
            onlyB.appendDescending(range)
        }
    }

    /// Visits, newest first, the events reachable from `a` or `b` that are not in both.
    /// With `stopAtCommonPoint` it goes on through shared events until a single event
    /// remains to visit and returns it — unless some path ended at the empty document
    /// (an event without parents), which nothing else descends from: then it walks
    /// everything and returns nil. Otherwise it stops once all that is left is shared.
    private mutating func walk(
        _ graph: CausalGraph, _ a: some Collection<LV>, _ b: some Collection<LV>,
        stopAtCommonPoint: Bool, collectZone: Bool
    ) -> LV? {
        unsharedInQueue = 0
        var reachedRoot = false
        bottoms.removeAll(keepingCapacity: true)
        var versionChecksLeft = Self.maxVersionChecks
        for lv in a { push(lv, .a) }
        for lv in b { push(lv, .b) }
        defer {
            while queue.popMax() != nil {}
        }
        while var item = pop() {
            while let next = queue.max, next.lv == item.lv {
                item.flag.formUnion(next.flag)
                _ = pop()
            }
            if item.flag == .shared {
                if stopAtCommonPoint {
                    if !reachedRoot {
                        if queue.isEmpty { return item.lv }
                        if unsharedInQueue == 0, versionChecksLeft > 0 {
                            versionChecksLeft -= 1
                            if isCommonVersion(graph, newest: item.lv) { return item.lv }
                        }
                    }
                } else if unsharedInQueue == 0 {
                    return nil
                }
            }
            let entryIndex = graph.entryIndex(containing: item.lv)
            let entryStart = graph.entries[entryIndex].start
            if let next = queue.max, next.lv >= entryStart {
                // Another queued event lies in this run: walk down to it and merge.
                record(LVRange(next.lv + 1, item.lv + 1), item.flag, collectZone: collectZone)
                if stopAtCommonPoint { bottoms.append(next.lv + 1) }
                push(next.lv, item.flag)
                continue
            }
            record(LVRange(entryStart, item.lv + 1), item.flag, collectZone: collectZone)
            if stopAtCommonPoint { bottoms.append(entryStart) }
            let parents = graph.parents(ofEntry: entryIndex)
            if parents.isEmpty { reachedRoot = true }
            for parent in parents { push(parent, item.flag) }
        }
        return nil
    }
}

extension CausalGraph {
    /// The events in version `a` but not `b`, and in `b` but not `a`, as ranges in
    /// descending order (see ``GraphWalker``).
    func diff(_ a: some Collection<LV>, _ b: some Collection<LV>) -> (onlyA: [LVRange], onlyB: [LVRange]) {
        var walker = GraphWalker()
        walker.diff(self, a, b)
        return (walker.onlyA, walker.onlyB)
    }
}

extension Array where Element == LVRange {
    /// Appends `range`, which must lie below every range already present, merging it
    /// with the last one when they touch.
    mutating func appendDescending(_ range: LVRange) {
        if let last = self.last, last.start == range.end {
            self[count - 1].start = range.start
        } else {
            append(range)
        }
    }
}
