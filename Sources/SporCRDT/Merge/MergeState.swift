/// The CRDT state Eg-walker builds while it replays one zone of concurrent history
/// for one text. A document keeps it after a merge while the next merges can
/// continue from it (see ``TextMerger/Continuation``); otherwise it is dropped.
///
/// - `items`: every item (character) inserted in the zone plus a *placeholder* run
///   standing for the document as it was where the zone begins, in document order,
///   with their prepare/effect states (``ItemSpan``).
/// - `index`: over the whole LV space, where to look for each item in `items`
///   (``IndexEntry``), so that inserts can be retreated and advanced by LV, and
///   origins compared, in O(log n).
/// - delete records: which items each delete event removed, kept per history
///   operation (``recordDeleteTargets(operation:events:targets:isForward:)``) —
///   retreating or advancing a delete always names it through its operation.
///
/// The index names for every item the leaf of `items` that holds it, exactly: items
/// change leaf only when a leaf splits (``SpanTree/insert(_:at:moved:)`` reports the
/// runs it moved, and the inserted run's own leaf is the cursor it returns), and
/// every such move is written to the index at once. So finding an item is one index
/// lookup and one scan of one leaf, O(log n + B), however the history branches.
/// (Hints that were only "at or before" the leaf let lookups walk the leaf chain;
/// with many branches interleaving that walk grew with the document: 49 % of a
/// git-history merge.)
///
/// Placeholder items have LVs from ``underwaterBase`` upwards, above any real event.
struct MergeState {
    static let documentStart: LV = -1
    static let documentEnd: LV = .max
    /// The first LV of placeholder items.
    static let underwaterBase: LV = 1 << 56
    /// The placeholder length used when the length of the document at the zone's start
    /// is not known yet (longer than any real document).
    static let unknownLength = 1 << 48

    private(set) var items = SpanTree<ItemSpan>()
    private var index = SpanTree<IndexEntry>()
    /// The length of the placeholder run the zone started with.
    private(set) var placeholderLength = 0

    /// The items a run of delete events removed: event `i` of `events` removed
    /// `target + i` (forward) or `target + events.count - 1 - i` (backward).
    private struct DeleteRecord {
        var events: LVRange
        var target: LV
        var isForward: Bool
        /// The next record of the same operation, or -1.
        var next: Int32
    }
    private var deleteRecords: [DeleteRecord] = []
    /// Runs a leaf split moved, waiting to be re-indexed (kept for its capacity).
    private var movedScratch: [(id: LV, count: Int, leaf: Int32)] = []
    /// The first record of each history operation applied in this zone, by operation
    /// index minus `operationBase`; valid where `recordZone` holds the current `zone`
    /// (so a new zone needs no clearing).
    private var firstDeleteRecord: [Int32] = []
    private var recordZone: [Int32] = []
    /// The first history operation the per-operation tables cover.
    private(set) var operationBase = 0
    private var zone: Int32 = 0

    /// Prepares the per-operation tables for a replay of operations
    /// `operations.lowerBound..<operations.upperBound`.
    mutating func prepareForOperations(_ operations: Range<Int>) {
        operationBase = operations.lowerBound
        let count = operations.count
        firstDeleteRecord.removeAll(keepingCapacity: true)
        recordZone.removeAll(keepingCapacity: true)
        firstDeleteRecord.append(contentsOf: repeatElement(-1, count: count))
        recordZone.append(contentsOf: repeatElement(-1, count: count))
    }

    /// Grows the per-operation tables to cover operations up to `end` (exclusive),
    /// keeping what they hold: a kept state continues with operations appended since.
    mutating func extendOperations(to end: Int) {
        let missing = end - operationBase - firstDeleteRecord.count
        guard missing > 0 else { return }
        firstDeleteRecord.append(contentsOf: repeatElement(-1, count: missing))
        recordZone.append(contentsOf: repeatElement(-1, count: missing))
    }

    /// Starts a new zone on a document of `length` scalars.
    mutating func reset(placeholderLength length: Int) {
        placeholderLength = length
        items.removeAll()
        index.removeAll()
        deleteRecords.removeAll(keepingCapacity: true)
        zone += 1
        if length > 0 {
            let placeholder = ItemSpan(id: Self.underwaterBase, count: length, originLeft: Self.documentStart,
                                       originRight: Self.documentEnd, state: ItemSpan.inserted, isDeletedAtEnd: false)
            items.insert(placeholder, at: items.startCursor) { _, _ in }
        }
        let leaf = items.startCursor.leaf
        index.insert(IndexEntry(count: Self.underwaterBase, kind: .none, value: 0), at: index.startCursor) { _, _ in }
        index.insert(IndexEntry(count: Self.unknownLength + 1, kind: .items, value: Int(leaf)),
                     at: TreeCursor(leaf: index.startCursor.leaf, index: 1)) { _, _ in }
    }

    // MARK: - Index

