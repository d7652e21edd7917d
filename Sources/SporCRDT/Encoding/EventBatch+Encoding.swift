/// The encoding of an ``EventBatch`` (format version 1), in two parts that a document
/// file stores separately: the *structure* (decoded when a file is opened) and the
/// *text operations* (decoded when first needed). A change batch is both, in that
/// order. All numbers are varints (``ByteWriter``); columns hold one value per run
/// or operation, which keeps similar numbers together for deflate.
///
/// Structure:
/// ```
/// agents      count, then each name (string)
/// eventCount
/// containers  count, then each: kind (byte), path: 0 root + name | 1 map entry +
///             parent index + key | 2 list item + parent index + event ref (from the
///             end of the batch). Parents come before their children.
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
/// values      count, then per register/map/list/set operation: container index,
///             gap (events since the previous value operation's), operation tag
///             (0 set, 1 set key, 2 remove key, 3 insert, 4 remove, 5 move, 6 add,
///             7 discard) and its fields: values, keys (string), list slots and
///             items as event refs
/// ```
/// Text operations:
/// ```
/// content     byte count, then the UTF-8 of every insert in op order — first, so that
///             in a document file it sits right after the texts it is deflated
///             against (deflate only looks 32 KiB back)
/// opCount
///   container one container index, or (when the container table holds several
///             texts) one per op
///   gap       per op: events between the previous op's end and this op's start
///   shape     per op: length << 2 | kind (0 insert, 1 delete) << 1 | forward
///   position  per op: signed, position minus the predicted position (where the
///             same agent's previous op on the same text ended, else 0)
/// ```
/// Event refs (list slots and items, list-item container paths): 0 = none (the
/// start or end of a list), distance back in the batch << 1 | 1, or
/// (agent + 1) << 1 followed by seq for an event the receiver must have.
/// Values: tag byte 0 null, 1 false, 2 true, 3 int (signed varint), 4 double (8
/// bytes, IEEE 754, little-endian), 5 string, 6 child container (kind byte).
extension EventBatch {
    /// Limits the decoder enforces before allocating anything.
    enum Limits {
        static let agents = 1 << 20
        static let containers = 1 << 22
        static let events = 1 << 40
        static let parentsPerRun = 1 << 12
    }

