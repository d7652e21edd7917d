extension Document {
    /// Appends `edits` made by `agent` on the version `parents` (local versions of
    /// earlier events) to the history *without* updating the texts, and returns the
    /// local versions of the new events. Call ``mergePendingEvents(since:)`` when done.
    ///
    /// This is how a whole recorded multi-author history is imported (trace replay,
    /// benchmarks): Eg-walker stores each edit as made on its own version, so
    /// building branches costs no transformation at all; the texts catch up in one
    /// merge at the end. Positions are validated by that merge.
    package mutating func appendEdits(
        _ edits: [TextEdit], in id: ContainerID, by agent: AgentID, parents: [Int]
    ) -> Range<Int> {
        precondition(lazy == nil, "decode the history before appending to it")
        let agentIndex = log.agents.index(of: agent)
        let index = log.textIndex(registering: id)
        var currentParents = log.graph.frontier(reducing: parents)
        let start = log.eventCount
        for edit in edits {
            switch edit {
            case let .insert(position, text):
                var text = text
                text.withUTF8 { utf8 in
                    let scalars = UTF8Scalars.count(utf8)
                    guard scalars > 0 else { return }
                    let (lv, _) = log.agents.append(agent: agentIndex, count: scalars)
                    let range = log.graph.append(count: scalars, parents: currentParents)
                    log.textHistories[index].appendInsert(lv: lv, position: position, utf8: utf8, scalars: scalars)
                    currentParents = [range.end - 1]
                }
            case let .delete(position, count):
                guard count > 0 else { continue }
                let (lv, _) = log.agents.append(agent: agentIndex, count: count)
                let range = log.graph.append(count: count, parents: currentParents)
                log.textHistories[index].appendDelete(lv: lv, position: position, count: count)
                currentParents = [range.end - 1]
            }
        }
        return start..<log.eventCount
    }

    /// The current heads as local versions (see ``appendEdits(_:in:by:parents:)``).
    package var localHeads: [Int] { log.graph.heads }

    /// Brings every text up to date with events appended since the texts were at
    /// `oldHeads`. On an invalid event the appended events are *not* rolled back;
    /// this is for trusted, recorded histories.
    package mutating func mergePendingEvents(since oldHeads: [Int]) throws(CRDTError) {
        syncRopesWithTexts()
        try mergeAppendedEvents(since: oldHeads, rollingBackTo: log.checkpoint())
    }
}
