/// The body of an encoded ``EventBatch`` (format version 1). All numbers are varints
/// (``ByteWriter``); columns hold one value per run or operation, which keeps similar
/// numbers together for deflate.
///
/// ```
/// agents      count, then each name (string)
/// texts       count, then each container name (string)
/// eventCount
/// content     byte count, then the UTF-8 of every insert in op order — first, so that
///             in a document file it sits right after the texts it is deflated
///             against (deflate only looks 32 KiB back)
/// runCount
///   agent     per run: index into agents
///   length    per run: number of events (>= 1)
///   seq       per run: signed, seqStart minus the agent's expected next seq
///             (the end of its previous run in the batch, else 0)
///   parents   per run: 0 = "the previous event of the batch", else count + 1
///   parentRef per explicit parent, either an earlier event of the batch as
///             (back * agentCount + agent) << 1 — the event `back` sequence numbers
///             before the latest event of `agent` seen so far in the batch (merges
///             usually name some agent's latest event: back = 0) — or an event the
///             receiver must already have, as agent << 1 | 1 followed by seq
/// opCount
///   text      per op, only when there is more than one text: index into texts
///   gap       per op: events between the previous op's end and this op's start
///   shape     per op: length << 2 | kind (0 insert, 1 delete) << 1 | forward
///   position  per op: signed, position minus the predicted position (where the
///             same agent's previous op on the same text ended, else 0)
/// ```
extension EventBatch {
    /// Limits the decoder enforces before allocating anything.
    enum Limits {
        static let agents = 1 << 20
        static let texts = 1 << 16
        static let events = 1 << 40
        static let parentsPerRun = 1 << 12
    }

