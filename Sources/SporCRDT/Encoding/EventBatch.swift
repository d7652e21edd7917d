/// Events cut out of one replica's history to travel to another: the unit of sync,
/// and the history of a document file.
///
/// Events are numbered by their *batch offset* (0..<eventCount) in the sender's
/// order, which is topological. A run is a chain of one agent's events; its first
/// event's parents are either earlier events of the batch or events the receiver
/// must already have (named by agent and sequence number). Every event is one
/// operation: part of a text operation run, or one register/map/list/set operation.
struct EventBatch: Sendable, Equatable {
    /// An event: earlier in the batch, or one the receiver must already have.
    enum EventRef: Sendable, Hashable {
        case inBatch(Int)
        case external(agent: Int32, seq: Int)
    }

    struct Run: Sendable, Equatable {
        var agent: Int32
        var seqStart: Int
        var count: Int
        var batchStart: Int
        var parentsStart: Int32
        var parentsCount: Int32
    }

    /// A container the batch's operations touch, or the parent of one.
    struct ContainerEntry: Sendable, Hashable {
        enum Path: Sendable, Hashable {
            case root(String)
            /// `parent` is an earlier entry of the table.
            case mapEntry(parent: Int, key: String)
            case listItem(parent: Int, item: EventRef)
        }
        var kind: ContainerKind
        var path: Path
    }

    /// A run of text operations of container `container`.
    struct Operation: Sendable, Equatable {
        var container: Int32
        var batchStart: Int
        var count: Int
        var position: Int
        var kind: TextOperation.Kind
        var isForward: Bool
        var contentStart: Int
        var contentByteCount: Int
    }

    /// A register, map, list or set operation, with list slots and items as events
    /// (nil: the start or end of the list).
    struct ValueRecord: Sendable, Equatable {
        enum Payload: Sendable, Equatable {
            case set(Value)
            case setKey(String, Value)
            case removeKey(String)
            case insert(Value, left: EventRef?, right: EventRef?)
            case remove(item: EventRef)
            case move(item: EventRef, left: EventRef?, right: EventRef?)
            case add(Value)
            case discard(Value)
        }
        var container: Int32
        var batchOffset: Int
        var payload: Payload
    }

    var agents: [AgentID] = []
    var containers: [ContainerEntry] = []
    var runs: [Run] = []
    var parents: [EventRef] = []
    var operations: [Operation] = []
    var values: [ValueRecord] = []
    /// The UTF-8 content of every text insert, in operation order.
    var content: [UInt8] = []
    var eventCount = 0

    func parents(of run: Run) -> ArraySlice<EventRef> {
        parents[Int(run.parentsStart)..<Int(run.parentsStart + run.parentsCount)]
    }

    init() {}

    /// The events `ranges` (sorted, disjoint) of `log`, in the order
    /// ``CausalGraph/chainOrder(of:)`` gives them: one agent's consecutive runs become
    /// one run, and its consecutive insertions one operation.
    init(log: OperationLog, ranges: [LVRange]) {
        var builder = EventBatchBuilder(log: log, ranges: ranges)
        self = builder.build()
    }
}

/// Cuts events out of a log into an ``EventBatch``.
private struct EventBatchBuilder {
    let log: OperationLog
    let ranges: [LVRange]
    var batch = EventBatch()
    var rangeOffsets: [Int] = []
    var batchAgent: [Int32]
    var batchContainer: [Int32]

    /// `ranges` sorted by start, with where each begins in the batch.
    var sortedRanges: [(range: LVRange, offset: Int)] = []

    init(log: OperationLog, ranges: [LVRange]) {
        self.log = log
        self.ranges = log.graph.chainOrder(of: ranges)
        batchAgent = [Int32](repeating: -1, count: log.agents.agents.count)
        batchContainer = [Int32](repeating: -1, count: log.containerIDs.count)
    }

    func batchOffset(of lv: LV) -> Int? {
        var low = 0
        var high = sortedRanges.count - 1
        while low <= high {
            let mid = (low + high) >> 1
            let (range, offset) = sortedRanges[mid]
            if range.end <= lv { low = mid + 1 } else if range.start > lv { high = mid - 1 } else {
                return offset + (lv - range.start)
            }
        }
        return nil
    }

    mutating func agentIndex(_ local: Int32) -> Int32 {
        if batchAgent[Int(local)] < 0 {
            batchAgent[Int(local)] = Int32(batch.agents.count)
            batch.agents.append(log.agents.agents[Int(local)])
        }
        return batchAgent[Int(local)]
    }

