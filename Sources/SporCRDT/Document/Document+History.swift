extension Document {
    /// Appends `edits` made by `agent` on the version `parents` (local versions of
    /// earlier events) to the history *without* updating the texts, and returns the
    /// local versions of the new events. Call ``mergePendingEvents(since:)`` when done.
    ///
    /// This is how a whole recorded multi-author history is imported (trace replay,
    /// benchmarks): Eg-walker stores each edit as made on its own version, so
    /// building branches costs no transformation at all; the texts catch up in one
    /// merge at the end. Positions are validated by that merge.
    ///
    /// - Precondition: `parents` name a version as a frontier (no parent is an ancestor
    ///   of another, as in recorded traces and in ``OperationLog/localVersion(of:)``);
    ///   they are sorted and de-duplicated here.
    package mutating func appendEdits(
        _ edits: [TextEdit], in id: ContainerID, by agent: AgentID, parents: [Int]
    ) -> Range<Int> {
        precondition(pending == nil, "decode the history before appending to it")
        let agentIndex = log.agents.index(of: agent)
        let index = containerIndex(registering: id)
        let start = log.eventCount
        let firstParents = parents.count < 2 ? parents : Array(Set(parents)).sorted()
        // After the first edit, each edit's parent is the previous edit's last event.
        var previous: LV? = nil
        for edit in edits {
            switch edit {
            case let .insert(position, text):
                var text = text
                text.withUTF8 { utf8 in
                    let scalars = UTF8Scalars.count(utf8)
                    guard scalars > 0 else { return }
                    let (lv, _) = log.agents.append(agent: agentIndex, count: scalars)
                    if let previous {
                        log.graph.append(count: scalars, parents: CollectionOfOne(previous))
                    } else {
                        log.graph.append(count: scalars, parents: firstParents)
                    }
                    log.textHistories[index].appendInsert(lv: lv, position: position, utf8: utf8, scalars: scalars)
                    previous = lv + scalars - 1
                }
            case let .delete(position, count):
                guard count > 0 else { continue }
                let (lv, _) = log.agents.append(agent: agentIndex, count: count)
                if let previous {
                    log.graph.append(count: count, parents: CollectionOfOne(previous))
                } else {
                    log.graph.append(count: count, parents: firstParents)
                }
                log.textHistories[index].appendDelete(lv: lv, position: position, count: count)
                previous = lv + count - 1
            }
        }
        return start..<log.eventCount
    }

    /// Brings every text up to date with events appended since the texts were at
    /// `oldHeads`. On an invalid event the appended events are *not* rolled back;
    /// this is for trusted, recorded histories.
    package mutating func mergePendingEvents(since oldHeads: [Int]) throws(CRDTError) {
        try mergeAppendedEvents(since: oldHeads, firstNew: 0, rollingBackTo: log.checkpoint())
    }
}

/// A run of consecutive events by one agent, as a replica stores them.
public struct EventRun: Hashable, Sendable {
    public let agent: AgentID
    public let seqs: Range<Int>

    /// The run's last event: as a version, everything up to and including this run.
    public var last: EventID { EventID(agent: agent, seq: seqs.upperBound - 1) }
}

extension Document {
    /// Who made which events, in the order this replica stores them — a causal
    /// order: every run comes after the events it builds on. Replicas with the same
    /// events may list concurrent runs in a different order.
    ///
    /// Complexity: O(runs).
    public func eventRuns() throws(CRDTError) -> [EventRun] {
        let assignment = try historyLog().agents
        var result: [EventRun] = []
        result.reserveCapacity(assignment.runs.count)
        for index in assignment.runs.indices {
            let run = assignment.runs[index]
            let count = assignment.runEnd(index) - run.lvStart
            let agent = assignment.agents[Int(run.agent)]
            if let previous = result.last, previous.agent == agent, previous.seqs.upperBound == run.seqStart {
                result[result.count - 1] = EventRun(agent: agent, seqs: previous.seqs.lowerBound..<run.seqStart + count)
            } else {
                result.append(EventRun(agent: agent, seqs: run.seqStart..<run.seqStart + count))
            }
        }
        return result
    }
}

extension Document {
    /// The version `event` was made on (its parents): the document as its author
    /// saw it just before. `Version.empty` for a first event. Throws
    /// `unknownItem` if this replica does not have `event`.
    ///
    /// Complexity: O(log runs) to find the event, O(parents) for the answer.
    public func version(before event: EventID) throws(CRDTError) -> Version {
        let log = try historyLog()
        guard let lv = log.agents.lv(of: event) else {
            throw CRDTError(.unknownItem, "this replica does not have the event \(event)")
        }
        return log.version(of: log.graph.parents(of: lv))
    }
}