    /// Records `entry` for the LVs `start..<start+entry.count`.
    mutating func setIndex(start: LV, _ entry: IndexEntry) {
        var position = start
        var remaining = entry.count
        while remaining > 0 {
            guard let (cursor, offset) = index.find(position, by: \.count) else { return }
            let existing = index[cursor]
            let take = min(remaining, existing.count - offset)
            let replacement = entry.slice(position - start, take)
            position += take
            remaining -= take
            if existing.kind == replacement.kind, existing.value == replacement.value { continue }
            if offset == 0, let previous = index.cursor(before: cursor), index[previous].isContinued(by: replacement) {
                // Common case (events replayed in order): the previous run grows.
                index.update(at: previous) { $0.append(replacement) }
                if take == existing.count {
                    index.remove(at: cursor, count: 1) { _, _ in }
                } else {
                    index.update(at: cursor) { $0 = existing.slice(take, existing.count - take) }
                }
                continue
            }
            // Split `existing` into [before][replacement][after].
            let hasAfter = offset + take < existing.count
            if offset > 0 {
                index.update(at: cursor) { $0 = existing.slice(0, offset) }
                let placed = index.insert(replacement, at: TreeCursor(leaf: cursor.leaf, index: cursor.index + 1)) { _, _ in }
                if hasAfter {
                    index.insert(existing.slice(offset + take, existing.count - offset - take),
                                 at: TreeCursor(leaf: placed.leaf, index: placed.index + 1)) { _, _ in }
                }
            } else {
                index.update(at: cursor) { $0 = replacement }
                if hasAfter {
                    index.insert(existing.slice(take, existing.count - take),
                                 at: TreeCursor(leaf: cursor.leaf, index: cursor.index + 1)) { _, _ in }
                }
            }
        }
    }

    /// The index entry covering `lv`, and `lv`'s offset in it.
    @inline(__always)
    func indexEntry(at lv: LV) -> (IndexEntry, Int) {
        guard let (cursor, offset) = index.find(lv, by: \.count) else { return (IndexEntry.unusedSlot, 0) }
        return (index[cursor], offset)
    }

    /// The cursor of the item run holding item `id`, and `id`'s offset in it.
    /// O(log n) for the index lookup plus one leaf scan.
    @inline(__always)
    func cursor(ofItem id: LV) -> (TreeCursor, Int) {
        let (entry, _) = indexEntry(at: id)
        precondition(entry.kind == .items, "item \(id) is not in the merge state")
        let leaf = Int32(entry.value)
        for slot in 0..<items.count(ofLeaf: leaf) {
            let cursor = TreeCursor(leaf: leaf, index: Int32(slot))
            let span = items[cursor]
            if id >= span.id, id < span.id + span.count { return (cursor, id - span.id) }
        }
        preconditionFailure("item \(id) is not in the leaf the index names")
    }

    /// Raw (all-items) position of item `id`; ``documentStart`` is -1 and
    /// ``documentEnd`` is the number of items.
    func rawPosition(ofItem id: LV) -> Int {
        if id == Self.documentStart { return -1 }
        if id == Self.documentEnd { return items.total.raw }
        let (cursor, offset) = cursor(ofItem: id)
        return items.summary(before: cursor).raw + offset
    }

    // MARK: - Item changes

    /// Inserts `span` into the item tree before `cursor` and keeps the index exact:
    /// new items (`isNew`) are indexed, runs a leaf split moved are re-indexed, and a
    /// piece split off an existing run is re-indexed when it did not land in the leaf
    /// its items were indexed at. Returns where the span was placed.
    @discardableResult
    mutating func insertItems(_ span: ItemSpan, at cursor: TreeCursor, isNew: Bool) -> TreeCursor {
        var moved = movedScratch
        moved.removeAll(keepingCapacity: true)
        let placed = items.insert(span, at: cursor) { element, leaf in moved.append((element.id, element.count, leaf)) }
        if !moved.isEmpty {
            // In LV order, so runs typed backwards merge into few index entries.
            moved.sort { $0.id < $1.id }
            for run in moved { setIndex(start: run.id, IndexEntry(count: run.count, kind: .items, value: Int(run.leaf))) }
        }
        movedScratch = moved
        if isNew || indexEntry(at: span.id).0.value != Int(placed.leaf) {
            setIndex(start: span.id, IndexEntry(count: span.count, kind: .items, value: Int(placed.leaf)))
        }
        return placed
    }

    /// Replaces items `offset..<offset+length` of the run at `cursor` by the result of
    /// `change`, splitting the run as needed. Invalidates cursors.
    mutating func changeItems(at cursor: TreeCursor, offset: Int, length: Int, _ change: (inout ItemSpan) -> Void) {
        let span = items[cursor]
        if offset == 0, length == span.count {
            items.update(at: cursor) { change(&$0) }
            return
        }
        var middle = span.slice(offset, length)
        change(&middle)
        var pieces = (first: middle, second: ItemSpan?.none, third: ItemSpan?.none)
        if offset > 0 {
            pieces = (span.slice(0, offset), middle, nil)
        }
        if offset + length < span.count {
            let right = span.slice(offset + length, span.count - offset - length)
            if pieces.second == nil { pieces.second = right } else { pieces.third = right }
        }
        items.update(at: cursor) { $0 = pieces.first }
        var next = TreeCursor(leaf: cursor.leaf, index: cursor.index + 1)
        for piece in [pieces.second, pieces.third] {
            guard let piece else { continue }
            let placed = insertItems(piece, at: next, isNew: false)
            next = TreeCursor(leaf: placed.leaf, index: placed.index + 1)
        }
    }

