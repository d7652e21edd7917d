/// Which agent made each event: a run-length encoded, two-way map between local
/// versions and ``EventID``s.
///
/// - `runs` maps LV runs to `(agent, seq)` runs, sorted by LV, contiguous from 0.
/// - `byAgent[agent]` maps each agent's sequence numbers back to LVs, sorted by seq
///   and dense from 0 (an agent's events are accepted only in sequence order).
///
/// Both directions are O(log runs).
///
/// In a trimmed log (``OperationLog/trimmed(keepingFrom:retaining:)``) an agent's
/// runs are no longer dense: only the events the log still refers to are kept, and
/// `trimmedNextSeq` remembers how many of the agent's events the dropped part held, so
/// that those still count as known (duplicates) without being resolvable.
struct AgentAssignment: Sendable {
    struct Run: Sendable, Equatable {
        var lvStart: LV
        var agent: Int32
        var seqStart: Int
    }

    struct SeqRun: Sendable, Equatable {
        var seqStart: Int
        var lvStart: LV
        var count: Int
    }

    private(set) var agents: [AgentID] = []
    private var agentIndexByID: [AgentID: Int32] = [:]
    private(set) var runs: [Run] = []
    /// The LV one past the last assigned event.
    private(set) var count: Int = 0
    private(set) var byAgent: [[SeqRun]] = []
    /// Per agent: how many of its events were known when the log was trimmed (0 for an
    /// untrimmed log and for agents that appeared later).
    private(set) var trimmedNextSeq: [Int] = []

    /// The index of `agent`, registering it if it is new.
    mutating func index(of agent: AgentID) -> Int32 {
        if let index = agentIndexByID[agent] { return index }
        let index = Int32(agents.count)
        agents.append(agent)
        agentIndexByID[agent] = index
        byAgent.append([])
        trimmedNextSeq.append(0)
        return index
    }

    /// The index of `agent` if it has been registered.
    func existingIndex(of agent: AgentID) -> Int32? { agentIndexByID[agent] }

    /// How many of `agent`'s events are known (its next sequence number).
    func nextSeq(ofAgent agent: Int32) -> Int {
        guard let last = byAgent[Int(agent)].last else { return trimmedNextSeq[Int(agent)] }
        return max(last.seqStart + last.count, trimmedNextSeq[Int(agent)])
    }

    /// Whether `seq` of `agent` is known but was dropped when the log was trimmed.
    func isTrimmed(agent: Int32, seq: Int) -> Bool {
        seq >= 0 && seq < trimmedNextSeq[Int(agent)] && lv(ofAgent: agent, seq: seq) == nil
    }

    /// Assigns the next `eventCount` LVs to `agent`, continuing its sequence numbers.
    @discardableResult
    mutating func append(agent: Int32, count eventCount: Int) -> (lvStart: LV, seqStart: Int) {
        let lvStart = count
        let seqStart = nextSeq(ofAgent: agent)
        if let last = runs.last, last.agent == agent, last.seqStart + (lvStart - last.lvStart) == seqStart {
            // Continues the previous run: nothing to add to `runs`.
        } else {
            runs.append(Run(lvStart: lvStart, agent: agent, seqStart: seqStart))
        }
        let agentIndex = Int(agent)
        let lastIndex = byAgent[agentIndex].count - 1
        if lastIndex >= 0, byAgent[agentIndex][lastIndex].lvStart + byAgent[agentIndex][lastIndex].count == lvStart {
            byAgent[agentIndex][lastIndex].count += eventCount  // modified in place
        } else {
            byAgent[agentIndex].append(SeqRun(seqStart: seqStart, lvStart: lvStart, count: eventCount))
        }
        count += eventCount
        return (lvStart, seqStart)
    }

