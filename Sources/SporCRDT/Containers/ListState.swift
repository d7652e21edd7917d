/// The current state of a list: every slot ever created, in list order, and every item.
///
/// Merge semantics:
/// - An insert creates an item and its first *slot*: a position between two slots
///   (its origins), ordered among concurrent slots by the same YjsMod rules as text,
///   so items inserted concurrently at one place never interleave and every replica
///   orders slots the same way, whatever order it learned of them.
/// - A move creates another slot for the item; the item shows at its slot with the
///   highest Lamport timestamp (ties: agent name, then sequence number), so
///   concurrent moves of one item never duplicate it — one of them wins.
/// - A removal hides the item for good, whatever moves happen concurrently.
///
/// Complexity: slots are kept in a ``SlotSequence``: placing one costs O(B + n/B)
/// per slot looked up (its origins, and the concurrent siblings scanned between
/// them), n the list's slots and B its block size — not O(n), so a batch of many list
/// operations no longer costs O(operations × slots).
struct ListState: Sendable {
    /// As a left origin: the start of the list; as a right origin: its end.
    static let noSlot: LV = -1
    /// Slots (inserts and moves) one list holds at most; one more is refused with
    /// `limitExceeded`, locally and in a merge.
    static let maxSlots = 20_000

    struct Slot: Sendable, Equatable {
        var id: LV
        var item: LV
        var left: LV
        var right: LV
    }

    struct Item: Sendable, Equatable {
        var value: Value
        var slot: LV
        var isRemoved: Bool
    }

    private(set) var slots = SlotSequence()
    private(set) var items: [LV: Item] = [:]

    /// The items shown, in order.
    var visibleItems: [(id: LV, value: Value)] {
        slots.all.compactMap { slot in
            guard let item = items[slot.item], !item.isRemoved, item.slot == slot.id else { return nil }
            return (slot.item, item.value)
        }
    }

    func index(ofSlot id: LV) -> Int? { slots.position(of: id) }

    /// The origins for a new slot before visible position `index` (0...count): right
    /// after the visible item before it, and before whatever slot follows that.
    func origins(forVisibleIndex index: Int) -> (left: LV, right: LV)? {
        var seen = 0
        var left = Self.noSlot
        var insertAt = 0
        if index > 0 {
            var found = false
            for (position, slot) in slots.all.enumerated() {
                guard let item = items[slot.item], !item.isRemoved, item.slot == slot.id else { continue }
                seen += 1
                if seen == index {
                    left = slot.id
                    insertAt = position + 1
                    found = true
                    break
                }
            }
            guard found else { return nil }
        }
        let right = insertAt < slots.count ? slots[insertAt].id : Self.noSlot
        return (left, right)
    }

    /// Returns the concurrent slots scanned past to place a new slot (0 for a removal).
    @discardableResult
    mutating func apply(_ operation: ValueOperation, at lv: LV, context: CausalContext) throws(CRDTError) -> Int {
        switch operation {
        case let .insert(value, left, right):
            let scanned = try integrate(Slot(id: lv, item: lv, left: left, right: right), context: context)
            items[lv] = Item(value: value, slot: lv, isRemoved: false)
            return scanned
        case let .remove(item):
            guard items[item] != nil, context.happenedBefore(item, lv) else {
                throw CRDTError(.unknownItem, "a removal names a list item its author could not have seen")
            }
            items[item]?.isRemoved = true
            return 0
        case let .move(item, left, right):
            guard let current = items[item], context.happenedBefore(item, lv) else {
                throw CRDTError(.unknownItem, "a move names a list item its author could not have seen")
            }
            let scanned = try integrate(Slot(id: lv, item: item, left: left, right: right), context: context)
            if context.isBefore(current.slot, lv) { items[item]?.slot = lv }
            return scanned
        default:
            throw CRDTError(.unknownContainer, "a \(operation.kind) operation cannot apply to a list")
        }
    }

