/// The causal event graph of one document, run-length encoded.
///
/// Events are numbered by local version (``LV``). An ``Entry`` covers a run
/// `start..<end` in which the first event has the entry's parents and every later
/// event has exactly one parent, its predecessor. Typing without interruption is one
/// entry however long it is; a new entry starts only where history branches or merges.
///
/// Invariants (checked by ``checkInvariants()`` in tests):
/// - entries are sorted, contiguous from 0 and non-empty;
/// - every parent list is sorted, duplicate-free, refers to smaller LVs and is an
///   antichain (no parent is an ancestor of another);
/// - `heads` is the frontier of all events: those without children.
struct CausalGraph: Sendable {
    struct Entry: Sendable, Equatable {
        var start: LV
        var end: LV
        /// The first of `parentsCount` parents of `start` in `parentPool`.
        var parentsStart: Int32
        var parentsCount: Int32
        /// The Lamport timestamp of `start`: one more than the largest of its
        /// parents' (0 without parents); each later event of the run adds one. The same
        /// on every replica, and larger for every descendant.
        var lamport: Int
    }

    private(set) var entries: [Entry] = []
    private(set) var parentPool: [LV] = []
    /// The frontier of all events (sorted).
    private(set) var heads: [LV] = []
    /// In a trimmed graph (see ``init(trimmedPrefixLamports:)``): the real Lamport
    /// timestamps of the prefix chain's events; empty otherwise.
    private(set) var prefixLamports: [Int] = []

    init() {}

    /// A graph whose first `lamports.count` events stand for a trimmed history: one
    /// chain, the last event standing for the whole trimmed part (every later event
    /// descends from it), each with its real Lamport timestamp. Ancestry *between*
    /// these events is not real and must not be asked; everything about later events
    /// is exact. - Precondition: `lamports` is not empty.
    init(trimmedPrefixLamports lamports: [Int]) {
        let last = lamports.count - 1
        // The entry's timestamp is chosen so that its last event, and any event that
        // later continues the chain, gets its real timestamp.
        entries = [Entry(start: 0, end: lamports.count, parentsStart: 0, parentsCount: 0, lamport: lamports[last] - last)]
        heads = [last]
        prefixLamports = lamports
    }

    /// The number of events in the graph; also the LV the next event will get.
    var count: Int { entries.last?.end ?? 0 }