    /// The index in `runs` of the run containing `lv`.
    func runIndex(containing lv: LV) -> Int {
        var low = 0
        var high = runs.count - 1
        while low < high {
            let mid = (low + high + 1) >> 1
            if runs[mid].lvStart <= lv { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The LV one past the end of run `index`.
    func runEnd(_ index: Int) -> LV { index + 1 < runs.count ? runs[index + 1].lvStart : count }

    /// The agent index and sequence number of event `lv`.
    func agentAndSeq(of lv: LV) -> (agent: Int32, seq: Int) {
        let run = runs[runIndex(containing: lv)]
        return (run.agent, run.seqStart + (lv - run.lvStart))
    }

    func eventID(of lv: LV) -> EventID {
        let (agent, seq) = agentAndSeq(of: lv)
        return EventID(agent: agents[Int(agent)], seq: seq)
    }

    /// The LV of `seq` of agent `agent`, if known.
    func lv(ofAgent agent: Int32, seq: Int) -> LV? {
        let agentRuns = byAgent[Int(agent)]
        guard seq >= 0, let last = agentRuns.last, seq < last.seqStart + last.count else { return nil }
        var low = 0
        var high = agentRuns.count - 1
        while low < high {
            let mid = (low + high + 1) >> 1
            if agentRuns[mid].seqStart <= seq { low = mid } else { high = mid - 1 }
        }
        let run = agentRuns[low]
        // Runs are dense except in a trimmed log, where `seq` may fall between them.
        guard seq >= run.seqStart, seq < run.seqStart + run.count else { return nil }
        return run.lvStart + (seq - run.seqStart)
    }

    func lv(of event: EventID) -> LV? {
        guard let agent = agentIndexByID[event.agent] else { return nil }
        return lv(ofAgent: agent, seq: event.seq)
    }

    /// The version vector of all assigned events.
    var versionVector: VersionVector {
        var vector = VersionVector()
        for (index, agent) in agents.enumerated() { vector[agent] = nextSeq(ofAgent: Int32(index)) }
        return vector
    }

    /// The LV runs of events not included in `vector`, in ascending LV order.
    /// O(agents + answer · log) — proportional to the answer, not to the history.
    func ranges(notIn vector: VersionVector) -> [LVRange] {
        var missing: [LVRange] = []
        for (index, agent) in agents.enumerated() {
            let known = vector[agent]
            let agentRuns = byAgent[index]
            // First run that ends after `known`.
            var low = 0
            var high = agentRuns.count
            while low < high {
                let mid = (low + high) >> 1
                if agentRuns[mid].seqStart + agentRuns[mid].count <= known { low = mid + 1 } else { high = mid }
            }
            for run in agentRuns[low...] {
                let skip = max(0, known - run.seqStart)
                missing.append(LVRange(run.lvStart + skip, run.lvStart + run.count))
            }
        }
        missing.sort { $0.start < $1.start }
        // Coalesce touching ranges.
        var merged: [LVRange] = []
        merged.reserveCapacity(missing.count)
        for range in missing {
            if let last = merged.last, last.end == range.start { merged[merged.count - 1].end = range.end } else { merged.append(range) }
        }
        return merged
    }

    // MARK: - Trimming

    /// Assigns the next LV to event `seq` of `agent`, which need not continue the
    /// agent's sequence (building a trimmed log; sequence numbers must still increase
    /// per agent).
    mutating func appendRetained(agent: Int32, seq: Int) {
        let lv = count
        if let last = runs.last, last.agent == agent, last.seqStart + (lv - last.lvStart) == seq {
            // Continues the previous run.
        } else {
            runs.append(Run(lvStart: lv, agent: agent, seqStart: seq))
        }
        let agentIndex = Int(agent)
        if let last = byAgent[agentIndex].last, last.lvStart + last.count == lv, last.seqStart + last.count == seq {
            byAgent[agentIndex][byAgent[agentIndex].count - 1].count += 1
        } else {
            byAgent[agentIndex].append(SeqRun(seqStart: seq, lvStart: lv, count: 1))
        }
        count += 1
    }

    /// Records that `agent` had `nextSeq` events before the trim.
    mutating func setTrimmedNextSeq(_ nextSeq: Int, ofAgent agent: Int32) {
        trimmedNextSeq[Int(agent)] = nextSeq
    }

    // MARK: - Rollback

    struct Checkpoint {
        fileprivate let agentCount: Int
        fileprivate let runCount: Int
        fileprivate let count: Int
        fileprivate let agentRunCounts: [Int]
        fileprivate let lastAgentRuns: [SeqRun?]
    }

    func checkpoint() -> Checkpoint {
        Checkpoint(agentCount: agents.count, runCount: runs.count, count: count,
                   agentRunCounts: byAgent.map(\.count), lastAgentRuns: byAgent.map(\.last))
    }

    mutating func rollback(to checkpoint: Checkpoint) {
        for agent in agents[checkpoint.agentCount...] { agentIndexByID[agent] = nil }
        agents.removeSubrange(checkpoint.agentCount...)
        byAgent.removeSubrange(checkpoint.agentCount...)
        trimmedNextSeq.removeSubrange(checkpoint.agentCount...)
        for index in byAgent.indices {
            byAgent[index].removeSubrange(checkpoint.agentRunCounts[index]...)
            if let last = checkpoint.lastAgentRuns[index] { byAgent[index][byAgent[index].count - 1] = last }
        }
        runs.removeSubrange(checkpoint.runCount...)
        count = checkpoint.count
    }
}
