/// Re-issuing events under another agent: how a replica that finds its agent used by
/// someone else (a copy of it, or a restored backup of it) keeps what it wrote
/// without merging two different histories under one name.
extension Document {
    /// This document with `agent`'s events from `seq` on — and every event that builds
    /// on them — made again, in the same order and with the same effect, as events of
    /// `newAgent`; the copy's local edits are then made by `newAgent`. Returns the new
    /// document and how many events it re-issued (0: `agent` has no events from `seq`,
    /// and the document is returned unchanged).
    ///
    /// The re-issued events keep their parents among the events that stay, so merging
    /// them anywhere has the effect the original events had here; other replicas never
    /// saw them (that is the point) and see them as new events.
    ///
    /// Values that name events can follow them: each map write of a re-issued event
    /// in a root map is passed to `rewriteMapEntry` with the root's name, the key, the
    /// value and the renaming (``ReissuedEvents``); what it returns is written instead
    /// (nil: unchanged). A schema that keys a map by event ids uses it.
    ///
    /// Throws ``CRDTError/Code-swift.struct/invalidAgent`` if an event to re-issue is
    /// by an agent `mayReissue` does not accept (another organisation's event that
    /// builds on them: this replica then merged events on top of a history no one
    /// else has), and `historyTrimmed` for a trimmed replica. O(history).
    public func reissuing(eventsOf agent: AgentID, from seq: Int, as newAgent: AgentID,
                          rewriteMapEntry: (_ root: String, _ key: String, _ value: Value, _ events: ReissuedEvents) -> (key: String, value: Value)?
                              = { _, _, _, _ in nil },
                          mayReissue: (AgentID) -> Bool) throws(CRDTError) -> (document: Document, reissued: Int) {
        let log = try historyLog()
        guard log.trimmedPrefixCount == 0 else {
            throw CRDTError(.historyTrimmed, "a trimmed replica cannot re-issue its events")
        }
        guard let agentIndex = log.agents.existingIndex(of: agent), log.agents.nextSeq(ofAgent: agentIndex) > seq else {
            return (self, 0)
        }
        let excluded = Self.eventsBuildingOn(log.agents.byAgent[Int(agentIndex)], from: seq, in: log.graph)
        for range in excluded {
            var lv = range.start
            while lv < range.end {
                let runIndex = log.agents.runIndex(containing: lv)
                let author = log.agents.agents[Int(log.agents.runs[runIndex].agent)]
                guard author == agent || mayReissue(author) else {
                    throw CRDTError(.invalidAgent, "event \(log.agents.eventID(of: lv)) builds on \(agent)'s events from \(seq) "
                                    + "but is by \(author): it cannot be re-issued")
                }
                lv = log.agents.runEnd(runIndex)
            }
        }
        var kept: [LVRange] = []
        var next = 0
        for range in excluded {
            if range.start > next { kept.append(LVRange(next, range.start)) }
            next = range.end
        }
        if next < log.eventCount { kept.append(LVRange(next, log.eventCount)) }

        var document = Document(agent: newAgent)
        _ = try document.merge([EventBatch(log: log, ranges: kept)])
        var batch = EventBatch(log: log, ranges: excluded)
        let newIndex: Int32
        if let existing = batch.agents.firstIndex(of: newAgent) {
            newIndex = Int32(existing)
        } else {
            newIndex = Int32(batch.agents.count)
            batch.agents.append(newAgent)
        }
        // Every event of the batch is re-issued, in batch (causal) order, after the
        // new agent's events that stay. References inside the batch are by offset, so
        // they follow the new names; references to events that stay are unchanged.
        var nextSeq = document.versionVector[newAgent]
        var renamed: [(old: AgentID, seqs: Range<Int>, newStart: Int)] = []
        for index in batch.runs.indices {
            let run = batch.runs[index]
            renamed.append((batch.agents[Int(run.agent)], run.seqStart..<run.seqStart + run.count, nextSeq))
            batch.runs[index].agent = newIndex
            batch.runs[index].seqStart = nextSeq
            nextSeq += run.count
        }
        let events = ReissuedEvents(runs: renamed, newAgent: newAgent, cut: EventID(agent: agent, seq: seq))
        for index in batch.values.indices {
            guard case let .setKey(key, value) = batch.values[index].payload,
                  case let .root(name) = batch.containers[Int(batch.values[index].container)].path,
                  let rewritten = rewriteMapEntry(name, key, value, events) else { continue }
            batch.values[index].payload = .setKey(rewritten.key, rewritten.value)
        }
        // Through the encoding, so the renamed batch is checked like any received one.
        _ = try document.merge([try Self.decodeChanges(Self.encodeChanges(batch))])
        return (document, batch.eventCount)
    }

    /// The events of `agentRuns` (one agent's) from `seq` on and every event that
    /// depends on one of them, as sorted, disjoint LV ranges. O(graph entries after
    /// the first such event · log).
    private static func eventsBuildingOn(_ agentRuns: [AgentAssignment.SeqRun], from seq: Int,
                                         in graph: CausalGraph) -> [LVRange] {
        var seeds: [LVRange] = []
        for run in agentRuns where run.seqStart + run.count > seq {
            let skip = max(0, seq - run.seqStart)
            seeds.append(LVRange(run.lvStart + skip, run.lvStart + run.count))
        }
        seeds.sort { $0.start < $1.start }
        guard let first = seeds.first?.start else { return [] }
        var excluded: [LVRange] = []
        func isExcluded(_ lv: LV) -> Bool {
            var low = 0, high = excluded.count - 1
            while low <= high {
                let mid = (low + high) >> 1
                if excluded[mid].end <= lv { low = mid + 1 } else if excluded[mid].start > lv { high = mid - 1 } else { return true }
            }
            return false
        }
        var seedIndex = 0
        var entryIndex = graph.entryIndex(containing: first)
        while entryIndex < graph.entries.count {
            let entry = graph.entries[entryIndex]
            // An entry is a chain: from its first excluded event on, all of it is.
            var cut: LV?
            if entry.start >= first, graph.parents(ofEntry: entryIndex).contains(where: isExcluded) { cut = entry.start }
            while seedIndex < seeds.count, seeds[seedIndex].end <= entry.start { seedIndex += 1 }
            if seedIndex < seeds.count, seeds[seedIndex].start < entry.end {
                cut = min(cut ?? entry.end, max(seeds[seedIndex].start, entry.start))
            }
            if let cut {
                if let last = excluded.last, last.end == cut { excluded[excluded.count - 1].end = entry.end } else {
                    excluded.append(LVRange(cut, entry.end))
                }
            }
            entryIndex += 1
        }
        return excluded
    }
}

/// How ``Document/reissuing(eventsOf:from:as:rewriteMapEntry:mayReissue:)`` renamed
/// events: what a value naming an old event should name now.
public struct ReissuedEvents: Sendable {
    let runs: [(old: AgentID, seqs: Range<Int>, newStart: Int)]
    public let newAgent: AgentID
    /// The first re-issued event of the agent that was re-issued, by its old id: its
    /// events before it stay as they were.
    public let cut: EventID

    /// The new id of a re-issued event; nil for an event that stays.
    public func newID(of event: EventID) -> EventID? {
        guard let run = runs.first(where: { $0.old == event.agent && $0.seqs.contains(event.seq) }) else { return nil }
        return EventID(agent: newAgent, seq: run.newStart + (event.seq - run.seqs.lowerBound))
    }
}
