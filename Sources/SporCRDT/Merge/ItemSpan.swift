/// A run of CRDT items in the transient merge state: characters inserted by the
/// consecutive events `id..<id+count`, in document order.
///
/// `state` is the item's state in the *prepare* version (the version the event being
/// applied was made on); `isDeletedAtEnd` its state in the *effect* version (every
/// event applied so far), which is what the current text shows.
struct ItemSpan: TreeElement, Equatable {
    /// Prepare state: not yet inserted in the prepare version.
    static let notInsertedYet: Int32 = 0
    /// Prepare state: inserted and visible. `inserted + n` means deleted by n events.
    static let inserted: Int32 = 1

    var id: LV
    var count: Int
    /// The item left of the first item when it was inserted (``MergeState/documentStart``
    /// for none). Item `id + i` (i > 0) has origin-left `id + i - 1`.
    var originLeft: LV
    /// The first item right of the insertion that existed when the run was inserted
    /// (``MergeState/documentEnd`` for none); the same for every item of the run.
    var originRight: LV
    var state: Int32
    var isDeletedAtEnd: Bool

    struct Summary: TreeSummary {
        /// Items visible in the prepare version.
        var current: Int
        /// Items visible in the effect version (the text being produced).
        var end: Int
        /// All items, visible or not: a total order of positions.
        var raw: Int
        static let zero = Summary(current: 0, end: 0, raw: 0)
        static func + (l: Summary, r: Summary) -> Summary {
            Summary(current: l.current + r.current, end: l.end + r.end, raw: l.raw + r.raw)
        }
        static func - (l: Summary, r: Summary) -> Summary {
            Summary(current: l.current - r.current, end: l.end - r.end, raw: l.raw - r.raw)
        }
    }

    @inline(__always)
    var summary: Summary {
        Summary(current: state == Self.inserted ? count : 0, end: isDeletedAtEnd ? 0 : count, raw: count)
    }

    static let unusedSlot = ItemSpan(id: -1, count: 0, originLeft: -1, originRight: -1, state: 0, isDeletedAtEnd: true)

    /// The items `offset..<offset+length` of this run as a run of their own.
    @inline(__always)
    func slice(_ offset: Int, _ length: Int) -> ItemSpan {
        var result = self
        result.id = id + offset
        result.count = length
        if offset > 0 { result.originLeft = id + offset - 1 }
        return result
    }
}

/// What the merge state's index knows about a run of LVs (see ``MergeState``).
struct IndexEntry: TreeElement, Equatable {
    enum Kind: UInt8 {
        /// Not an item of the current merge zone.
        case none
        /// Items held by leaf `value` of the item tree or a leaf after it.
        case items
    }

    var count: Int
    var kind: Kind
    var value: Int

    struct Summary: TreeSummary {
        var count: Int
        static let zero = Summary(count: 0)
        static func + (l: Summary, r: Summary) -> Summary { Summary(count: l.count + r.count) }
        static func - (l: Summary, r: Summary) -> Summary { Summary(count: l.count - r.count) }
    }

    @inline(__always)
    var summary: Summary { Summary(count: count) }
    static let unusedSlot = IndexEntry(count: 0, kind: .none, value: 0)

    /// Whether `next`, describing the LVs right after this run, continues it.
    @inline(__always)
    func isContinued(by next: IndexEntry) -> Bool { kind == next.kind && value == next.value }

    /// Extends this run by `next`, which must continue it (see ``isContinued(by:)``).
    @inline(__always)
    mutating func append(_ next: IndexEntry) { count += next.count }

    /// The entries `offset..<offset+length` of this run as a run of their own.
    func slice(_ offset: Int, _ length: Int) -> IndexEntry {
        IndexEntry(count: length, kind: kind, value: value)
    }
}