    func encodeBody() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: content.count + runs.count * 6 + operations.count * 5 + values.count * 8 + 64)
        encodeStructure(into: &writer)
        encodeTextOperations(into: &writer)
        return writer.bytes
    }

    func encodeStructure(into writer: inout ByteWriter) {
        writer.writeVarint(agents.count)
        for agent in agents { writer.writeString(agent.name) }
        writer.writeVarint(eventCount)
        writer.writeVarint(containers.count)
        for entry in containers {
            writer.writeByte(entry.kind.rawValue)
            switch entry.path {
            case let .root(name):
                writer.writeByte(0)
                writer.writeString(name)
            case let .mapEntry(parent, key):
                writer.writeByte(1)
                writer.writeVarint(parent)
                writer.writeString(key)
            case let .listItem(parent, item):
                writer.writeByte(2)
                writer.writeVarint(parent)
                writeReference(item, from: eventCount, into: &writer)
            }
        }
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
        writer.writeVarint(values.count)
        var previous = -1
        for record in values {
            writer.writeVarint(Int(record.container))
            writer.writeVarint(record.batchOffset - previous - 1)
            previous = record.batchOffset
            let offset = record.batchOffset
            switch record.payload {
            case let .set(value):
                writer.writeByte(0)
                Self.writeValue(value, into: &writer)
            case let .setKey(key, value):
                writer.writeByte(1)
                writer.writeString(key)
                Self.writeValue(value, into: &writer)
            case let .removeKey(key):
                writer.writeByte(2)
                writer.writeString(key)
            case let .insert(value, left, right):
                writer.writeByte(3)
                Self.writeValue(value, into: &writer)
                writeReference(left, from: offset, into: &writer)
                writeReference(right, from: offset, into: &writer)
            case let .remove(item):
                writer.writeByte(4)
                writeReference(item, from: offset, into: &writer)
            case let .move(item, left, right):
                writer.writeByte(5)
                writeReference(item, from: offset, into: &writer)
                writeReference(left, from: offset, into: &writer)
                writeReference(right, from: offset, into: &writer)
            case let .add(value):
                writer.writeByte(6)
                Self.writeValue(value, into: &writer)
            case let .discard(value):
                writer.writeByte(7)
                Self.writeValue(value, into: &writer)
            }
        }
    }

    func encodeTextOperations(into writer: inout ByteWriter) {
        writer.writeVarint(content.count)
        writer.writeBytes(content)
        writer.writeVarint(operations.count)
        if containers.lazy.filter({ $0.kind == .text }).count > 1 {
            for operation in operations { writer.writeVarint(Int(operation.container)) }
        } else {
            writer.writeVarint(Int(operations.first?.container ?? 0))
        }
        var previousEnd = 0
        for operation in operations {
            writer.writeVarint(operation.batchStart - previousEnd)
            previousEnd = operation.batchStart + operation.count
        }
        for operation in operations {
            writer.writeVarint(operation.count << 2 | Int(operation.kind.rawValue) << 1 | (operation.isForward ? 1 : 0))
        }
        var predicted = PositionPredictor()
        var runIndex = 0
        for operation in operations {
            while runs[runIndex].batchStart + runs[runIndex].count <= operation.batchStart { runIndex += 1 }
            let agent = runs[runIndex].agent
            writer.writeSignedVarint(operation.position - predicted.position(container: operation.container, agent: agent))
            predicted.set(operation.kind == .insert ? operation.position + operation.count : operation.position,
                          container: operation.container, agent: agent)
        }
    }

    private func writeReference(_ reference: EventRef?, from offset: Int, into writer: inout ByteWriter) {
        switch reference {
        case nil:
            writer.writeVarint(0)
        case let .inBatch(target)?:
            writer.writeVarint((offset - target) << 1 | 1)
        case let .external(agent, seq)?:
            writer.writeVarint((Int(agent) + 1) << 1)
            writer.writeVarint(seq)
        }
    }

    static func writeValue(_ value: Value, into writer: inout ByteWriter) {
        switch value {
        case .null: writer.writeByte(0)
        case let .bool(flag): writer.writeByte(flag ? 2 : 1)
        case let .int(number):
            writer.writeByte(3)
            writer.writeSignedVarint(Int(number))
        case let .double(number):
            writer.writeByte(4)
            let bits = number.bitPattern
            for shift in stride(from: 0, to: 64, by: 8) { writer.writeByte(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        case let .string(text):
            writer.writeByte(5)
            writer.writeString(text)
        case let .child(kind):
            writer.writeByte(6)
            writer.writeByte(kind.rawValue)
        }
    }

    /// Decodes a whole change-batch body.
    init(decodingBody bytes: [UInt8], section: String) throws(CRDTError) {
        var reader = ByteReader(bytes, section: section)
        try self.init(decodingStructure: &reader)
        try decodeTextOperations(&reader)
        guard reader.isAtEnd else { throw reader.error(.malformed, "\(reader.remaining) unexpected bytes at the end") }
    }

    /// Decodes and validates the structure part. Anything inconsistent — counts that
    /// do not add up, references forward in time, unknown kinds — is a ``CRDTError``.
    init(decodingStructure reader: inout ByteReader) throws(CRDTError) {
        let agentCount = try reader.readCount("agent count", limit: Limits.agents)
        agents.reserveCapacity(agentCount)
        for _ in 0..<agentCount {
            let name = try reader.readString(maxUTF8Count: AgentID.maxUTF8Count, "agent name")
            guard AgentID.problem(with: name) == nil else { throw reader.error(.invalidAgent, "invalid agent name") }
            agents.append(AgentID(unchecked: name))
        }
        guard Set(agents).count == agents.count else { throw reader.error(.malformed, "duplicate agent names") }
        eventCount = try reader.readVarint(atMost: Limits.events, "event count")
        let containerCount = try reader.readCount("container count", limit: Limits.containers)
        for index in 0..<containerCount {
            guard let kind = ContainerKind(rawValue: try reader.readByte()) else {
                throw reader.error(.malformed, "unknown container kind")
            }
            let pathTag = try reader.readByte()
            switch pathTag {
            case 0:
                let name = try reader.readString(maxUTF8Count: ContainerID.maxUTF8Count, "container name")
                guard ContainerID.isValidName(name) else { throw reader.error(.malformed, "invalid container name") }
                containers.append(ContainerEntry(kind: kind, path: .root(name)))
            case 1:
                let parent = try reader.readVarint()
                guard parent < index, containers[parent].kind == .map else {
                    throw reader.error(.malformed, "a map entry's parent must be an earlier map")
                }
                let key = try reader.readString(maxUTF8Count: ContainerID.maxUTF8Count, "map key")
                guard ContainerID.isValidName(key) else { throw reader.error(.malformed, "invalid map key") }
                containers.append(ContainerEntry(kind: kind, path: .mapEntry(parent: parent, key: key)))
            case 2:
                let parent = try reader.readVarint()
                guard parent < index, containers[parent].kind == .list else {
                    throw reader.error(.malformed, "a list item's parent must be an earlier list")
                }
                guard let item = try readReference(&reader, from: Int.max) else {
                    throw reader.error(.malformed, "a list item container names no item")
                }
                containers.append(ContainerEntry(kind: kind, path: .listItem(parent: parent, item: item)))
            default:
                throw reader.error(.malformed, "unknown container path")
            }
        }
        guard Set(containers).count == containers.count else {
            throw reader.error(.malformed, "duplicate containers")
        }
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

        let valueCount = try reader.readCount("value operation count", limit: eventCount)
        values.reserveCapacity(valueCount)
        var previous = -1
        for _ in 0..<valueCount {
            let container = try reader.readVarint()
            guard container < containerCount, containers[container].kind != .text else {
                throw reader.error(.malformed, "a value operation names container \(container), which is not a value container")
            }
            let gap = try reader.readVarint(atMost: eventCount, "value operation gap")
            let offset = previous + 1 + gap
            guard offset < eventCount else { throw reader.error(.malformed, "a value operation lies beyond the batch") }
            previous = offset
            let payload: ValueRecord.Payload
            switch try reader.readByte() {
            case 0: payload = .set(try readValue(&reader))
            case 1: payload = .setKey(try readKey(&reader), try readValue(&reader))
            case 2: payload = .removeKey(try readKey(&reader))
            case 3: payload = .insert(try readValue(&reader), left: try readReference(&reader, from: offset),
                                      right: try readReference(&reader, from: offset))
            case 4:
                guard let item = try readReference(&reader, from: offset) else { throw reader.error(.malformed, "a removal names no item") }
                payload = .remove(item: item)
            case 5:
                guard let item = try readReference(&reader, from: offset) else { throw reader.error(.malformed, "a move names no item") }
                payload = .move(item: item, left: try readReference(&reader, from: offset), right: try readReference(&reader, from: offset))
            case 6: payload = .add(try readValue(&reader))
            case 7: payload = .discard(try readValue(&reader))
            default: throw reader.error(.malformed, "unknown value operation")
            }
            let kindNeeded: ContainerKind
            switch payload {
            case .set: kindNeeded = .register
            case .setKey, .removeKey: kindNeeded = .map
            case .insert, .remove, .move: kindNeeded = .list
            case .add, .discard: kindNeeded = .set
            }
            guard containers[container].kind == kindNeeded else {
                throw reader.error(.malformed, "a \(kindNeeded) operation on a \(containers[container].kind)")
            }
            values.append(ValueRecord(container: Int32(container), batchOffset: offset, payload: payload))
        }
    }

    private func readKey(_ reader: inout ByteReader) throws(CRDTError) -> String {
        let key = try reader.readString(maxUTF8Count: ContainerID.maxUTF8Count, "map key")
        guard ContainerID.isValidName(key) else { throw reader.error(.malformed, "invalid map key") }
        return key
    }

    private func readValue(_ reader: inout ByteReader) throws(CRDTError) -> Value {
        switch try reader.readByte() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3:
            let raw = UInt64(try reader.readVarint())
            return .int(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
        case 4:
            var bits: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 8) { bits |= UInt64(try reader.readByte()) << UInt64(shift) }
            let number = Double(bitPattern: bits)
            guard number.isFinite else { throw reader.error(.malformed, "a number value is not finite") }
            return .double(number)
        case 5: return .string(try reader.readString(maxUTF8Count: Value.maxStringUTF8Count, "string value"))
        case 6:
            guard let kind = ContainerKind(rawValue: try reader.readByte()) else {
                throw reader.error(.malformed, "unknown child container kind")
            }
            return .child(kind)
        default: throw reader.error(.malformed, "unknown value tag")
        }
    }

    /// An event ref written relative to batch offset `offset` (`Int.max`: in a
    /// container table, where in-batch refs count from the end of the batch).
    private func readReference(_ reader: inout ByteReader, from offset: Int) throws(CRDTError) -> EventRef? {
        let tag = try reader.readVarint()
        if tag == 0 { return nil }
        if tag & 1 == 1 {
            let base = offset == Int.max ? eventCount : offset
            let distance = tag >> 1
            guard distance >= 1, distance <= base else {
                throw reader.error(.malformed, "a reference points outside the batch")
            }
            return .inBatch(base - distance)
        }
        let agent = (tag >> 1) - 1
        guard agent < agents.count else { throw reader.error(.malformed, "a reference names agent \(agent) of \(agents.count)") }
        let seq = try reader.readVarint(atMost: Limits.events, "referenced sequence number")
        return .external(agent: Int32(agent), seq: seq)
    }

    /// Decodes and validates the text operations part, after the structure.
    mutating func decodeTextOperations(_ reader: inout ByteReader) throws(CRDTError) {
        let contentCount = try reader.readVarint(atMost: reader.remaining, "content length")
        content = Array(try reader.readBytes(contentCount, "content"))
        let operationCount = try reader.readCount("operation count", limit: eventCount)
        operations.reserveCapacity(operationCount)
        var containerColumn = [Int](repeating: 0, count: operationCount)
        if containers.lazy.filter({ $0.kind == .text }).count > 1 {
            for index in 0..<operationCount { containerColumn[index] = try reader.readVarint() }
        } else {
            let only = try reader.readVarint()
            for index in 0..<operationCount { containerColumn[index] = only }
        }
        for container in containerColumn where operationCount > 0 {
            guard container < containers.count, containers[container].kind == .text else {
                throw reader.error(.malformed, "a text operation names container \(container), which is not a text")
            }
        }
        for index in 0..<operationCount {
            operations.append(Operation(container: Int32(containerColumn[index]), batchStart: 0, count: 0, position: 0,
                                        kind: .insert, isForward: true, contentStart: 0, contentByteCount: 0))
        }
        var gaps = [Int](repeating: 0, count: operationCount)
        for index in 0..<operationCount {
            gaps[index] = try reader.readVarint(atMost: eventCount, "operation gap")
        }
        var insertedScalars = 0
        let runs = self.runs
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
            var predicted = PositionPredictor()
            var runIndex = 0
            for index in 0..<operationCount {
                let operation = operations[index]
                while runs[runIndex].batchStart + runs[runIndex].count <= operation.batchStart { runIndex += 1 }
                let agent = runs[runIndex].agent
                let position = predicted.position(container: operation.container, agent: agent) + (try reader.readSignedVarint())
                guard position >= 0, position <= Limits.events else { throw reader.error(.malformed, "negative position") }
                operations[index].position = position
                predicted.set(operation.kind == .insert ? position + operation.count : position,
                              container: operation.container, agent: agent)
            }
        }
        // No event may carry two operations.
        var valueIndex = 0
        for operation in operations {
            while valueIndex < values.count, values[valueIndex].batchOffset < operation.batchStart { valueIndex += 1 }
            if valueIndex < values.count, values[valueIndex].batchOffset < operation.batchStart + operation.count {
                throw reader.error(.malformed, "an event carries both a text and a value operation")
            }
        }
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

/// Where each agent's next operation on each text is expected to start. Remembers
/// the last (text, agent) pair directly — consecutive operations mostly share it — and
/// the others in a dictionary, so its size follows the pairs actually used.
private struct PositionPredictor {
    private var last: (container: Int32, agent: Int32, position: Int) = (-1, -1, 0)
    private var others: [Int64: Int] = [:]

    @inline(__always)
    func position(container: Int32, agent: Int32) -> Int {
        if last.container == container, last.agent == agent { return last.position }
        return others[Int64(container) << 32 | Int64(agent)] ?? 0
    }

    @inline(__always)
    mutating func set(_ position: Int, container: Int32, agent: Int32) {
        if last.container != container || last.agent != agent, last.container >= 0 {
            others[Int64(last.container) << 32 | Int64(last.agent)] = last.position
        }
        last = (container, agent, position)
    }
}