    mutating func agentIndex(_ agent: AgentID) -> Int32 {
        if let local = log.agents.existingIndex(of: agent) { return agentIndex(local) }
        // An agent known only as the author of a list item in a container's id.
        if let existing = batch.agents.firstIndex(of: agent) { return Int32(existing) }
        batch.agents.append(agent)
        return Int32(batch.agents.count - 1)
    }

    mutating func reference(_ lv: LV) -> EventBatch.EventRef {
        if let offset = batchOffset(of: lv) { return .inBatch(offset) }
        let (agent, seq) = log.agents.agentAndSeq(of: lv)
        return .external(agent: agentIndex(agent), seq: seq)
    }

    mutating func reference(_ event: EventID) -> EventBatch.EventRef {
        if let lv = log.agents.lv(of: event) { return reference(lv) }
        return .external(agent: agentIndex(event.agent), seq: event.seq)
    }

    /// The batch's entry for container `id`, adding it (after its parents) if needed.
    mutating func containerIndex(_ id: ContainerID) -> Int32 {
        if let local = log.containerIndex(of: id), batchContainer[local] >= 0 { return batchContainer[local] }
        let path: EventBatch.ContainerEntry.Path
        switch id.path {
        case let .root(name):
            path = .root(name)
        case let .mapEntry(parent, key):
            path = .mapEntry(parent: Int(containerIndex(parent)), key: key)
        case let .listItem(parent, item):
            let parentIndex = Int(containerIndex(parent))
            path = .listItem(parent: parentIndex, item: reference(item))
        }
        let index = Int32(batch.containers.count)
        batch.containers.append(EventBatch.ContainerEntry(kind: id.kind, path: path))
        if let local = log.containerIndex(of: id) { batchContainer[local] = index }
        return index
    }

    mutating func build() -> EventBatch {
        for range in ranges {
            rangeOffsets.append(batch.eventCount)
            sortedRanges.append((range, batch.eventCount))
            batch.eventCount += range.count
        }
        sortedRanges.sort { $0.range.start < $1.range.start }
        buildRuns()
        buildTextOperations()
        buildValueOperations()
        return batch
    }

    /// Runs: cut at graph entry and agent run boundaries.
    private mutating func buildRuns() {
        let graph = log.graph
        let assignment = log.agents
        for (rangeIndex, range) in ranges.enumerated() {
            var lv = range.start
            var entryIndex = graph.entryIndex(containing: lv)
            var agentRunIndex = assignment.runIndex(containing: lv)
            while lv < range.end {
                while graph.entries[entryIndex].end <= lv { entryIndex += 1 }
                while assignment.runEnd(agentRunIndex) <= lv { agentRunIndex += 1 }
                let entry = graph.entries[entryIndex]
                let agentRun = assignment.runs[agentRunIndex]
                let end = min(range.end, entry.end, assignment.runEnd(agentRunIndex))
                let parentsStart = Int32(batch.parents.count)
                let localParents: ArraySlice<LV> = lv == entry.start ? graph.parents(ofEntry: entryIndex) : [lv - 1]
                let batchStart = rangeOffsets[rangeIndex] + (lv - range.start)
                let agent = agentIndex(agentRun.agent)
                let seqStart = agentRun.seqStart + (lv - agentRun.lvStart)
                if let last = batch.runs.last, last.agent == agent, last.seqStart + last.count == seqStart,
                   last.batchStart + last.count == batchStart, localParents.count == 1,
                   batchOffset(of: localParents[localParents.startIndex]) == batchStart - 1 {
                    // The same agent typing on after the event before it in the batch.
                    batch.runs[batch.runs.count - 1].count += end - lv
                    lv = end
                    continue
                }
                if localParents.count == 1 {
                    batch.parents.append(reference(localParents[localParents.startIndex]))
                } else {
                    // In batch order (then by agent and seq), not by local LV, so
                    // that a batch does not depend on how its sender numbers events.
                    var references = localParents.map { reference($0) }
                    references.sort { lhs, rhs in
                        switch (lhs, rhs) {
                        case let (.inBatch(a), .inBatch(b)): return a < b
                        case (.inBatch, .external): return true
                        case (.external, .inBatch): return false
                        case let (.external(agentA, seqA), .external(agentB, seqB)):
                            return (batch.agents[Int(agentA)], seqA) < (batch.agents[Int(agentB)], seqB)
                        }
                    }
                    batch.parents.append(contentsOf: references)
                }
                batch.runs.append(EventBatch.Run(
                    agent: agent, seqStart: seqStart, count: end - lv, batchStart: batchStart,
                    parentsStart: parentsStart, parentsCount: Int32(batch.parents.count) - parentsStart))
                lv = end
            }
        }
    }

