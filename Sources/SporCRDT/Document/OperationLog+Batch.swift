extension OperationLog {
    /// Appends the events of `batch` this log does not have yet, in batch order, and
    /// returns the local range they got. Events already known (same agent and
    /// sequence number) are skipped, so merging the same batch twice changes nothing.
    ///
    /// Throws — leaving the log partly appended; callers roll back to a checkpoint —
    /// when an agent's events skip sequence numbers or refer to events this log does
    /// not have. Text positions and list references are checked by the merge that
    /// follows.
    ///
    /// Cost: O(runs · log + operations), independent of the log's size.
    mutating func append(_ batch: EventBatch) throws(CRDTError) -> LVRange {
        let firstNew = eventCount
        let localAgents = batch.agents.map { agents.index(of: $0) }
        // Where each run's new events start locally, and how many of its events were
        // already known.
        var runLocalStart = [LV](repeating: -1, count: batch.runs.count)
        var runSkipped = [Int](repeating: 0, count: batch.runs.count)

        func localVersion(of reference: EventBatch.EventRef, before limit: Int) throws(CRDTError) -> LV {
            switch reference {
            case let .inBatch(offset):
                let run = batch.runs[batch.runIndex(containing: offset, before: limit)]
                return try resolve(agent: run.agent, seq: run.seqStart + (offset - run.batchStart))
            case let .external(agent, seq):
                return try resolve(agent: agent, seq: seq)
            }
        }

        func resolve(agent: Int32, seq: Int) throws(CRDTError) -> LV {
            if let lv = agents.lv(ofAgent: localAgents[Int(agent)], seq: seq) { return lv }
            if agents.isTrimmed(agent: localAgents[Int(agent)], seq: seq) {
                throw CRDTError(.historyTrimmed, "event \(batch.agents[Int(agent)])@\(seq) is older than the history this replica keeps")
            }
            throw CRDTError(.unknownParent, "event \(batch.agents[Int(agent)])@\(seq) is missing")
        }

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
                parents.append(try resolve(agent: run.agent, seq: next - 1))
            } else {
                for parent in batch.parents(of: run) { parents.append(try localVersion(of: parent, before: index)) }
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
            if let first = parents.first, first < trimmedPrefixCount { parents = try parentsInTrimmedLog(parents) }
            let count = run.count - skip
            let (lvStart, _) = agents.append(agent: agent, count: count)
            graph.append(count: count, parents: parents)
            runLocalStart[index] = lvStart
        }
        if eventCount == firstNew { return LVRange(firstNew, firstNew) }

        /// The local version of a new event at `offset`, or nil if it was known before.
        func newLocalVersion(ofBatchOffset offset: Int, runHint: inout Int) -> LV? {
            while batch.runs[runHint].batchStart + batch.runs[runHint].count <= offset { runHint += 1 }
            let run = batch.runs[runHint]
            let skipped = runSkipped[runHint]
            guard runLocalStart[runHint] >= 0, offset >= run.batchStart + skipped else { return nil }
            return runLocalStart[runHint] + (offset - run.batchStart - skipped)
        }

        let containerIDs = batch.containerIDs()
        var localContainers = [Int](repeating: -1, count: batch.containers.count)
        func localContainer(_ index: Int32) -> Int {
            if localContainers[Int(index)] < 0 { localContainers[Int(index)] = containerIndex(registering: containerIDs[Int(index)]) }
            return localContainers[Int(index)]
        }

        // Text operations, clipped to the new part of each run they cover.
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
                            let ascii = operation.contentByteCount == operation.count
                            let from = ascii ? skip : UTF8Scalars.byteOffset(ofScalar: skip, in: all)
                            let to = ascii ? skip + count : UTF8Scalars.byteOffset(ofScalar: skip + count, in: all)
                            bytes = UnsafeBufferPointer(rebasing: all[from..<to])
                        case .delete:
                            if !operation.isForward { piece.position = operation.position + operation.count - skip - count }
                            piece.isForward = operation.isForward || count == 1
                        }
                        textHistories[localContainer(operation.container)].append(piece, utf8: bytes)
                    }
                    offset = pieceEnd
                }
            }
        }

        // Register, map, list and set operations of new events.
        var valueRunHint = 0
        for record in batch.values {
            guard let lv = newLocalVersion(ofBatchOffset: record.batchOffset, runHint: &valueRunHint) else { continue }
            let recordIndex = batch.runIndex(containing: record.batchOffset, before: batch.runs.count) + 1
            func slot(_ reference: EventBatch.EventRef?) throws(CRDTError) -> LV {
                guard let reference else { return ListState.noSlot }
                return try localVersion(of: reference, before: recordIndex)
            }
            let operation: ValueOperation
            switch record.payload {
            case let .set(value): operation = .set(value)
            case let .setKey(key, value): operation = .setKey(key, value)
            case let .removeKey(key): operation = .removeKey(key)
            case let .insert(value, left, right): operation = .insert(value, left: try slot(left), right: try slot(right))
            case let .remove(item): operation = .remove(item: try slot(item))
            case let .move(item, left, right): operation = .move(item: try slot(item), left: try slot(left), right: try slot(right))
            case let .add(value): operation = .add(value)
            case let .discard(value): operation = .discard(value)
            }
            valueHistories[localContainer(record.container)].append(operation, at: lv)
        }
        return LVRange(firstNew, eventCount)
    }
}
