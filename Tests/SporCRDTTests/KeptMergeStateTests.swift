import SporTestSupport
import Testing
@testable import SporCRDT

/// Partners typing in one text at the same time and seeing each other late: a history
/// without critical versions for long stretches, which each merge would replay from
/// the last one if the merge state were not kept between merges. Replicas that
/// continue from their kept state must show exactly what a fresh replica shows that
/// merges the same events in one replay.
@Suite("Kept merge state")
struct KeptMergeStateTests {
    /// The partners, a relay that merges every batch as it is sent, and the batches
    /// on their way to each partner in the relay's order.
    struct Room {
        var writers: [Document]
        var relay = Document()
        /// Every batch in the order the relay took it.
        var relayed: [[UInt8]] = []
        var inbox: [[(arrives: Int, batch: [UInt8])]]
        var lastArrival: [Int]
        /// Batches an offline writer made, not sent yet.
        var outbox: [[[UInt8]]]
        var offlineUntil: [Int]
        var refusedMerges = 0

        init(writers count: Int) throws {
            writers = try ConvergenceTests.agents(count).map { Document(agent: $0) }
            inbox = Array(repeating: [], count: count)
            lastArrival = Array(repeating: 0, count: count)
            outbox = Array(repeating: [], count: count)
            offlineUntil = Array(repeating: 0, count: count)
        }

        mutating func send(_ batch: [UInt8], from writer: Int, at tick: Int, lag: ClosedRange<Int>,
                           using random: inout SeededRandom) throws {
            try relay.merge(encodedChanges: batch)
            relayed.append(batch)
            for partner in writers.indices where partner != writer {
                let arrives = max(tick + Int.random(in: lag, using: &random), lastArrival[partner])
                lastArrival[partner] = arrives
                inbox[partner].append((arrives, batch))
            }
        }

        /// Merges what has reached `writer`, in one call or one batch at a time.
        mutating func receive(_ writer: Int, at tick: Int, using random: inout SeededRandom) throws {
            let arrived = inbox[writer].prefix { $0.arrives <= tick }.map(\.batch)
            guard !arrived.isEmpty else { return }
            inbox[writer].removeFirst(arrived.count)
            if Bool.random(using: &random) {
                try writers[writer].merge(encodedChanges: arrived)
            } else {
                for batch in arrived { try writers[writer].merge(encodedChanges: batch) }
            }
        }

        /// The writer deletes five characters, and a twin with the same agent name
        /// (a copy of its document) inserts five and then one at the end of its longer
        /// text. For the relay, the twin's first five events are the writer's deletes,
        /// so its last one inserts beyond the end of the text it was made on: refused
        /// as `positionOutOfBounds` — by the kept merge state, which must know how long
        /// the text at the event's parent version really was — and nothing changes.
        mutating func forgeEditOutsideItsText(by writer: Int, at tick: Int, lag: ClosedRange<Int>, seed: UInt64,
                                              using random: inout SeededRandom) throws {
            var twin = writers[writer]
            let base = writers[writer].versionVector
            try writers[writer].delete(0..<5)
            try send(try writers[writer].encodedChanges(since: base), from: writer, at: tick, lag: lag, using: &random)
            try twin.insert("abcde", at: 0)
            try twin.insert("Z", at: twin.textLength())
            let forged = try twin.encodedChanges(since: base)
            let before = relay.text(), continued = relay.mergeCounters.continued
            do {
                try relay.merge(encodedChanges: forged)
                Issue.record("seed \(seed): the relay accepted an edit outside its text")
            } catch {
                #expect(error.code == .positionOutOfBounds, "seed \(seed): \(error)")
                refusedMerges += 1
            }
            #expect(relay.text() == before, "seed \(seed): a refused edit changed the relay")
            #expect(relay.mergeCounters.continued == continued, "seed \(seed): a refused merge was counted")
        }

