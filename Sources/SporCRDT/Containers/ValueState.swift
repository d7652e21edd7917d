/// What applying register, map, list and set operations needs to know about history.
struct CausalContext {
    let graph: CausalGraph
    let agents: AgentAssignment

    /// Whether event `lv` is in the causal past of event `event` (strictly before it).
    @inline(__always)
    func happenedBefore(_ lv: LV, _ event: LV) -> Bool {
        lv < event && graph.contains(lv, inVersion: graph.parents(of: event))
    }

    /// The deterministic order of concurrent writes: Lamport timestamp, then agent
    /// name, then sequence number. A later write (causally) always orders last.
    func isBefore(_ lhs: LV, _ rhs: LV) -> Bool {
        let left = graph.lamport(of: lhs), right = graph.lamport(of: rhs)
        if left != right { return left < right }
        let (leftAgent, leftSeq) = agents.agentAndSeq(of: lhs)
        let (rightAgent, rightSeq) = agents.agentAndSeq(of: rhs)
        if leftAgent != rightAgent { return agents.agents[Int(leftAgent)] < agents.agents[Int(rightAgent)] }
        return leftSeq < rightSeq
    }
}

/// A write kept by a multi-value register: the event and what it wrote (nil: a removal).
struct KeptWrite: Sendable, Equatable {
    var lv: LV
    var value: Value?
}

extension Array where Element == KeptWrite {
    /// Multi-value register semantics: a new write replaces exactly the kept writes in
    /// its causal past; concurrent writes are all kept.
    mutating func record(_ write: KeptWrite, context: CausalContext) {
        removeAll { context.happenedBefore($0.lv, write.lv) }
        append(write)
    }
}

/// The current state of a register, map, list or set, derived from its operations.
/// Applying an operation depends only on the operations in its causal past, so the
/// same operations give the same state in any causal order of application.
enum ValueState: Sendable {
    /// Texts keep their state in a rope instead.
    case none
    /// Register: the writes nobody has overwritten yet (several = a conflict).
    case register([KeptWrite])
    /// Map: per key, the writes nobody has overwritten yet (a removal has no value).
    case map([String: [KeptWrite]])
    case list(ListState)
    /// Set: per value, the adds no removal has seen yet (present while any is left).
    case set([Value: [LV]])

    init(kind: ContainerKind) {
        switch kind {
        case .text: self = .none
        case .register: self = .register([])
        case .map: self = .map([:])
        case .list: self = .list(ListState())
        case .set: self = .set([:])
        }
    }

    /// Applies `operation`, made by event `lv`, after every operation of its causal
    /// past. Throws for operations that refer to list items or slots the event could
    /// not have seen (a malformed or malicious change).
    ///
    /// The state is switched on alone and set to `.none` before its payload is changed,
    /// so the payload is uniquely referenced and changed in place: O(1) amortised per
    /// register/map/set write instead of a copy of the whole container.
    /// Returns the concurrent list slots scanned past to place a list insertion or
    /// move (0 for every other operation).
    @discardableResult
    mutating func apply(_ operation: ValueOperation, at lv: LV, context: CausalContext) throws(CRDTError) -> Int {
        var mismatch: CRDTError { CRDTError(.unknownContainer, "a \(operation.kind) operation cannot apply to this container") }
        switch self {
        case .none:
            throw mismatch
        case var .register(writes):
            guard case let .set(value) = operation else { throw mismatch }
            self = .none
            writes.record(KeptWrite(lv: lv, value: value), context: context)
            self = .register(writes)
        case var .map(entries):
            let key: String, value: Value?
            switch operation {
            case let .setKey(setKey, setValue): (key, value) = (setKey, setValue)
            case let .removeKey(removeKey): (key, value) = (removeKey, nil)
            default: throw mismatch
            }
            self = .none
            entries[key, default: []].record(KeptWrite(lv: lv, value: value), context: context)
            self = .map(entries)
        case var .set(adds):
            switch operation {
            case let .add(value):
                self = .none
                adds[value, default: []].append(lv)
            case let .discard(value):
                self = .none
                adds[value]?.removeAll { context.happenedBefore($0, lv) }
                if adds[value]?.isEmpty == true { adds[value] = nil }
            default: throw mismatch
            }
            self = .set(adds)
        case var .list(list):
            self = .none
            defer { self = .list(list) }
            return try list.apply(operation, at: lv, context: context)
        }
        return 0
    }
}

/// The values a register (or a map entry) holds: one, or several written concurrently
/// — a conflict, shown until a later write that has seen them all replaces them.
public struct RegisterValue: Sendable, Equatable {
    public struct Write: Sendable, Equatable {
        public let value: Value
        public let author: EventID
    }

    /// Every value kept, the deterministic winner first (the write with the highest
    /// Lamport timestamp, then agent name, then sequence number).
    public let writes: [Write]

    /// The value to show: the winner.
    public var value: Value? { writes.first?.value }
    /// Whether concurrent writes disagree (hold different values) and nobody has
    /// resolved them yet.
    public var isConflict: Bool { writes.contains { $0.value != writes[0].value } }

    static let empty = RegisterValue(writes: [])

    /// Reads kept writes; removals (nil) only win when nothing else is kept.
    init(_ kept: [KeptWrite], context: CausalContext) {
        // One kept write (no conflict) is the common case: nothing to order.
        let ordered = kept.count < 2 ? kept : kept.sorted { context.isBefore($1.lv, $0.lv) }
        writes = ordered.compactMap { write in
            write.value.map { Write(value: $0, author: context.agents.eventID(of: write.lv)) }
        }
    }

    init(writes: [Write]) { self.writes = writes }
}

// MARK: - Trimming

extension ValueState {
    /// Every event this state names (writes, list items and slots, set adds): what a
    /// trimmed log must keep.
    func referencedEvents(into events: inout Set<LV>) {
        switch self {
        case .none: break
        case let .register(writes): for write in writes { events.insert(write.lv) }
        case let .map(entries): for writes in entries.values { for write in writes { events.insert(write.lv) } }
        case let .set(adds): for lvs in adds.values { events.formUnion(lvs) }
        case let .list(list): list.referencedEvents(into: &events)
        }
    }

    /// This state with every event it names renumbered by `newLV`.
    func renumbered(_ newLV: (LV) -> LV) -> ValueState {
        func writes(_ kept: [KeptWrite]) -> [KeptWrite] { kept.map { KeptWrite(lv: newLV($0.lv), value: $0.value) } }
        switch self {
        case .none: return .none
        case let .register(kept): return .register(writes(kept))
        case let .map(entries): return .map(entries.mapValues(writes))
        case let .set(adds): return .set(adds.mapValues { $0.map(newLV) })
        case let .list(list): return .list(list.renumbered(newLV))
        }
    }
}
