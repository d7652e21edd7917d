/// Trimming: dropping the decoded history before a critical cut, for replicas that
/// only merge (the server's check that a pushed batch applies) and must not grow with
/// the length of a document's history.
///
/// A cut `P` is *critical* when every event before it is an ancestor of every event
/// from it on. Then a merge of events that descend from the cut never needs what came
/// before: Eg-walker replays only from the common version of the two sides, which is
/// at or after the cut, and texts stand for everything before it. The trimmed log
/// keeps:
/// - a *prefix chain* of `R` events standing for the `P` dropped ones: the events the
///   register/map/list/set states still name (their agents, sequence numbers and
///   Lamport timestamps are still needed to order and check writes), then the cut's
///   frontier, the event with the largest timestamp last. Every later event descends
///   from the chain's last event. Ancestry *among* prefix events is not real and is
///   never asked: operations only compare a new event with older ones;
/// - every event from the cut on, renumbered by `R - P`, with its operations.
///
/// What a trimmed log cannot do, it refuses with ``CRDTError/Code/historyTrimmed``:
/// events whose parents lie before the cut other than exactly at its frontier (an
/// offline branch that started earlier), references to dropped list items, and
/// anything that needs the whole history (encoding, reading old versions). A replica
/// that gets this error is rebuilt from the full history.
extension OperationLog {
    /// How many leading events stand for a trimmed history (0: nothing was trimmed).
    var trimmedPrefixCount: Int { graph.prefixLamports.count }

    /// The latest critical cut in `(trimmedPrefixCount, limit]` and the frontier of the
    /// events before it, trying at most `attempts` cuts (the limit, then graph entry
    /// starts below it). O(attempts · entries after the cut).
    func latestCriticalCut(atOrBefore limit: LV, attempts: Int) -> (cut: LV, frontier: [LV])? {
        guard limit > max(trimmedPrefixCount, 0), limit <= eventCount else { return nil }
        var candidates: [LV] = [limit]
        var index = graph.entryIndex(containing: limit - 1)
        while candidates.count < attempts, index > 0 {
            let start = graph.entries[index].start
            if start < limit, start > trimmedPrefixCount { candidates.append(start) }
            if start <= trimmedPrefixCount { break }
            index -= 1
        }
        for cut in candidates {
            if let frontier = frontierIfCritical(cut) { return (cut, frontier) }
        }
        return nil
    }

    /// The frontier of the events before `cut` if the cut is critical, else nil.
    private func frontierIfCritical(_ cut: LV) -> [LV]? {
        // Every event from the cut on with a parent before it must have exactly the
        // same parents, all before it.
        var crossing: [LV]?
        func check(_ parents: some Collection<LV>) -> Bool {
            guard let first = parents.min() else { return false }  // a root after the cut
            if first >= cut { return true }
            guard parents.allSatisfy({ $0 < cut }) else { return false }
            let sorted = parents.sorted()
            if let crossing { return crossing == sorted }
            crossing = sorted
            return true
        }
        if cut < eventCount {
            var index = graph.entryIndex(containing: cut)
            let entry = graph.entries[index]
            if entry.start < cut {
                guard check(CollectionOfOne(cut - 1)) else { return nil }
                index += 1
            }
            while index < graph.entries.count {
                guard check(graph.parents(ofEntry: index)) else { return nil }
                index += 1
            }
        }
        let frontier = crossing ?? graph.heads
        // ...and those parents must have every event before the cut in their past.
        let past = graph.diff(frontier, [LV]()).onlyA.reduce(0) { $0 + $1.count }
        return past == cut ? frontier : nil
    }