    func encodeBody() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: content.count + runs.count * 6 + operations.count * 5 + 64)
        writer.writeVarint(agents.count)
        for agent in agents { writer.writeString(agent.name) }
        writer.writeVarint(texts.count)
        for text in texts { writer.writeString(text.name) }
        writer.writeVarint(eventCount)
        writer.writeVarint(content.count)
        writer.writeBytes(content)
        writer.writeVarint(runs.count)
        for run in runs { writer.writeVarint(Int(run.agent)) }
        for run in runs { writer.writeVarint(run.count) }
        var expectedSeq = [Int](repeating: 0, count: agents.count)
        for run in runs {
            writer.writeSignedVarint(run.seqStart - expectedSeq[Int(run.agent)])
            expectedSeq[Int(run.agent)] = run.seqStart + run.count
        }
        for run in runs {
            let runParents = parents(of: run)
            if run.batchStart > 0, runParents.count == 1, runParents.first == .inBatch(run.batchStart - 1) {
                writer.writeVarint(0)
            } else {
                writer.writeVarint(runParents.count + 1)
            }
        }
        var latestSeq = [Int](repeating: -1, count: agents.count)
        for (index, run) in runs.enumerated() {
            defer { latestSeq[Int(run.agent)] = run.seqStart + run.count - 1 }
            let runParents = parents(of: run)
            if run.batchStart > 0, runParents.count == 1, runParents.first == .inBatch(run.batchStart - 1) { continue }
            for parent in runParents {
                switch parent {
                case let .inBatch(offset):
                    let parentRun = runs[runIndex(containing: offset, before: index)]
                    let seq = parentRun.seqStart + (offset - parentRun.batchStart)
                    let back = latestSeq[Int(parentRun.agent)] - seq
                    writer.writeVarint((back * agents.count + Int(parentRun.agent)) << 1)
                case let .external(agent, seq):
                    writer.writeVarint(Int(agent) << 1 | 1)
                    writer.writeVarint(seq)
                }
            }
        }
        writer.writeVarint(operations.count)
        if texts.count > 1 {
            for operation in operations { writer.writeVarint(Int(operation.text)) }
        }
        var previousEnd = 0
        for operation in operations {
            writer.writeVarint(operation.batchStart - previousEnd)
            previousEnd = operation.batchStart + operation.count
        }
        for operation in operations {
            writer.writeVarint(operation.count << 2 | Int(operation.kind.rawValue) << 1 | (operation.isForward ? 1 : 0))
        }
        var predicted = PositionPredictor(texts: texts.count, agents: agents.count)
        var runIndex = 0
        for operation in operations {
            while runs[runIndex].batchStart + runs[runIndex].count <= operation.batchStart { runIndex += 1 }
            let key = predicted.key(text: operation.text, agent: runs[runIndex].agent)
            writer.writeSignedVarint(operation.position - predicted.positions[key])
            predicted.positions[key] = operation.kind == .insert ? operation.position + operation.count : operation.position
        }
        return writer.bytes
    }

    /// Decodes and validates a body. Anything inconsistent — counts that do not add
    /// up, references forward in time, invalid UTF-8, trailing bytes — is a
    /// ``CRDTError``.
    init(decodingBody bytes: [UInt8], section: String) throws(CRDTError) {
        var reader = ByteReader(bytes, section: section)
        let agentCount = try reader.readCount("agent count", limit: Limits.agents)
        agents.reserveCapacity(agentCount)
        for _ in 0..<agentCount {
            let name = try reader.readString(maxUTF8Count: AgentID.maxUTF8Count, "agent name")
            guard AgentID.problem(with: name) == nil else { throw reader.error(.invalidAgent, "invalid agent name") }
            agents.append(AgentID(unchecked: name))
        }
        let textCount = try reader.readCount("text count", limit: Limits.texts)
        for _ in 0..<textCount {
            let name = try reader.readString(maxUTF8Count: ContainerID.maxUTF8Count, "text name")
            do { texts.append(try ContainerID(name)) } catch { throw reader.error(.malformed, "invalid text name") }
        }
        guard Set(agents).count == agents.count, Set(texts).count == texts.count else {
            throw reader.error(.malformed, "duplicate agent or text names")
        }
        eventCount = try reader.readVarint(atMost: Limits.events, "event count")
        let contentCount = try reader.readVarint(atMost: reader.remaining, "content length")
        content = Array(try reader.readBytes(contentCount, "content"))
        let runCount = try reader.readCount("run count", limit: eventCount)
        runs.reserveCapacity(runCount)
        for _ in 0..<runCount {
            let agent = try reader.readVarint()
            guard agent < agents.count else { throw reader.error(.malformed, "run names agent \(agent) of \(agents.count)") }
            runs.append(Run(agent: Int32(agent), seqStart: 0, count: 0, batchStart: 0, parentsStart: 0, parentsCount: 0))
        }
        var batchStart = 0
        for index in 0..<runCount {
            let count = try reader.readVarint()
            guard count >= 1, count <= eventCount - batchStart else { throw reader.error(.malformed, "run lengths do not add up") }
            runs[index].count = count
            runs[index].batchStart = batchStart
            batchStart += count
        }
        guard batchStart == eventCount else { throw reader.error(.malformed, "runs cover \(batchStart) of \(eventCount) events") }
        var expectedSeq = [Int](repeating: 0, count: agents.count)
        for index in 0..<runCount {
            let agent = Int(runs[index].agent)
            let seq = expectedSeq[agent] + (try reader.readSignedVarint())
            guard seq >= 0, seq <= Limits.events else { throw reader.error(.malformed, "negative or huge sequence number") }
            runs[index].seqStart = seq
            expectedSeq[agent] = seq + runs[index].count
        }
        var parentModes = [Int](repeating: 0, count: runCount)
        for index in 0..<runCount {
            parentModes[index] = try reader.readVarint(atMost: Limits.parentsPerRun + 1, "parent count")
        }
        parents.reserveCapacity(runCount)
        // Each agent's runs so far, in order (their seqs increase).
        var agentRuns = [[Int32]](repeating: [], count: agents.count)
        for index in 0..<runCount {
            let run = runs[index]
            runs[index].parentsStart = Int32(parents.count)
            defer { agentRuns[Int(run.agent)].append(Int32(index)) }
            if parentModes[index] == 0 {
                guard run.batchStart > 0 else { throw reader.error(.malformed, "the first run has no previous event") }
                parents.append(.inBatch(run.batchStart - 1))
            } else {
                for _ in 0..<(parentModes[index] - 1) {
                    let tag = try reader.readVarint()
                    if tag & 1 == 0 {
                        let agent = (tag >> 1) % max(1, agents.count)
                        let back = (tag >> 1) / max(1, agents.count)
                        guard let latestIndex = agentRuns[agent].last else {
                            throw reader.error(.malformed, "a parent names an event of an agent with no earlier event in the batch")
                        }
                        let latest = runs[Int(latestIndex)]
                        let seq = latest.seqStart + latest.count - 1 - back
                        guard let offset = Self.batchOffset(ofSeq: seq, inRuns: agentRuns[agent], of: runs) else {
                            throw reader.error(.malformed, "a parent refers to an event that is not earlier in the batch")
                        }
                        parents.append(.inBatch(offset))
                    } else {
                        let agent = tag >> 1
                        guard agent < agents.count else { throw reader.error(.malformed, "a parent names agent \(agent) of \(agents.count)") }
                        let seq = try reader.readVarint(atMost: Limits.events, "parent sequence number")
                        parents.append(.external(agent: Int32(agent), seq: seq))
                    }
                }
            }
            runs[index].parentsCount = Int32(parents.count) - runs[index].parentsStart
        }

        let operationCount = try reader.readCount("operation count", limit: eventCount)
        operations.reserveCapacity(operationCount)
        for _ in 0..<operationCount {
            var text = 0
            if textCount > 1 {
                text = try reader.readVarint()
                guard text < textCount else { throw reader.error(.malformed, "an operation names text \(text) of \(textCount)") }
            } else if textCount == 0 {
                throw reader.error(.malformed, "operations without texts")
            }
            operations.append(Operation(text: Int32(text), batchStart: 0, count: 0, position: 0, kind: .insert,
                                        isForward: true, contentStart: 0, contentByteCount: 0))
        }
        var gaps = [Int](repeating: 0, count: operationCount)
        for index in 0..<operationCount {
            gaps[index] = try reader.readVarint(atMost: eventCount, "operation gap")
        }
        var insertedScalars = 0
        try operations.withUnsafeMutableBufferPointer { (operations) throws(CRDTError) in
            var previousEnd = 0
            for index in 0..<operationCount {
                let shape = try reader.readVarint()
                let count = shape >> 2
                let start = previousEnd + gaps[index]
                guard count >= 1, count <= eventCount, start <= eventCount - count else {
                    throw reader.error(.malformed, "operations exceed the batch")
                }
                operations[index].batchStart = start
                operations[index].count = count
                operations[index].kind = shape & 2 == 0 ? .insert : .delete
                operations[index].isForward = shape & 1 == 1 || count == 1
                if shape & 2 == 0 {
                    guard shape & 1 == 1 else { throw reader.error(.malformed, "backward insert runs do not exist") }
                    insertedScalars += count
                }
                previousEnd = start + count
            }
            var predicted = PositionPredictor(texts: textCount, agents: agentCount)
            var runIndex = 0
            for index in 0..<operationCount {
                let operation = operations[index]
                while runs[runIndex].batchStart + runs[runIndex].count <= operation.batchStart { runIndex += 1 }
                let key = predicted.key(text: operation.text, agent: runs[runIndex].agent)
                let position = predicted.positions[key] + (try reader.readSignedVarint())
                guard position >= 0, position <= Limits.events else { throw reader.error(.malformed, "negative position") }
                operations[index].position = position
                predicted.positions[key] = operation.kind == .insert ? position + operation.count : position
            }
        }
        guard reader.isAtEnd else { throw reader.error(.malformed, "\(reader.remaining) unexpected bytes after the operations") }
        // Assign each insert its bytes: exactly `count` scalars of valid UTF-8.
        let scalarCount = content.withUnsafeBufferPointer { UTF8Scalars.validate($0) }
        guard let scalarCount else { throw reader.error(.invalidUTF8, "inserted text is not valid UTF-8") }
        guard scalarCount == insertedScalars else {
            throw reader.error(.malformed, "inserted text has \(scalarCount) characters, operations need \(insertedScalars)")
        }
        let isASCII = scalarCount == content.count
        var byteOffset = 0
        content.withUnsafeBufferPointer { buffer in
            operations.withUnsafeMutableBufferPointer { operations in
                for index in 0..<operationCount where operations[index].kind == .insert {
                    let count = operations[index].count
                    let byteCount = isASCII ? count
                        : UTF8Scalars.byteOffset(ofScalar: count, in: UnsafeBufferPointer(rebasing: buffer[byteOffset...]))
                    operations[index].contentStart = byteOffset
                    operations[index].contentByteCount = byteCount
                    byteOffset += byteCount
                }
            }
        }
    }
}

