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
    /// Every write of the batch with the events that make it, in batch order: what a
    /// server needs to decide, per event it does not have yet, whether its author may
    /// make that write (``Write``). A text operation run is one write per agent run it
    /// spans; every other operation is one event and one write.
    public let writes: [Write]
    /// The digest of every event (``EventDigests``): what tells the same event from a
    /// different one with the same id.
    public let digests: EventDigests

    /// One operation of the batch: who made it (``author`` and ``seqs``) and what it
    /// changes.
    public struct Write: Sendable, Hashable {
        public let author: AgentID
        /// The author's events that make this write (one, except for text runs).
        public let seqs: Range<Int>
        public let container: ContainerID
        public let kind: OperationKind
        /// The key of a map write (`mapSet`, `mapRemove`).
        public let key: String?
        /// The list item a `listRemove` or `listMove` acts on.
        public let item: EventID?
    }

    /// The UTF-8 size of the largest string value the batch writes (register, map,
    /// list or set), 0 if none: what a server bounds so that a small batch cannot
    /// make every replica hold megabytes per value.
    public let largestStringValue: Int
    /// The batch body's size once inflated: what every replica decodes.
    public let bodyBytes: Int

    /// Reads the summary of an encoded change batch; throws a ``CRDTError`` if the
    /// bytes are not a well-formed batch. O(size of the batch).
    ///
    /// `maxBodyBytes` bounds the inflated body, checked against its declared size
    /// before anything is inflated (a compressed body that claims more is refused
    /// with `limitExceeded` without allocating it): a server passes its limit, so a
    /// small push cannot make it allocate gigabytes.
    public init(encodedChanges bytes: [UInt8], maxBodyBytes: Int = .max) throws(CRDTError) {
        let (batch, bodyBytes) = try Document.decodeChanges(bytes, maxBodyBytes: maxBodyBytes)
        self.init(batch, bodyBytes: bodyBytes)
    }

    init(_ batch: EventBatch, bodyBytes: Int) {
        self.bodyBytes = bodyBytes
        var largest = 0
        for record in batch.values {
            switch record.payload {
            case let .set(value), let .setKey(_, value), let .insert(value, _, _), let .add(value), let .discard(value):
                if case let .string(string) = value { largest = max(largest, string.utf8.count) }
            case .removeKey, .remove, .move: break
            }
        }
        largestStringValue = largest
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
        writes = Self.writes(of: batch, containers: ids)
        digests = EventDigests(batch)
    }

    private static func writes(of batch: EventBatch, containers ids: [ContainerID]) -> [Write] {
        var writes: [Write] = []
        writes.reserveCapacity(batch.operations.count + batch.values.count)
        for operation in batch.operations {
            let kind: OperationKind = operation.kind == .insert ? .textInsert : .textDelete
            // An operation run may span several agent runs: one write per piece.
            var offset = operation.batchStart
            let end = operation.batchStart + operation.count
            while offset < end {
                let run = batch.runs[batch.runIndex(containing: offset, before: batch.runs.count)]
                let pieceEnd = min(end, run.batchStart + run.count)
                let seqStart = run.seqStart + (offset - run.batchStart)
                writes.append(Write(author: batch.agents[Int(run.agent)], seqs: seqStart..<(seqStart + pieceEnd - offset),
                                    container: ids[Int(operation.container)], kind: kind, key: nil, item: nil))
                offset = pieceEnd
            }
        }
        for record in batch.values {
            let event = batch.eventID(.inBatch(record.batchOffset))
            let (kind, key, item): (OperationKind, String?, EventID?) = switch record.payload {
            case .set: (.registerSet, nil, nil)
            case let .setKey(key, _): (.mapSet, key, nil)
            case let .removeKey(key): (.mapRemove, key, nil)
            case .insert: (.listInsert, nil, nil)
            case let .remove(item): (.listRemove, nil, batch.eventID(item))
            case let .move(item, _, _): (.listMove, nil, batch.eventID(item))
            case .add: (.setAdd, nil, nil)
            case .discard: (.setDiscard, nil, nil)
            }
            writes.append(Write(author: event.agent, seqs: event.seq..<(event.seq + 1), container: ids[Int(record.container)],
                                kind: kind, key: key, item: item))
        }
        return writes
    }

    /// Whether `event` is one of the batch's own events. O(runs).
    public func contains(_ event: EventID) -> Bool {
        runs.contains { $0.agent == event.agent && $0.seqs.contains(event.seq) }
    }
}