    /// The index of the entry containing `lv`. O(log entries).
    /// - Precondition: `0 <= lv < count`.
    func entryIndex(containing lv: LV) -> Int {
        // Fast path: appends happen at the end, and most queries are recent.
        let lastIndex = entries.count - 1
        if entries[lastIndex].start <= lv { return lastIndex }
        var low = 0
        var high = lastIndex
        while low < high {
            let mid = (low + high + 1) >> 1
            if entries[mid].start <= lv { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The parents of the first event of entry `index`.
    func parents(ofEntry index: Int) -> ArraySlice<LV> {
        let entry = entries[index]
        let start = Int(entry.parentsStart)
        return parentPool[start..<start + Int(entry.parentsCount)]
    }

    /// The parents of event `lv`.
    func parents(of lv: LV) -> [LV] {
        let index = entryIndex(containing: lv)
        if entries[index].start == lv { return Array(parents(ofEntry: index)) }
        return [lv - 1]
    }

    /// Whether the events from `firstNew` to the end form one chain whose first event
    /// has exactly `version` as its parents: made on top of `version` with nothing
    /// concurrent, as when a partner edits a version this replica has. A merge of
    /// such events applies their operations unchanged. O(entries after `firstNew`).
    func isChain(from firstNew: LV, on version: [LV]) -> Bool {
        guard firstNew < count else { return false }
        var index = entryIndex(containing: firstNew)
        if entries[index].start == firstNew {
            guard parents(ofEntry: index).elementsEqual(version) else { return false }
        } else {
            // The new events continue an entry: their first parent is its previous event.
            guard version.count == 1, version[0] == firstNew - 1 else { return false }
        }
        index += 1
        while index < entries.count {
            guard parents(ofEntry: index).elementsEqual(CollectionOfOne(entries[index].start - 1)) else { return false }
            index += 1
        }
        return true
    }

    /// Appends `count` events that form a chain, the first with `parents`, and returns
    /// their range. Extends the last entry when the chain continues it directly.
    ///
    /// - Precondition: `parents` is a sorted antichain of existing events; `count > 0`.
    @discardableResult
    mutating func append(count eventCount: Int, parents: some Collection<LV>) -> LVRange {
        let start = count
        let end = start + eventCount
        if let last = entries.last, parents.count == 1, parents.first == last.end - 1 {
            entries[entries.count - 1].end = end
        } else {
            var lamport = 0
            for parent in parents { lamport = max(lamport, self.lamport(of: parent) + 1) }
            entries.append(Entry(
                start: start, end: end,
                parentsStart: Int32(parentPool.count), parentsCount: Int32(parents.count), lamport: lamport))
            parentPool.append(contentsOf: parents)
        }
        advanceHeads(removing: parents, adding: end - 1)
        return LVRange(start, end)
    }

    /// The Lamport timestamp of event `lv` (see ``Entry/lamport``). O(log entries).
    func lamport(of lv: LV) -> Int {
        if lv < prefixLamports.count { return prefixLamports[lv] }
        let entry = entries[entryIndex(containing: lv)]
        return entry.lamport + (lv - entry.start)
    }

    /// Appends `count` events made on the current heads (a local edit). O(1) when the
    /// history is linear.
    @discardableResult
    mutating func appendOnHeads(count eventCount: Int) -> LVRange {
        if heads.count == 1, let last = entries.last, heads[0] == last.end - 1 {
            let start = last.end
            entries[entries.count - 1].end = start + eventCount
            heads[0] = start + eventCount - 1
            return LVRange(start, start + eventCount)
        }
        let parents = heads
        return append(count: eventCount, parents: parents)
    }

    private mutating func advanceHeads(removing parents: some Collection<LV>, adding newHead: LV) {
        if heads.count == 1, parents.count == 1, heads[0] == parents.first {
            heads[0] = newHead
            return
        }
        heads.removeAll { parents.contains($0) }
        heads.append(newHead)  // the newest event has the largest LV: stays sorted
    }

    // MARK: - Rollback

    /// Enough state to undo appends made after it was taken.
    struct Checkpoint {
        fileprivate let entryCount: Int
        fileprivate let lastEntry: Entry?
        fileprivate let parentPoolCount: Int
        fileprivate let heads: [LV]
    }

    func checkpoint() -> Checkpoint {
        Checkpoint(entryCount: entries.count, lastEntry: entries.last,
                   parentPoolCount: parentPool.count, heads: heads)
    }

    /// Removes every event appended since `checkpoint` was taken.
    mutating func rollback(to checkpoint: Checkpoint) {
        entries.removeSubrange(checkpoint.entryCount...)
        if let last = checkpoint.lastEntry { entries[entries.count - 1] = last }
        parentPool.removeSubrange(checkpoint.parentPoolCount...)
        heads = checkpoint.heads
    }

    // MARK: - Ancestry

    /// Whether `lv` is in the version named by `frontier` (an ancestor of, or equal to,
    /// one of its events). Walks back only as far as needed.
    func contains(_ lv: LV, inVersion frontier: some Collection<LV>) -> Bool {
        var pending: [LV] = []
        for head in frontier {
            if head == lv { return true }
            if head > lv { pending.append(head) }
        }
        var visitedEntries = Set<Int>()
        while let head = pending.popLast() {
            let index = entryIndex(containing: head)
            let entry = entries[index]
            if entry.start <= lv { return true }
            guard visitedEntries.insert(index).inserted else { continue }
            for parent in parents(ofEntry: index) {
                if parent == lv { return true }
                if parent > lv { pending.append(parent) }
            }
        }
        return false
    }

    /// Reduces `lvs` to a frontier: sorted, without duplicates, and without events that
    /// are ancestors of other events in the list.
    func frontier(reducing lvs: [LV]) -> [LV] {
        var sorted = Array(Set(lvs)).sorted()
        if sorted.count < 2 { return sorted }
        // An event can only be an ancestor of an event with a larger LV.
        var index = 0
        while index < sorted.count {
            let candidate = sorted[index]
            let later = sorted[(index + 1)...]
            if contains(candidate, inVersion: later) {
                sorted.remove(at: index)
            } else {
                index += 1
            }
        }
        return sorted
    }

    /// Asserts the invariants listed in the type's documentation (tests only).
    func checkInvariants() -> String? {
        var expectedStart = 0
        for (index, entry) in entries.enumerated() {
            if entry.start != expectedStart { return "entry \(index) starts at \(entry.start), expected \(expectedStart)" }
            if entry.end <= entry.start { return "entry \(index) is empty" }
            let parents = Array(self.parents(ofEntry: index))
            if parents != parents.sorted() || Set(parents).count != parents.count { return "entry \(index) parents not sorted/unique" }
            if parents.contains(where: { $0 >= entry.start }) { return "entry \(index) has a parent from the future" }
            if frontier(reducing: parents) != parents { return "entry \(index) parents are not an antichain" }
            if index > 0, parents == [entry.start - 1] { return "entry \(index) should have been merged into its predecessor" }
            expectedStart = entry.end
        }
        var hasChild = Set<LV>()
        for (index, entry) in entries.enumerated() {
            hasChild.formUnion(parents(ofEntry: index))
            if entry.end - entry.start > 1 { hasChild.formUnion(entry.start..<(entry.end - 1)) }
        }
        let expectedHeads = (0..<count).filter { !hasChild.contains($0) }
        if expectedHeads != heads { return "heads \(heads) != \(expectedHeads)" }
        return nil
    }
}
