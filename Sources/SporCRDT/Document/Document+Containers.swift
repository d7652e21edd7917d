/// Registers, maps, lists and sets: writing and reading.
///
/// Every write is one event on the document's history and is merged with concurrent
/// writes as each kind's documentation says (``ValueState``, ``ListState``). Writing
/// to a container that does not exist yet creates it. Reads of a container nobody
/// has written are empty.
extension Document {
    private mutating func appendValueOperation(_ operation: ValueOperation, to id: ContainerID) throws(CRDTError) {
        guard id.kind == operation.kind else {
            throw CRDTError(.unknownContainer, "\(id) is a \(id.kind); this is a \(operation.kind) operation")
        }
        let agentIndex = try prepareLocalEdit(needsText: false)
        // Apply to a copy of the state: if the operation is refused, nothing changes.
        let checkpoint = log.checkpoint()
        let index = containerIndex(registering: id)
        var state = values[index]
        let (lv, _) = log.agents.append(agent: agentIndex, count: 1)
        log.graph.appendOnHeads(count: 1)
        do throws(CRDTError) {
            try state.apply(operation, at: lv, context: log.causalContext)
        } catch {
            log.rollback(to: checkpoint)
            ropes.removeSubrange(log.containerIDs.count...)
            values.removeSubrange(log.containerIDs.count...)
            throw error
        }
        log.valueHistories[index].append(operation, at: lv)
        values[index] = state
    }

    // MARK: Registers

    /// Writes `value` to register `id`, replacing every value this replica has seen.
    public mutating func set(_ value: Value, in register: ContainerID) throws(CRDTError) {
        try appendValueOperation(.set(try value.validated()), to: register)
    }

    /// The values register `id` holds (several if concurrent writes disagree).
    public func register(_ id: ContainerID) -> RegisterValue {
        guard let index = containerIndex(of: id), case let .register(writes) = values[index] else { return .empty }
        return RegisterValue(writes, context: log.causalContext)
    }

    // MARK: Maps

    /// Writes `value` under `key` of map `map`.
    public mutating func set(_ value: Value, forKey key: String, in map: ContainerID) throws(CRDTError) {
        try ContainerID.checkName(key, "map key")
        try appendValueOperation(.setKey(key, try value.validated()), to: map)
    }

    /// Creates (or keeps) the child container of kind `kind` under `key` of `map` and
    /// returns its id. Replicas creating the same child concurrently get the same
    /// container, so what they write into it merges.
    @discardableResult
    public mutating func createChild(_ kind: ContainerKind, forKey key: String, in map: ContainerID) throws(CRDTError) -> ContainerID {
        let id = try map.child(key, kind)
        if mapEntry(key, in: map).value != .child(kind) {
            try set(.child(kind), forKey: key, in: map)
        }
        return id
    }

    /// Removes `key` from map `map` (a concurrent write of the key wins).
    public mutating func removeValue(forKey key: String, in map: ContainerID) throws(CRDTError) {
        try ContainerID.checkName(key, "map key")
        try appendValueOperation(.removeKey(key), to: map)
    }

    /// The values under `key` of `map` (empty if absent or removed).
    public func mapEntry(_ key: String, in map: ContainerID) -> RegisterValue {
        guard let index = containerIndex(of: map), case let .map(entries) = values[index],
              let kept = entries[key] else { return .empty }
        return RegisterValue(kept, context: log.causalContext)
    }

    /// Every present key of `map` with its values, sorted by key.
    public func map(_ id: ContainerID) -> [(key: String, value: RegisterValue)] {
        guard let index = containerIndex(of: id), case let .map(entries) = values[index] else { return [] }
        let context = log.causalContext
        return entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap { key in
            let value = RegisterValue(entries[key] ?? [], context: context)
            return value.writes.isEmpty ? nil : (key, value)
        }
    }

    // MARK: Lists

    /// One item of a list as shown.
    public struct ListItem: Hashable, Sendable {
        public let id: ListItemID
        public let value: Value
    }

    /// Inserts `value` at visible position `index` (0...count) of list `list` and
    /// returns the new item's id.
    @discardableResult
    public mutating func insert(_ value: Value, at index: Int, in list: ContainerID) throws(CRDTError) -> ListItemID {
        let state = listState(list)
        guard let (left, right) = state.origins(forVisibleIndex: index), index >= 0 else {
            throw CRDTError(.positionOutOfBounds, "cannot insert at \(index) in \(list), which has \(state.visibleItems.count) items")
        }
        try appendValueOperation(.insert(try value.validated(), left: left, right: right), to: list)
        return ListItemID(log.agents.eventID(of: log.eventCount - 1))
    }

    /// Removes `item` from `list`.
    public mutating func remove(_ item: ListItemID, from list: ContainerID) throws(CRDTError) {
        let lv = try visibleItem(item, in: list)
        try appendValueOperation(.remove(item: lv), to: list)
    }

    /// Moves `item` to visible position `index` of `list` (positions as if the item
    /// were not in the list: 0...count-1).
    public mutating func move(_ item: ListItemID, to index: Int, in list: ContainerID) throws(CRDTError) {
        let lv = try visibleItem(item, in: list)
        let state = listState(list)
        // Positions count the other items only.
        var others = 0
        var target: Int?
        for (position, visible) in state.visibleItems.enumerated() {
            if others == index, visible.id != lv { target = position; break }
            if visible.id != lv { others += 1 }
        }
        let count = state.visibleItems.count
        guard index >= 0, index < count else {
            throw CRDTError(.positionOutOfBounds, "cannot move to \(index) in \(list), which has \(count) items")
        }
        guard let (left, right) = state.origins(forVisibleIndex: target ?? count) else {
            throw CRDTError(.positionOutOfBounds, "cannot move to \(index) in \(list)")
        }
        try appendValueOperation(.move(item: lv, left: left, right: right), to: list)
    }

    /// The items of `list` as shown.
    public func list(_ id: ContainerID) -> [ListItem] {
        listState(id).visibleItems.map { ListItem(id: ListItemID(log.agents.eventID(of: $0.id)), value: $0.value) }
    }

    private func listState(_ id: ContainerID) -> ListState {
        guard let index = containerIndex(of: id), case let .list(state) = values[index] else { return ListState() }
        return state
    }

    private func visibleItem(_ item: ListItemID, in list: ContainerID) throws(CRDTError) -> LV {
        guard list.kind == .list else { throw CRDTError(.unknownContainer, "\(list) is not a list") }
        guard let lv = log.agents.lv(of: item.event), listState(list).visibleItems.contains(where: { $0.id == lv }) else {
            throw CRDTError(.unknownItem, "\(list) has no item \(item)")
        }
        return lv
    }

    // MARK: Sets

    /// Adds `value` to set `set`.
    public mutating func add(_ value: Value, to set: ContainerID) throws(CRDTError) {
        try appendValueOperation(.add(try value.validated()), to: set)
    }

    /// Removes `value` from set `set` (a concurrent add wins).
    public mutating func remove(_ value: Value, from set: ContainerID) throws(CRDTError) {
        try appendValueOperation(.discard(try value.validated()), to: set)
    }

    /// The values in `set`, sorted.
    public func set(_ id: ContainerID) -> [Value] {
        guard let index = containerIndex(of: id), case let .set(adds) = values[index] else { return [] }
        return adds.keys.sorted(by: Value.precedes)
    }
}

