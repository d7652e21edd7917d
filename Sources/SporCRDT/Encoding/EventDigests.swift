/// A digest of every event of a change batch, to tell whether two replicas' events
/// with the same id (agent, seq) are the same event — or whether two copies of one
/// replica each made different events under the same agent (a copied or restored
/// workspace), which must never be merged as duplicates.
///
/// An event's digest covers what makes it that event: its id, its parents (as
/// event ids), the container it acts on and its operation (a text event's position
/// and scalar, a value operation's payload with its item references as event ids).
/// It does not depend on how the events were cut into batches or runs, so the same
/// event has the same digest in every batch that carries it.
///
/// Digests of a range of events combine by wrapping addition, so a server can keep
/// one number per stored span of an agent's events and compare any pushed range that
/// covers whole spans without decoding what it stored. The digest is a 64-bit
/// FNV-1a hash with a final mix: it tells honest copies apart (the chance that two
/// different ranges share a digest is about 2⁻⁶⁴); it is not a cryptographic
/// commitment, and need not be — an organisation can only ever fork its own agents.
public struct EventDigests: Sendable, Equatable {
    /// One run of the batch: an agent's events `seqStart..<seqStart + count`, with the
    /// prefix sums of their digests (`sums[i]`: the first `i` events).
    struct Run: Sendable, Equatable {
        let agent: AgentID
        let seqStart: Int
        let sums: [UInt64]
        var seqs: Range<Int> { seqStart..<(seqStart + sums.count - 1) }
    }

    let runs: [Run]

    init(_ batch: EventBatch) {
        let hashes = Self.eventHashes(of: batch)
        runs = batch.runs.map { run in
            var sums = [UInt64](repeating: 0, count: run.count + 1)
            for index in 0..<run.count { sums[index + 1] = sums[index] &+ hashes[run.batchStart + index] }
            return Run(agent: batch.agents[Int(run.agent)], seqStart: run.seqStart, sums: sums)
        }
    }

    /// Reads the digests of an encoded change batch; throws a ``CRDTError`` if the bytes
    /// are not a well-formed batch. O(size of the batch).
    public init(encodedChanges bytes: [UInt8]) throws(CRDTError) {
        self.init(try Document.decodeChanges(bytes))
    }

    /// The combined digest of `agent`'s events `seqs`, or nil if the batch does not
    /// carry all of them. O(runs).
    public func digest(of agent: AgentID, seqs: Range<Int>) -> UInt64? {
        var total: UInt64 = 0
        var covered = 0
        for run in runs where run.agent == agent {
            let low = max(seqs.lowerBound, run.seqStart), high = min(seqs.upperBound, run.seqs.upperBound)
            guard low < high else { continue }
            total = total &+ (run.sums[high - run.seqStart] &- run.sums[low - run.seqStart])
            covered += high - low
        }
        return covered == seqs.count ? total : nil
    }

    /// The sequence numbers of `agent`'s events the batch carries, as sorted ranges.
    public func seqs(of agent: AgentID) -> [Range<Int>] {
        runs.filter { $0.agent == agent }.map(\.seqs).sorted { $0.lowerBound < $1.lowerBound }
    }

    /// The first of `agent`'s events in `seqs` whose digest differs between the two
    /// batches (both must carry all of `seqs`), or nil if they are all the same.
    /// O(runs · log) to find a range that differs, then O(length) to find the event.
    public func firstDifference(from other: EventDigests, of agent: AgentID, in seqs: Range<Int>) -> Int? {
        guard !seqs.isEmpty, digest(of: agent, seqs: seqs) != other.digest(of: agent, seqs: seqs) else { return nil }
        // Halve the range: the digests of a prefix differ iff a difference is in it
        // (up to the collision chance above).
        var range = seqs
        while range.count > 1 {
            let middle = range.lowerBound + range.count / 2
            let left = range.lowerBound..<middle
            range = digest(of: agent, seqs: left) != other.digest(of: agent, seqs: left) ? left : middle..<range.upperBound
        }
        return range.lowerBound
    }

    // MARK: - Hashing

