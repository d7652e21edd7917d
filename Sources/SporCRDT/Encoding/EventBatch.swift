/// Events cut out of one replica's history to travel to another: the unit of sync,
/// and the history section of a document file.
///
/// Events are numbered by their *batch offset* (0..<eventCount) in the sender's
/// order, which is topological. A run is a chain of one agent's events; its first
/// event's parents are either earlier events of the batch or events the receiver
/// must already have (named by agent and sequence number).
struct EventBatch: Sendable, Equatable {
    enum ParentRef: Sendable, Equatable {
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

    struct Operation: Sendable, Equatable {
        var text: Int32
        var batchStart: Int
        var count: Int
        var position: Int
        var kind: TextOperation.Kind
        var isForward: Bool
        var contentStart: Int
        var contentByteCount: Int
    }

    var agents: [AgentID] = []
    var texts: [ContainerID] = []
    var runs: [Run] = []
    var parents: [ParentRef] = []
    var operations: [Operation] = []
    /// The UTF-8 content of every insert, in operation order.
    var content: [UInt8] = []
    var eventCount = 0

    func parents(of run: Run) -> ArraySlice<ParentRef> {
        parents[Int(run.parentsStart)..<Int(run.parentsStart + run.parentsCount)]
    }

    init() {}

    /// The events `ranges` (sorted, disjoint) of `log`.
    init(log: OperationLog, ranges: [LVRange]) {
        let graph = log.graph
        let assignment = log.agents
        var rangeOffsets: [Int] = []
        rangeOffsets.reserveCapacity(ranges.count)
        for range in ranges {
            rangeOffsets.append(eventCount)
            eventCount += range.count
        }
        func batchOffset(of lv: LV) -> Int? {
            var low = 0
            var high = ranges.count - 1
            while low <= high {
                let mid = (low + high) >> 1
                if ranges[mid].end <= lv { low = mid + 1 } else if ranges[mid].start > lv { high = mid - 1 } else {
                    return rangeOffsets[mid] + (lv - ranges[mid].start)
                }
            }
            return nil
        }
        var batchAgent = [Int32](repeating: -1, count: assignment.agents.count)
        func agentIndex(_ local: Int32) -> Int32 {
            if batchAgent[Int(local)] < 0 {
                batchAgent[Int(local)] = Int32(agents.count)
                agents.append(assignment.agents[Int(local)])
            }
            return batchAgent[Int(local)]
        }

        // Runs: cut at graph entry and agent run boundaries.
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
                let parentsStart = Int32(parents.count)
                let localParents: ArraySlice<LV> = lv == entry.start ? graph.parents(ofEntry: entryIndex) : [lv - 1]
                for parent in localParents {
                    if let offset = batchOffset(of: parent) {
                        parents.append(.inBatch(offset))
                    } else {
                        let (agent, seq) = assignment.agentAndSeq(of: parent)
                        parents.append(.external(agent: agentIndex(agent), seq: seq))
                    }
                }
                runs.append(Run(agent: agentIndex(agentRun.agent), seqStart: agentRun.seqStart + (lv - agentRun.lvStart),
                                count: end - lv, batchStart: rangeOffsets[rangeIndex] + (lv - range.start),
                                parentsStart: parentsStart, parentsCount: Int32(parents.count) - parentsStart))
                lv = end
            }
        }

        // Operations of every text, in batch order.
        for (textIndex, history) in log.textHistories.enumerated() {
            var batchText: Int32 = -1
            for (rangeIndex, range) in ranges.enumerated() {
                history.forEachOperation(in: range) { operation in
                    if batchText < 0 {
                        batchText = Int32(texts.count)
                        texts.append(log.textIDs[textIndex])
                    }
                    let contentStart = content.count
                    if operation.kind == .insert {
                        content.append(contentsOf: history.content[operation.contentStart..<operation.contentStart + operation.contentByteCount])
                    }
                    operations.append(Operation(
                        text: batchText, batchStart: rangeOffsets[rangeIndex] + (operation.lvStart - range.start),
                        count: operation.count, position: operation.position, kind: operation.kind,
                        isForward: operation.isForward, contentStart: contentStart,
                        contentByteCount: operation.kind == .insert ? operation.contentByteCount : 0))
                }
            }
        }
        if log.textHistories.count > 1 {
            // Interleave the texts' operations by batch offset; content follows its
            // operations' order, so rebuild it.
            let sorted = operations.sorted { $0.batchStart < $1.batchStart }
            var newContent: [UInt8] = []
            newContent.reserveCapacity(content.count)
            operations = sorted.map { operation in
                var operation = operation
                let start = newContent.count
                newContent.append(contentsOf: content[operation.contentStart..<operation.contentStart + operation.contentByteCount])
                operation.contentStart = start
                return operation
            }
            content = newContent
        }
    }
}