        /// Tries to merge a batch the writer cannot have the parents of yet (the
        /// newest one relayed, if it has not reached the writer): refused, and the
        /// document is unchanged — its kept merge state must not survive either.
        mutating func mergeTooEarly(_ writer: Int, seed: UInt64) {
            guard let newest = inbox[writer].last?.batch, inbox[writer].count > 1 else { return }
            let before = writers[writer].text()
            do {
                try writers[writer].merge(encodedChanges: newest)
            } catch {
                refusedMerges += 1
                #expect(writers[writer].text() == before, "seed \(seed): a refused merge changed the text")
            }
        }
    }

    /// A fresh replica given the whole history of `document` in one batch: one
    /// replay from the empty document, no kept state involved.
    static func freshText(of document: Document) throws -> String {
        var fresh = Document()
        try fresh.merge(encodedChanges: try document.encodedChanges())
        return fresh.text()
    }

    @Test("partners typing together, seeing each other late, converge on what a fresh replay shows",
          arguments: propertySeeds(10, base: 0x4B_E9E0))
    func typingTogetherMatchesFreshReplay(seed: UInt64) throws {
        print("kept-merge-state seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter KeptMergeStateTests)")
        var random = SeededRandom(seed: seed)
        let writerCount = Int.random(in: 3...5, using: &random)
        let lagMax = Int.random(in: 4...40, using: &random)
        let lag = 0...lagMax
        let ticks = Int.random(in: 250...400, using: &random)
        var room = try Room(writers: writerCount)
        for tick in 0..<ticks {
            let writer = Int.random(in: 0..<writerCount, using: &random)
            if room.offlineUntil[writer] > tick {
                // Offline: edits stay in the outbox, nothing arrives.
                let before = room.writers[writer].versionVector
                try ConvergenceTests.randomEdit(&room.writers[writer], hotPosition: 0, using: &random)
                room.outbox[writer].append(try room.writers[writer].encodedChanges(since: before))
                continue
            }
            for batch in room.outbox[writer] { try room.send(batch, from: writer, at: tick, lag: lag, using: &random) }
            room.outbox[writer].removeAll()
            if Int.random(in: 0..<100, using: &random) < 3 { room.mergeTooEarly(writer, seed: seed) }
            try room.receive(writer, at: tick, using: &random)
            if Int.random(in: 0..<100, using: &random) < 2 {
                room.offlineUntil[writer] = tick + Int.random(in: 20...120, using: &random)
            }
            if Int.random(in: 0..<100, using: &random) < 3, room.writers[writer].textLength() >= 5 {
                try room.forgeEditOutsideItsText(by: writer, at: tick, lag: lag, seed: seed, using: &random)
            }
            let before = room.writers[writer].versionVector
            // Typing mostly at the end, where everyone writes, sometimes elsewhere.
            try ConvergenceTests.randomEdit(&room.writers[writer], hotPosition: room.writers[writer].textLength(),
                                            using: &random)
            try room.send(try room.writers[writer].encodedChanges(since: before), from: writer, at: tick, lag: lag,
                          using: &random)
            if tick % 100 == 99 {
                #expect(room.relay.text() == (try Self.freshText(of: room.relay)), "seed \(seed): relay at tick \(tick)")
                #expect(room.writers[writer].text() == (try Self.freshText(of: room.writers[writer])),
                        "seed \(seed): writer \(writer) at tick \(tick)")
            }
        }
        for writer in 0..<writerCount {
            for batch in room.outbox[writer] { try room.send(batch, from: writer, at: ticks, lag: lag, using: &random) }
            room.outbox[writer].removeAll()
        }
        for writer in 0..<writerCount { try room.receive(writer, at: Int.max, using: &random) }

