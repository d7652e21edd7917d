extension OperationLog {
    /// Appends the events of `batch` this log does not have yet, in batch order, and
    /// returns how many were new. Events already known (same agent and sequence
    /// number) are skipped, so merging the same batch twice changes nothing.
    ///
    /// Throws — leaving the log partly appended; callers roll back to a checkpoint —
    /// when an agent's events skip sequence numbers or a parent is unknown. Text
    /// positions are not checked here but by the merge that follows.
    ///
    /// Cost: O(runs · log + operations), independent of the log's size.
    mutating func append(_ batch: EventBatch) throws(CRDTError) -> Int {
        let localAgents = batch.agents.map { agents.index(of: $0) }
        let localTexts = batch.texts.map { textIndex(registering: $0) }
        // Where each run's events start locally (only valid for the new part).
        var runLocalStart = [LV](repeating: -1, count: batch.runs.count)
        var runSkipped = [Int](repeating: 0, count: batch.runs.count)

        /// The local version of the event at batch offset `offset`, which must be in a
        /// run before `limit` (or known locally).
        func localVersion(ofBatchOffset offset: Int, runsBefore limit: Int) throws(CRDTError) -> LV {
            var low = 0
            var high = limit - 1
            while low < high {
                let mid = (low + high + 1) >> 1
                if batch.runs[mid].batchStart <= offset { low = mid } else { high = mid - 1 }
            }
            let run = batch.runs[low]
            let seq = run.seqStart + (offset - run.batchStart)
            guard let lv = agents.lv(ofAgent: localAgents[Int(run.agent)], seq: seq) else {
                throw CRDTError(.unknownParent, "event \(batch.agents[Int(run.agent)])@\(seq) is missing")
            }
            return lv
        }

        var added = 0
        var parents: [LV] = []
        for (index, run) in batch.runs.enumerated() {
            let agent = localAgents[Int(run.agent)]
            let next = agents.nextSeq(ofAgent: agent)
            guard run.seqStart <= next else {
                throw CRDTError(.sequenceGap, "events of \(batch.agents[Int(run.agent)]) start at \(run.seqStart), "
                                + "but only \(next) of its events are known: the ones between are missing")
            }
            let skip = next - run.seqStart
            runSkipped[index] = min(skip, run.count)
            if skip >= run.count { continue }
            parents.removeAll(keepingCapacity: true)
            if skip > 0 {
                // The run continues from an event we already have.
                guard let previous = agents.lv(ofAgent: agent, seq: next - 1) else {
                    throw CRDTError(.unknownParent, "event \(batch.agents[Int(run.agent)])@\(next - 1) is missing")
                }
                parents.append(previous)
            } else {
                for parent in batch.parents(of: run) {
                    switch parent {
                    case let .inBatch(offset):
                        parents.append(try localVersion(ofBatchOffset: offset, runsBefore: index))
                    case let .external(batchAgent, seq):
                        guard let lv = agents.lv(ofAgent: localAgents[Int(batchAgent)], seq: seq) else {
                            throw CRDTError(.unknownParent, "event \(batch.agents[Int(batchAgent)])@\(seq) is missing")
                        }
                        parents.append(lv)
                    }
                }
                if parents.count > 1 {
                    parents.sort()
                    var unique = 0
                    for lv in parents where unique == 0 || parents[unique - 1] != lv {
                        parents[unique] = lv
                        unique += 1
                    }
                    parents.removeSubrange(unique...)
                }
            }
            let count = run.count - skip
            let (lvStart, _) = agents.append(agent: agent, count: count)
            graph.append(count: count, parents: parents)
            runLocalStart[index] = lvStart
            added += count
        }
        if added == 0 { return 0 }

        // Operations, clipped to the new part of each run they cover.
        var runIndex = 0
        batch.content.withUnsafeBufferPointer { content in
            for operation in batch.operations {
                var offset = operation.batchStart
                let end = operation.batchStart + operation.count
                while offset < end {
                    while batch.runs[runIndex].batchStart + batch.runs[runIndex].count <= offset { runIndex += 1 }
                    let run = batch.runs[runIndex]
                    let pieceEnd = min(end, run.batchStart + run.count)
                    let newStart = max(offset, run.batchStart + runSkipped[runIndex])
                    if newStart < pieceEnd, runLocalStart[runIndex] >= 0 {
                        let lv = runLocalStart[runIndex] + (newStart - run.batchStart - runSkipped[runIndex])
                        let skip = newStart - operation.batchStart
                        let count = pieceEnd - newStart
                        var piece = TextOperation(
                            lvStart: lv, count: count, position: operation.position, kind: operation.kind,
                            isForward: operation.isForward, contentStart: 0, contentByteCount: 0)
                        var bytes = UnsafeBufferPointer<UInt8>(rebasing: content[0..<0])
                        switch operation.kind {
                        case .insert:
                            piece.position += skip
                            let all = UnsafeBufferPointer(rebasing: content[operation.contentStart..<operation.contentStart + operation.contentByteCount])
                            let from = operation.contentByteCount == operation.count ? skip : UTF8Scalars.byteOffset(ofScalar: skip, in: all)
                            let to = operation.contentByteCount == operation.count ? skip + count : UTF8Scalars.byteOffset(ofScalar: skip + count, in: all)
                            bytes = UnsafeBufferPointer(rebasing: all[from..<to])
                        case .delete:
                            if !operation.isForward { piece.position = operation.position + operation.count - skip - count }
                            piece.isForward = operation.isForward || count == 1
                        }
                        textHistories[localTexts[Int(operation.text)]].append(piece, utf8: bytes)
                    }
                    offset = pieceEnd
                }
            }
        }
        return added
    }
}