extension EventBatch {
    /// The index of the run containing batch offset `offset`, among runs before `limit`.
    func runIndex(containing offset: Int, before limit: Int) -> Int {
        var low = 0
        var high = limit - 1
        while low < high {
            let mid = (low + high + 1) >> 1
            if runs[mid].batchStart <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The batch offset of sequence number `seq` within one agent's runs (indices
    /// into `runs`, seqs increasing), if one of them holds it. O(log runs).
    static func batchOffset(ofSeq seq: Int, inRuns agentRuns: [Int32], of runs: [Run]) -> Int? {
        var low = 0
        var high = agentRuns.count - 1
        while low <= high {
            let mid = (low + high) >> 1
            let run = runs[Int(agentRuns[mid])]
            if seq < run.seqStart { high = mid - 1 } else if seq >= run.seqStart + run.count { low = mid + 1 } else {
                return run.batchStart + (seq - run.seqStart)
            }
        }
        return nil
    }
}

/// Where each agent's next operation on each text is expected to start.
private struct PositionPredictor {
    var positions: [Int]
    let agents: Int
    init(texts: Int, agents: Int) {
        positions = [Int](repeating: 0, count: max(1, texts * agents))
        self.agents = agents
    }
    @inline(__always)
    func key(text: Int32, agent: Int32) -> Int { Int(text) * agents + Int(agent) }
}
