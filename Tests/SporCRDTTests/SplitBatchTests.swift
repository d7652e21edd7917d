import SporTestSupport
import Testing
@testable import SporCRDT

/// A large change cut into batches of at most N events: each batch within the limit,
/// and the batches merge one by one, in order, into exactly the document they came from.
@Suite("Change batches of bounded size")
struct SplitBatchTests {
    @Test("batches of at most N events merge in order into the same document, from any earlier version", arguments: propertySeeds(12, base: 0x5b1a))
    func splitMergesInOrder(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        // Three writers editing two texts and a list concurrently, exchanging now and then.
        var writers = try ["0751/a", "0461/b", "1082/c"].map { Document(agent: try AgentID($0)) }
        let notes = try ContainerID("notes")
        let lines = try ContainerID.root("lines", .list)
        var snapshots: [VersionVector] = [VersionVector()]
        for step in 0..<120 {
            let index = Int.random(in: 0..<writers.count, using: &random)
            let text = Bool.random(using: &random) ? ContainerID.text : notes
            let length = writers[index].textLength(text)
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where length > 2:
                let start = Int.random(in: 0..<(length - 1), using: &random)
                try writers[index].delete(start..<min(length, start + Int.random(in: 1...4, using: &random)), in: text)
            case 1:
                _ = try writers[index].insert(.int(Int64(step)), at: writers[index].list(lines).count, in: lines)
            default:
                try writers[index].insert(String(repeating: "æøå x", count: Int.random(in: 1...6, using: &random)),
                                          at: Int.random(in: 0...length, using: &random), in: text)
            }
            if Int.random(in: 0..<5, using: &random) == 0 {
                let other = Int.random(in: 0..<writers.count, using: &random)
                try writers[other].merge(encodedChanges: try writers[index].encodedChanges(since: writers[other].versionVector))
                snapshots.append(writers[other].versionVector)
            }
        }
        var source = writers[0]
        for writer in writers.dropFirst() { try source.merge(encodedChanges: try writer.encodedChanges(since: source.versionVector)) }

        for limit in [1, 3, 17, 1_000] {
            let since = snapshots[Int.random(in: 0..<snapshots.count, using: &random)]
            var atSince = Document()
            try atSince.merge(encodedChanges: try Self.events(of: source, upTo: since))
            let batches = try source.encodedChanges(since: atSince.versionVector, maxEventsPerBatch: limit)
            var merged = atSince
            for batch in batches {
                let summary = try ChangeSummary(encodedChanges: batch)
                #expect(summary.eventCount <= limit, "seed \(seed): a batch of \(summary.eventCount) events, limit \(limit)")
                try merged.merge(encodedChanges: batch)  // each merges on what came before it
            }
            #expect(merged.versionVector == source.versionVector, "seed \(seed), limit \(limit)")
            #expect(merged.text() == source.text() && merged.text(notes) == source.text(notes), "seed \(seed), limit \(limit)")
            #expect(merged.list(lines).map(\.value) == source.list(lines).map(\.value), "seed \(seed), limit \(limit)")
            let missing = source.eventCount - atSince.eventCount
            #expect(batches.count == (missing + limit - 1) / limit, "seed \(seed): as few batches as the limit allows")
        }
    }

    /// The events of `document` that version `vector` includes, as one batch.
    static func events(of document: Document, upTo vector: VersionVector) throws -> [UInt8] {
        // Everything, then drop what `vector` lacks: encode from a replica holding only those.
        var replica = Document()
        for batch in try document.encodedChanges(since: VersionVector(), maxEventsPerBatch: 1) {
            let summary = try ChangeSummary(encodedChanges: batch)
            guard summary.runs.allSatisfy({ vector.includes(EventID(agent: $0.agent, seq: $0.seqs.upperBound - 1)) }) else { continue }
            try replica.merge(encodedChanges: batch)
        }
        return try replica.encodedChanges()
    }
}