    /// Text operation runs of every text, in batch order, with their content.
    private mutating func buildTextOperations() {
        // (operation, the history its content is in, where)
        var collected: [(operation: EventBatch.Operation, history: Int, contentStart: Int)] = []
        for (index, history) in log.textHistories.enumerated() where !history.operations.isEmpty {
            for (rangeIndex, range) in ranges.enumerated() {
                history.forEachOperation(in: range) { operation in
                    let container = containerIndex(log.containerIDs[index])
                    let bytes = operation.kind == .insert ? operation.contentByteCount : 0
                    collected.append((EventBatch.Operation(
                        container: container, batchStart: rangeOffsets[rangeIndex] + (operation.lvStart - range.start),
                        count: operation.count, position: operation.position, kind: operation.kind,
                        isForward: operation.isForward, contentStart: 0, contentByteCount: bytes),
                        index, operation.contentStart))
                }
            }
        }
        collected.sort { $0.operation.batchStart < $1.operation.batchStart }
        for (var operation, history, contentStart) in collected {
            operation.contentStart = batch.content.count
            let bytes = operation.contentByteCount
            batch.content.append(contentsOf: log.textHistories[history].content[contentStart..<contentStart + bytes])
            // Runs made by consecutive events join as a receiver's history joins them
            // (``TextHistory/append(_:utf8:)``): one operation where the receiver
            // will keep one.
            if let last = batch.operations.last, last.kind == operation.kind, last.container == operation.container,
               last.batchStart + last.count == operation.batchStart {
                let index = batch.operations.count - 1
                if operation.kind == .insert, last.position + last.count == operation.position {
                    batch.operations[index].count += operation.count
                    batch.operations[index].contentByteCount += bytes
                    continue
                }
                if operation.kind == .delete, let joined = TextOperation.joinedDelete(
                    last: (last.position, last.count, last.isForward),
                    next: (operation.position, operation.count, operation.isForward)) {
                    batch.operations[index].position = joined.position
                    batch.operations[index].count += operation.count
                    batch.operations[index].isForward = joined.isForward
                    continue
                }
            }
            batch.operations.append(operation)
        }
    }

    /// Register, map, list and set operations, in batch order.
    private mutating func buildValueOperations() {
        var collected: [EventBatch.ValueRecord] = []
        for (index, history) in log.valueHistories.enumerated() where history.count > 0 {
            for (rangeIndex, range) in ranges.enumerated() {
                var position = history.firstIndex(atOrAfter: range.start)
                while position < history.count, history.events[position] < range.end {
                    let lv = history.events[position]
                    let container = containerIndex(log.containerIDs[index])
                    collected.append(EventBatch.ValueRecord(
                        container: container, batchOffset: rangeOffsets[rangeIndex] + (lv - range.start),
                        payload: payload(history.operations[position])))
                    position += 1
                }
            }
        }
        collected.sort { $0.batchOffset < $1.batchOffset }
        batch.values = collected
    }

    private mutating func payload(_ operation: ValueOperation) -> EventBatch.ValueRecord.Payload {
        func slot(_ lv: LV) -> EventBatch.EventRef? { lv == ListState.noSlot ? nil : reference(lv) }
        switch operation {
        case let .set(value): return .set(value)
        case let .setKey(key, value): return .setKey(key, value)
        case let .removeKey(key): return .removeKey(key)
        case let .insert(value, left, right): return .insert(value, left: slot(left), right: slot(right))
        case let .remove(item): return .remove(item: reference(item))
        case let .move(item, left, right): return .move(item: reference(item), left: slot(left), right: slot(right))
        case let .add(value): return .add(value)
        case let .discard(value): return .discard(value)
        }
    }
}

extension EventBatch {
    /// The id of every entry of the container table, in table order (parents first).
    func containerIDs() -> [ContainerID] {
        var ids: [ContainerID] = []
        ids.reserveCapacity(containers.count)
        for entry in containers {
            switch entry.path {
            case let .root(name):
                ids.append(ContainerID(kind: entry.kind, path: .root(name)))
            case let .mapEntry(parent, key):
                ids.append(ContainerID(kind: entry.kind, path: .mapEntry(parent: ids[parent], key: key)))
            case let .listItem(parent, item):
                ids.append(ContainerID(kind: entry.kind, path: .listItem(parent: ids[parent], item: eventID(item))))
            }
        }
        return ids
    }

    /// The agent and sequence number of an event reference.
    func eventID(_ reference: EventRef) -> EventID {
        switch reference {
        case let .inBatch(offset):
            let run = runs[runIndex(containing: offset, before: runs.count)]
            return EventID(agent: agents[Int(run.agent)], seq: run.seqStart + (offset - run.batchStart))
        case let .external(agent, seq):
            return EventID(agent: agents[Int(agent)], seq: seq)
        }
    }
}