    /// Places a new slot between its origins. Slots between the origins are exactly
    /// those created concurrently with it; YjsMod decides the order among them.
    /// Returns how many of them it scanned past.
    private mutating func integrate(_ new: Slot, context: CausalContext) throws(CRDTError) -> Int {
        // Placing a slot scans the slots made concurrently with it: bounded lists
        // bound that work (a proposal's lists hold tens to hundreds of items).
        guard slots.count < Self.maxSlots else {
            throw CRDTError(.limitExceeded, "a list holds at most \(Self.maxSlots) items and moves")
        }
        func position(of id: LV, isLeft: Bool) throws(CRDTError) -> Int {
            if id == Self.noSlot { return isLeft ? -1 : slots.count }
            guard let found = self.index(ofSlot: id), context.happenedBefore(id, new.id) else {
                throw CRDTError(.unknownItem, "a list operation names a position its author could not have seen")
            }
            return found
        }
        let leftPosition = try position(of: new.left, isLeft: true)
        let rightPosition = try position(of: new.right, isLeft: false)
        guard leftPosition < rightPosition else {
            throw CRDTError(.malformed, "a list operation's origins are out of order")
        }
        var index = leftPosition + 1
        var scanning = false
        var scanStart = index
        // Each scanned slot's origins are compared with the new slot's by position;
        // `isSlot(_:before:)` answers without finding the exact position unless the
        // two share a block, so scanning c concurrent slots costs about O(c).
        while index < rightPosition {
            let other = slots[index]
            if other.left != new.left {
                // Its left origin is not the new slot's: before it ends the run of
                // concurrent slots; after it (inside the run) is skipped.
                let leftIsBefore = other.left == Self.noSlot || (slots.isSlot(other.left, before: leftPosition) ?? true)
                if leftIsBefore { break }
            } else if other.right == new.right {
                if Self.siblingGoesFirst(new.id, other.id, context: context) { break }
                scanning = false
            } else {
                let rightIsBefore = other.right != Self.noSlot && (slots.isSlot(other.right, before: rightPosition) ?? false)
                if rightIsBefore {
                    if !scanning {
                        scanning = true
                        scanStart = index
                    }
                } else {
                    scanning = false
                }
            }
            index += 1
        }
        slots.insert(new, at: scanning ? scanStart : index)
        return index - (leftPosition + 1)
    }

    /// Concurrent siblings with the same origins: smaller agent name first, then seq
    /// (the same rule as text).
    private static func siblingGoesFirst(_ lv: LV, _ other: LV, context: CausalContext) -> Bool {
        let (agent, seq) = context.agents.agentAndSeq(of: lv)
        let (otherAgent, otherSeq) = context.agents.agentAndSeq(of: other)
        if agent == otherAgent { return seq < otherSeq }
        return context.agents.agents[Int(agent)] < context.agents.agents[Int(otherAgent)]
    }
}

// MARK: - Trimming

extension ListState {
    func referencedEvents(into events: inout Set<LV>) {
        for slot in slots.all {
            events.insert(slot.id)
            events.insert(slot.item)
            if slot.left != Self.noSlot { events.insert(slot.left) }
            if slot.right != Self.noSlot { events.insert(slot.right) }
        }
        for (id, item) in items {
            events.insert(id)
            events.insert(item.slot)
        }
    }

    /// This list with every event it names renumbered by `newLV` (which keeps
    /// ``noSlot``).
    func renumbered(_ newLV: (LV) -> LV) -> ListState {
        var copy = ListState()
        copy.slots = SlotSequence(slots.all.map { Slot(id: newLV($0.id), item: newLV($0.item), left: newLV($0.left), right: newLV($0.right)) })
        copy.items = Dictionary(uniqueKeysWithValues: items.map { id, item in
            (newLV(id), Item(value: item.value, slot: newLV(item.slot), isRemoved: item.isRemoved))
        })
        return copy
    }
}
