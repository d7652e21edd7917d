/// One operation on a register, map, list or set. Each is exactly one event.
///
/// List operations name slots and items by local version: a slot is the event that
/// created a position in the list (an insert or a move), an item the event that
/// inserted it. ``ListState/noSlot`` stands for the start (as left origin) or the end
/// (as right origin).
enum ValueOperation: Sendable, Equatable {
    /// Register: replaces the values the writer had seen.
    case set(Value)
    /// Map: replaces the values of `key` the writer had seen.
    case setKey(String, Value)
    /// Map: removes `key` as the writer had seen it (concurrent sets win).
    case removeKey(String)
    /// List: a new item holding `value`, at a new slot between `left` and `right`.
    case insert(Value, left: LV, right: LV)
    /// List: removes `item` (whatever concurrent moves did).
    case remove(item: LV)
    /// List: a new slot for `item` between `left` and `right`; the item shows at its
    /// latest slot.
    case move(item: LV, left: LV, right: LV)
    /// Set: adds `value`.
    case add(Value)
    /// Set: removes `value` as the writer had seen it (concurrent adds win).
    case discard(Value)

    /// The container kind this operation belongs to.
    var kind: ContainerKind {
        switch self {
        case .set: .register
        case .setKey, .removeKey: .map
        case .insert, .remove, .move: .list
        case .add, .discard: .set
        }
    }
}

/// The operations of one register, map, list or set, in LV order.
struct ValueHistory: Sendable {
    private(set) var events: [LV] = []
    private(set) var operations: [ValueOperation] = []

    var count: Int { events.count }

    mutating func append(_ operation: ValueOperation, at lv: LV) {
        events.append(lv)
        operations.append(operation)
    }

    /// The index of the first operation at or after `lv`.
    func firstIndex(atOrAfter lv: LV) -> Int {
        var low = 0
        var high = events.count
        while low < high {
            let mid = (low + high) >> 1
            if events[mid] < lv { low = mid + 1 } else { high = mid }
        }
        return low
    }

    struct Checkpoint {
        fileprivate let count: Int
    }

    func checkpoint() -> Checkpoint { Checkpoint(count: events.count) }

    mutating func rollback(to checkpoint: Checkpoint) {
        events.removeSubrange(checkpoint.count...)
        operations.removeSubrange(checkpoint.count...)
    }
}