    /// Appends the items `count` new items to the run at `cursor` (typing on).
    mutating func extendItems(at cursor: TreeCursor, by count: Int) {
        let span = items[cursor]
        items.update(at: cursor) { $0.count += count }
        setIndex(start: span.id + span.count, IndexEntry(count: count, kind: .items, value: Int(cursor.leaf)))
    }

    /// Splits the run at `cursor` before its item `offset` (0 < offset < count) and
    /// returns the cursor of the second half.
    mutating func splitItems(at cursor: TreeCursor, offset: Int) -> TreeCursor {
        let span = items[cursor]
        items.update(at: cursor) { $0 = span.slice(0, offset) }
        return insertItems(span.slice(offset, span.count - offset),
                           at: TreeCursor(leaf: cursor.leaf, index: cursor.index + 1), isNew: false)
    }

    /// Adds `delta` to the prepare state of the items `id..<id+count` (retreat: -1,
    /// advance: +1; for inserted items and for the targets of deletes alike).
    mutating func addToState(items id: LV, count: Int, _ delta: Int32) {
        var next = id
        var remaining = count
        while remaining > 0 {
            let (cursor, offset) = self.cursor(ofItem: next)
            let take = min(remaining, items[cursor].count - offset)
            changeItems(at: cursor, offset: offset, length: take) { $0.state += delta }
            next += take
            remaining -= take
        }
    }

    /// Records that the delete events `events` of history operation `operation`
    /// removed the item runs `targets` (in document order).
    mutating func recordDeleteTargets(operation: Int, events: LV, targets: [(id: LV, count: Int)], isForward: Bool) {
        let slot = operation - operationBase
        var first = recordZone[slot] == zone ? firstDeleteRecord[slot] : -1
        var event = events
        for step in 0..<targets.count {
            let target = targets[isForward ? step : targets.count - 1 - step]
            deleteRecords.append(DeleteRecord(events: LVRange(event, event + target.count), target: target.id,
                                              isForward: isForward, next: first))
            first = Int32(deleteRecords.count - 1)
            event += target.count
        }
        firstDeleteRecord[slot] = first
        recordZone[slot] = zone
    }

    /// Appends to `targets` the runs of items removed by the delete events `events`
    /// of history operation `operation` (in any order).
    func deleteTargets(operation: Int, events: LVRange, into targets: inout [(id: LV, count: Int)]) {
        let slot = operation - operationBase
        var recordIndex = recordZone[slot] == zone ? firstDeleteRecord[slot] : -1
        var found = 0
        while recordIndex >= 0 {
            let record = deleteRecords[Int(recordIndex)]
            let start = max(record.events.start, events.start)
            let end = min(record.events.end, events.end)
            if start < end {
                let first = start - record.events.start
                let count = end - start
                let target = record.isForward ? record.target + first : record.target + record.events.count - first - count
                targets.append((target, count))
                found += count
            }
            recordIndex = record.next
        }
        precondition(found == events.count, "delete events \(events) were not all applied in this zone")
    }

    /// Calls `body` with every item run in document order.
    func forEachItemRun(_ body: (ItemSpan) -> Void) {
        items.forEach(body)
    }

    /// For every item run removed by the delete events `events` of history operation
    /// `operation`, calls `body` with the run's first item, its length and the event
    /// that removed its first item.
    func forEachDeleteRecord(operation: Int, _ body: (LV, Int, LV, Bool) -> Void) {
        let slot = operation - operationBase
        guard slot >= 0, slot < recordZone.count, recordZone[slot] == zone else { return }
        var recordIndex = firstDeleteRecord[slot]
        while recordIndex >= 0 {
            let record = deleteRecords[Int(recordIndex)]
            body(record.target, record.events.count, record.events.start, record.isForward)
            recordIndex = record.next
        }
    }

    /// Describes the first broken invariant, or nil (tests only).
    func checkInvariants() -> String? {
        if let problem = items.checkInvariants() { return "items: \(problem)" }
        if let problem = index.checkInvariants() { return "index: \(problem)" }
        var problem: String?
        var leaf = items.firstLeaf
        while leaf >= 0, problem == nil {
            for slot in 0..<items.count(ofLeaf: leaf) {
                let span = items[TreeCursor(leaf: leaf, index: Int32(slot))]
                for id in [span.id, span.id + span.count - 1] {
                    let (entry, _) = indexEntry(at: id)
                    if entry.kind != .items || entry.value != Int(leaf) {
                        problem = "item \(id) indexed at \(entry.kind) \(entry.value), held by leaf \(leaf)"
                    }
                }
            }
            leaf = items.nextLeaf(leaf)
        }
        return problem
    }
}
