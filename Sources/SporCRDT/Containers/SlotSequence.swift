/// A list's slots in list order, kept in blocks of at most ``maxBlock`` slots, with
/// each slot's block known: finding a slot's position, reading the slot at a
/// position and inserting a slot cost O(B + n/B) (B the block size, n the slots)
/// instead of the O(n) of one flat array searched from the start — so a batch of k
/// list operations costs O(k·(B + n/B)), not O(k·n).
///
/// Invariants: `blocks` is never empty after the first insert and no block is empty;
/// `starts[i]` is the number of slots in the blocks before `blocks[i]`;
/// `blockOfSlot[id]` is the stable id (`blockIDs`) of the block holding slot `id`,
/// and `blockIndex` maps stable ids to positions in `blocks` (block positions shift
/// when a block splits; stable ids do not, so a split rewrites O(blocks) entries, not
/// O(slots)).
struct SlotSequence: Sendable {
    typealias Slot = ListState.Slot

    /// A block splits in two when it grows past this.
    static let maxBlock = 128

    private var blocks: [[Slot]] = []
    private var blockIDs: [Int] = []
    private var blockIndex: [Int: Int] = [:]
    private var starts: [Int] = []
    private var blockOfSlot: [LV: Int] = [:]
    private var nextBlockID = 0
    private(set) var count = 0

    init() {}

    /// The slots of `slots`, in that order. O(n).
    init<S: Sequence>(_ slots: S) where S.Element == Slot {
        var block: [Slot] = []
        block.reserveCapacity(Self.maxBlock / 2)
        for slot in slots {
            block.append(slot)
            if block.count == Self.maxBlock / 2 {
                appendBlock(block)
                block.removeAll(keepingCapacity: true)
            }
        }
        if !block.isEmpty { appendBlock(block) }
    }

    private mutating func appendBlock(_ block: [Slot]) {
        let id = nextBlockID
        nextBlockID += 1
        starts.append(count)
        blocks.append(block)
        blockIDs.append(id)
        blockIndex[id] = blocks.count - 1
        for slot in block { blockOfSlot[slot.id] = id }
        count += block.count
    }

    /// Every slot, in list order.
    var all: FlattenSequence<[[Slot]]> { blocks.joined() }

    /// The position of slot `id`, nil if the list has no such slot. O(B).
    func position(of id: LV) -> Int? {
        guard let blockID = blockOfSlot[id], let index = blockIndex[blockID],
              let offset = blocks[index].firstIndex(where: { $0.id == id }) else { return nil }
        return starts[index] + offset
    }

    /// Whether slot `id` stands before `position`; nil if the list has no such slot.
    /// O(1) when the slot's block lies wholly before or after `position`, else O(B).
    func isSlot(_ id: LV, before position: Int) -> Bool? {
        guard let blockID = blockOfSlot[id], let index = blockIndex[blockID] else { return nil }
        if starts[index] + blocks[index].count <= position { return true }
        if starts[index] >= position { return false }
        guard let offset = blocks[index].firstIndex(where: { $0.id == id }) else { return nil }
        return starts[index] + offset < position
    }

    /// The slot at `position` (0 ..< count). O(log(n/B)).
    subscript(position: Int) -> Slot {
        let (index, offset) = locate(position)
        return blocks[index][offset]
    }

    /// The block holding `position` and the offset in it.
    private func locate(_ position: Int) -> (block: Int, offset: Int) {
        var low = 0
        var high = blocks.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= position { low = middle } else { high = middle - 1 }
        }
        return (low, position - starts[low])
    }

    /// Inserts `slot` so that it is at `position` (0 ... count). O(B + n/B).
    mutating func insert(_ slot: Slot, at position: Int) {
        guard !blocks.isEmpty else {
            appendBlock([slot])
            return
        }
        let (index, offset) = position >= count ? (blocks.count - 1, blocks[blocks.count - 1].count) : locate(position)
        blocks[index].insert(slot, at: offset)
        blockOfSlot[slot.id] = blockIDs[index]
        for later in (index + 1)..<starts.count { starts[later] += 1 }
        count += 1
        if blocks[index].count > Self.maxBlock { split(index) }
    }

    /// Splits block `index` in two halves. O(B + n/B).
    private mutating func split(_ index: Int) {
        let half = blocks[index].count / 2
        let moved = Array(blocks[index][half...])
        blocks[index].removeSubrange(half...)
        let id = nextBlockID
        nextBlockID += 1
        blocks.insert(moved, at: index + 1)
        blockIDs.insert(id, at: index + 1)
        starts.insert(starts[index] + half, at: index + 1)
        for later in (index + 1)..<blockIDs.count { blockIndex[blockIDs[later]] = later }
        for slot in moved { blockOfSlot[slot.id] = id }
    }
}