        let expected = try Self.freshText(of: room.relay)
        #expect(room.relay.text() == expected, "seed \(seed): the relay differs from a fresh replay")
        for (index, writer) in room.writers.enumerated() {
            #expect(writer.text() == expected, "seed \(seed): writer \(index) differs from a fresh replay")
            #expect(writer.versionVector == room.relay.versionVector, "seed \(seed): writer \(index) version")
        }
        var oneByOne = Document()
        for batch in room.relayed { try oneByOne.merge(encodedChanges: batch) }
        #expect(oneByOne.text() == expected, "seed \(seed): merging the relay's batches again differs")

        // The run exercised what it is about: merges that continued from kept state,
        // and merges that had to replay (offline branches, refused batches, growth).
        let counters = (room.writers + [room.relay]).map(\.mergeCounters)
        let continued = counters.map(\.continued).reduce(0, +), replayed = counters.map(\.replayed).reduce(0, +)
        print("seed \(seed): \(continued) merges continued, \(replayed) replayed, \(room.refusedMerges) refused")
        #expect(room.relay.mergeCounters.continued > ticks / 2, "seed \(seed): the relay hardly continued")
        #expect(replayed > 0, "seed \(seed): no merge replayed")
    }

    @Test("an edit from before the kept state's start falls back to a replay and merges correctly")
    func offlineEditFallsBack() throws {
        var alice = try Document(agent: AgentID("alice"))
        var bob = try Document(agent: AgentID("bob"))
        // Carol goes offline after the first character.
        try alice.insert("F", at: 0)
        var offline = try Document(agent: AgentID("carol"))
        try offline.merge(encodedChanges: try alice.encodedChanges())
        try alice.insert("ælles tekst. ", at: 1)
        try bob.merge(encodedChanges: try alice.encodedChanges())
        // Alice and Bob type at the same time, each seeing the other one keystroke late.
        var relay = Document()
        try relay.merge(encodedChanges: try alice.encodedChanges())
        var lastFromBob: [UInt8]? = nil
        for round in 0..<40 {
            let aliceBefore = alice.versionVector
            try alice.insert("a", at: alice.textLength())
            let fromAlice = try alice.encodedChanges(since: aliceBefore)
            let bobBefore = bob.versionVector
            try bob.insert("b", at: round % 3 == 0 ? 0 : bob.textLength())
            let fromBob = try bob.encodedChanges(since: bobBefore)
            try relay.merge(encodedChanges: fromAlice)
            try relay.merge(encodedChanges: fromBob)
            if let lastFromBob { try alice.merge(encodedChanges: lastFromBob) }
            try bob.merge(encodedChanges: fromAlice)
            lastFromBob = fromBob
        }
        let continuedBefore = relay.mergeCounters.continued
        #expect(continuedBefore > 20, "the relay did not continue from its kept state")
        // Carol's edit is concurrent with history the kept state's placeholder stands
        // for ("ælles tekst. "): the relay cannot continue and replays instead.
        let carolBefore = offline.versionVector
        try offline.insert("C", at: 1)
        let replayedBefore = relay.mergeCounters.replayed
        try relay.merge(encodedChanges: try offline.encodedChanges(since: carolBefore))
        #expect(relay.mergeCounters.replayed == replayedBefore + 1)
        #expect(relay.mergeCounters.continued == continuedBefore)
        #expect(relay.text() == (try Self.freshText(of: relay)))
        #expect(relay.textLength() == 14 + 80 + 1)
        // After the replay the relay continues again.
        try relay.merge(encodedChanges: try alice.encodedChanges(since: relay.versionVector))
        let aliceBefore = alice.versionVector
        try alice.merge(encodedChanges: try bob.encodedChanges(since: alice.versionVector))
        try alice.insert("!", at: 0)
        let bobBefore = bob.versionVector
        try bob.insert("?", at: bob.textLength())
        try relay.merge(encodedChanges: try bob.encodedChanges(since: bobBefore))
        try relay.merge(encodedChanges: try alice.encodedChanges(since: aliceBefore))
        #expect(relay.mergeCounters.continued > continuedBefore)
        #expect(relay.text() == (try Self.freshText(of: relay)))
    }
}
