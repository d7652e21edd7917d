/// What an encoded change batch contains, read without applying it: who made which
/// events, what they depend on and which containers they touch.
///
/// A sync server uses it to check a pushed batch before storing it — that its
/// authors belong to the pushing organisation, that its dependencies are already
/// stored, that it writes only where the pusher may write — without keeping a
/// ``Document`` per proposal in memory.
///
/// Reading a summary validates the batch exactly as ``Document/merge(encodedChanges:)``
/// decodes it (envelope, checksum, limits, structure), so bytes that summarise also
/// decode on every client; whether text positions exist is only known to a merge.
public struct ChangeSummary: Sendable, Equatable {
    /// Consecutive events of one agent.
    public struct AgentRun: Sendable, Hashable {
        public let agent: AgentID
        public let seqs: Range<Int>
    }

    /// The kinds of operation an event can carry.
    public enum OperationKind: String, Sendable, Hashable, CaseIterable {
        case textInsert, textDelete
        case registerSet, mapSet, mapRemove
        case listInsert, listRemove, listMove
        case setAdd, setDiscard
    }

    /// The batch's events as runs, in batch (topological) order.
    public let runs: [AgentRun]
    /// Events outside the batch that its runs name as parents: the receiver must
    /// already have them. Sorted, without duplicates.
    public let dependencies: [EventID]
    /// Every container an operation of the batch acts on, with the kinds of
    /// operation applied to it.
    public let operations: [ContainerID: Set<OperationKind>]
    /// The number of events.
    public let eventCount: Int

    /// Reads the summary of an encoded change batch; throws a ``CRDTError`` if the
    /// bytes are not a well-formed batch. O(size of the batch).
    public init(encodedChanges bytes: [UInt8]) throws(CRDTError) {
        self.init(try Document.decodeChanges(bytes))
    }

    init(_ batch: EventBatch) {
        runs = batch.runs.map {
            AgentRun(agent: batch.agents[Int($0.agent)], seqs: $0.seqStart..<($0.seqStart + $0.count))
        }
        var dependencies = Set<EventID>()
        for parent in batch.parents {
            if case .external = parent { dependencies.insert(batch.eventID(parent)) }
        }
        self.dependencies = dependencies.sorted()
        let ids = batch.containerIDs()
        var operations: [ContainerID: Set<OperationKind>] = [:]
        for operation in batch.operations {
            let kind: OperationKind = operation.kind == .insert ? .textInsert : .textDelete
            operations[ids[Int(operation.container)], default: []].insert(kind)
        }
        for record in batch.values {
            let kind: OperationKind = switch record.payload {
            case .set: .registerSet
            case .setKey: .mapSet
            case .removeKey: .mapRemove
            case .insert: .listInsert
            case .remove: .listRemove
            case .move: .listMove
            case .add: .setAdd
            case .discard: .setDiscard
            }
            operations[ids[Int(record.container)], default: []].insert(kind)
        }
        self.operations = operations
        eventCount = batch.eventCount
    }

    /// Whether `event` is one of the batch's own events. O(runs).
    public func contains(_ event: EventID) -> Bool {
        runs.contains { $0.agent == event.agent && $0.seqs.contains(event.seq) }
    }
}