    private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    private struct Hasher {
        var state = EventDigests.offsetBasis
        mutating func byte(_ byte: UInt8) { state = (state ^ UInt64(byte)) &* EventDigests.prime }
        mutating func bytes<S: Sequence>(_ bytes: S) where S.Element == UInt8 { for byte in bytes { self.byte(byte) } }
        mutating func integer(_ value: Int) {
            let bits = UInt64(bitPattern: Int64(value))
            for shift in stride(from: 0, to: 64, by: 8) { byte(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
        mutating func string(_ text: String) {
            integer(text.utf8.count)
            bytes(text.utf8)
        }
        mutating func event(_ id: EventID) {
            string(id.agent.name)
            integer(id.seq)
        }
        /// The finished hash, mixed (splitmix64's finaliser) so that sums of digests
        /// do not cancel along FNV's linear structure.
        var finished: UInt64 {
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
            return mixed ^ (mixed >> 31)
        }
    }

    /// The digest of each event of `batch`, by batch offset.
    private static func eventHashes(of batch: EventBatch) -> [UInt64] {
        var hashers = [Hasher](repeating: Hasher(), count: batch.eventCount)
        for run in batch.runs {
            let agent = batch.agents[Int(run.agent)]
            for index in 0..<run.count {
                var hasher = Hasher()
                hasher.event(EventID(agent: agent, seq: run.seqStart + index))
                if index == 0 {
                    let parents = batch.parents(of: run).map { batch.eventID($0) }.sorted()
                    hasher.integer(parents.count)
                    for parent in parents { hasher.event(parent) }
                } else {
                    hasher.integer(1)
                    hasher.event(EventID(agent: agent, seq: run.seqStart + index - 1))
                }
                hashers[run.batchStart + index] = hasher
            }
        }
        let containers = batch.containerIDs().map { id -> UInt64 in
            var hasher = Hasher()
            hasher.byte(id.kind.rawValue)
            hasher.string(id.description)
            return hasher.finished
        }
        for operation in batch.operations {
            let container = containers[Int(operation.container)]
            var contentOffset = operation.contentStart
            let contentEnd = operation.contentStart + operation.contentByteCount
            for index in 0..<operation.count {
                let offset = operation.batchStart + index
                hashers[offset].integer(Int(bitPattern: UInt(container)))
                hashers[offset].byte(operation.kind.rawValue)
                switch operation.kind {
                case .insert:
                    hashers[offset].integer(operation.position + index)
                    // This event's scalar: its UTF-8 bytes.
                    var end = contentOffset + 1
                    while end < contentEnd, !UTF8Scalars.isScalarStart(batch.content[end]) { end += 1 }
                    hashers[offset].bytes(batch.content[contentOffset..<min(end, contentEnd)])
                    contentOffset = end
                case .delete:
                    let deleted = operation.isForward ? operation.position : operation.position + operation.count - 1 - index
                    hashers[offset].integer(deleted)
                }
            }
        }
        for record in batch.values {
            var hasher = hashers[record.batchOffset]
            hasher.integer(Int(bitPattern: UInt(containers[Int(record.container)])))
            func reference(_ reference: EventBatch.EventRef?) {
                if let reference { hasher.byte(1); hasher.event(batch.eventID(reference)) } else { hasher.byte(0) }
            }
            func value(_ value: Value) {
                var writer = ByteWriter()
                EventBatch.writeValue(value, into: &writer)
                hasher.bytes(writer.bytes)
            }
            switch record.payload {
            case let .set(content): hasher.byte(0); value(content)
            case let .setKey(key, content): hasher.byte(1); hasher.string(key); value(content)
            case let .removeKey(key): hasher.byte(2); hasher.string(key)
            case let .insert(content, left, right): hasher.byte(3); value(content); reference(left); reference(right)
            case let .remove(item): hasher.byte(4); reference(item)
            case let .move(item, left, right): hasher.byte(5); reference(item); reference(left); reference(right)
            case let .add(content): hasher.byte(6); value(content)
            case let .discard(content): hasher.byte(7); value(content)
            }
            hashers[record.batchOffset] = hasher
        }
        return hashers.map(\.finished)
    }
}

extension Document {
    /// The digests of `agent`'s events `seqs` as this document has them (those it has),
    /// to compare with a batch's (``EventDigests``). O(the events).
    public func eventDigests(of agent: AgentID, seqs: Range<Int>) throws(CRDTError) -> EventDigests {
        let log = try historyLog()
        guard let index = log.agents.existingIndex(of: agent), !seqs.isEmpty else { return EventDigests(EventBatch()) }
        var ranges: [LVRange] = []
        for run in log.agents.byAgent[Int(index)] {
            let low = max(seqs.lowerBound, run.seqStart), high = min(seqs.upperBound, run.seqStart + run.count)
            if low < high { ranges.append(LVRange(run.lvStart + (low - run.seqStart), run.lvStart + (high - run.seqStart))) }
        }
        ranges.sort { $0.start < $1.start }
        return EventDigests(EventBatch(log: log, ranges: ranges))
    }
}