    /// This log with the events before `cut` (a critical cut with frontier `frontier`)
    /// dropped, except `referenced` ones; and the map from old LVs to new ones (defined
    /// for kept and referenced events). See the extension's documentation.
    func trimmed(keepingFrom cut: LV, frontier: [LV], referenced: Set<LV>) -> (log: OperationLog, newLV: (LV) -> LV) {
        let frontierSet = Set(frontier)
        var retained = referenced.filter { $0 < cut && !frontierSet.contains($0) }.sorted()
        retained += frontier.sorted { (graph.lamport(of: $0), $0) < (graph.lamport(of: $1), $1) }
        var renumbered: [LV: LV] = [:]
        renumbered.reserveCapacity(retained.count)
        for (index, lv) in retained.enumerated() { renumbered[lv] = index }
        let shift = retained.count - cut
        let newLV: (LV) -> LV = { lv in lv >= cut ? lv + shift : (lv < 0 ? lv : renumbered[lv] ?? -1) }

        var log = OperationLog()
        log.rollbackGeneration = rollbackGeneration + 1
        for id in containerIDs { _ = log.containerIndex(registering: id) }

        // Agents: the same indices; the prefix chain's events, then every kept event.
        for agent in agents.agents { _ = log.agents.index(of: agent) }
        for (index, runs) in agents.byAgent.enumerated() {
            var known = agents.trimmedNextSeq[index]
            for run in runs where run.lvStart < cut {
                known = max(known, run.seqStart + min(run.count, cut - run.lvStart))
            }
            log.agents.setTrimmedNextSeq(known, ofAgent: Int32(index))
        }
        for lv in retained {
            let (agent, seq) = agents.agentAndSeq(of: lv)
            log.agents.appendRetained(agent: agent, seq: seq)
        }
        var lv = cut
        while lv < eventCount {
            let runIndex = agents.runIndex(containing: lv)
            let run = agents.runs[runIndex]
            let end = agents.runEnd(runIndex)
            for event in lv..<end { log.agents.appendRetained(agent: run.agent, seq: run.seqStart + (event - run.lvStart)) }
            lv = end
        }

        // Graph: the chain, then every kept entry (their timestamps come out the same:
        // the chain's last event has the largest timestamp of the frontier).
        log.graph = CausalGraph(trimmedPrefixLamports: retained.map { graph.lamport(of: $0) })
        if cut < eventCount {
            var index = graph.entryIndex(containing: cut)
            var mapped: [LV] = []
            while index < graph.entries.count {
                let entry = graph.entries[index]
                let start = max(entry.start, cut)
                mapped.removeAll(keepingCapacity: true)
                if start == entry.start {
                    for parent in graph.parents(ofEntry: index) where parent >= cut { mapped.append(parent + shift) }
                    if mapped.isEmpty { mapped.append(retained.count - 1) }
                } else {
                    mapped.append(retained.count - 1)  // continues the frontier's only event
                }
                log.graph.append(count: entry.end - start, parents: mapped)
                index += 1
            }
        }
        log.trimmedFrontierCount = frontier.count

        // Operations of kept events.
        for index in textHistories.indices {
            let history = textHistories[index]
            history.content.withUnsafeBufferPointer { content in
                history.forEachOperation(in: LVRange(cut, eventCount)) { operation in
                    var moved = operation
                    moved.lvStart += shift
                    log.textHistories[index].append(moved, utf8: UnsafeBufferPointer(
                        rebasing: content[operation.contentStart..<operation.contentStart + operation.contentByteCount]))
                }
            }
        }
        for index in valueHistories.indices {
            let history = valueHistories[index]
            for position in history.firstIndex(atOrAfter: cut)..<history.count {
                log.valueHistories[index].append(history.operations[position].renumbered(newLV), at: history.events[position] + shift)
            }
        }
        return (log, newLV)
    }

    /// Resolves the parents of a new event in a trimmed log (`parents` sorted, unique,
    /// at least one below ``trimmedPrefixCount``): exactly the cut's frontier stands
    /// for the whole trimmed history; anything else needs the history that was dropped.
    func parentsInTrimmedLog(_ parents: [LV]) throws(CRDTError) -> [LV] {
        let frontierStart = trimmedPrefixCount - trimmedFrontierCount
        guard parents.count == trimmedFrontierCount,
              parents.enumerated().allSatisfy({ $0.element == frontierStart + $0.offset })
        else {
            throw CRDTError(.historyTrimmed, "events start from a version older than the history this replica keeps")
        }
        return [trimmedPrefixCount - 1]
    }
}

extension ValueOperation {
    /// This operation with its list references renumbered by `newLV`.
    func renumbered(_ newLV: (LV) -> LV) -> ValueOperation {
        switch self {
        case let .insert(value, left, right): .insert(value, left: newLV(left), right: newLV(right))
        case let .remove(item): .remove(item: newLV(item))
        case let .move(item, left, right): .move(item: newLV(item), left: newLV(left), right: newLV(right))
        case .set, .setKey, .removeKey, .add, .discard: self
        }
    }
}
