import SporTestSupport
import Testing
@testable import SporCRDT

/// A windowed replica — trimmed after every merge to a few recent events — against a
/// full replica, both fed the pushes of random clients in the order a server gets
/// them: clients edit every container kind, push, pull, go offline for a while and
/// come back with edits made on old versions; now and then a group holds a batch
/// that cannot merge, or a resend. Both must accept and refuse the same groups and
/// show exactly the same state; where the windowed replica lacks history it says so
/// (`historyTrimmed`) and is rebuilt from everything accepted, as the server does.
@Suite("Windowed replicas")
struct WindowedReplicaTests {
    struct Server {
        var full = Document()
        var windowed = WindowedReplica()
        /// Every accepted batch, in order: what the server stores.
        var log: [[UInt8]] = []
        let limit: Int
        let keep: Int
        var trims = 0
        var rebuilds = 0
        /// Groups merged into a trimmed replica without a rebuild.
        var mergedWhileTrimmed = 0
        var accepted = 0
        var refused = 0

        /// Merges `group` into both replicas; returns whether it was accepted.
        mutating func receive(_ group: [[UInt8]], seed: UInt64) -> Bool {
            let before = dump(full)
            let fullOutcome = Result { () throws(CRDTError) -> Int in try full.merge(encodedChanges: group) }
            let wasTrimmed = windowed.heldEventCount < windowed.eventCount
            var windowedOutcome = Result { () throws(CRDTError) -> Int in try windowed.merge(encodedChanges: group) }
            if case let .failure(error) = windowedOutcome, error.code == .historyTrimmed {
                #expect(dump(windowed.documentForTesting) == before, "seed \(seed): a refused group changed the windowed replica")
                rebuilds += 1
                windowed = WindowedReplica(merging: log)
                windowedOutcome = Result { () throws(CRDTError) -> Int in try windowed.merge(encodedChanges: group) }
            } else if wasTrimmed, case .success = windowedOutcome {
                mergedWhileTrimmed += 1
            }
            switch (fullOutcome, windowedOutcome) {
            case let (.success(fullAdded), .success(windowedAdded)):
                #expect(fullAdded == windowedAdded, "seed \(seed)")
            case let (.failure(fullError), .failure(windowedError)):
                #expect(fullError.code == windowedError.code, "seed \(seed): \(fullError) vs \(windowedError)")
                #expect(dump(full) == before, "seed \(seed)")
            default:
                Issue.record("seed \(seed): full \(fullOutcome), windowed \(windowedOutcome)")
            }
            #expect(dump(windowed.documentForTesting) == dump(full), "seed \(seed): the replicas differ")
            #expect(windowed.eventCount == full.eventCount, "seed \(seed)")
            guard case .success = fullOutcome else {
                refused += 1
                return false
            }
            accepted += 1
            log.append(contentsOf: group)
            if windowed.trim(whenHolding: limit, keepingAtLeast: keep) {
                trims += 1
                #expect(dump(windowed.documentForTesting) == dump(full), "seed \(seed): trimming changed what the replica shows")
                #expect(windowed.documentForTesting.log.graph.checkInvariants() == nil, "seed \(seed)")
            }
            return true
        }
    }

    @Test("a windowed replica accepts, refuses and shows exactly what a full replica does",
          arguments: propertySeeds(16, base: 0x3_71D0))
    func windowedEqualsFull(seed: UInt64) throws {
        print("windowed-replica seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter WindowedReplicaTests)")
        var random = SeededRandom(seed: seed)
        let clientCount = Int.random(in: 2...5, using: &random)
        var clients = try ConvergenceTests.agents(clientCount).map { Document(agent: $0) }
        var pushed = [VersionVector](repeating: VersionVector(), count: clientCount)
        var pulled = [Int](repeating: 0, count: clientCount)
        var offline = Set<Int>()
        var server = Server(limit: Int.random(in: 4...60, using: &random), keep: Int.random(in: 0...12, using: &random))
        // The server's history starts with a twin's "a"; the twin's other edit does not apply to it.
        let twin = try EditOutsideItsText(agent: "twin")
        #expect(server.receive([try twin.storedHistory.encodedChanges()], seed: seed))

        // A client merges everything the server accepted since it last pulled.
        func pull(_ client: Int) {
            for batch in server.log[pulled[client]...] { _ = try? clients[client].merge(encodedChanges: batch) }
            pulled[client] = server.log.count
        }

        for _ in 0..<Int.random(in: 150...300, using: &random) {
            let client = Int.random(in: 0..<clientCount, using: &random)
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<45:
                // Online clients mostly edit what they have just received, as editors do.
                if !offline.contains(client), Int.random(in: 0..<10, using: &random) < 7 {
                    pull(client)
                }
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    if Bool.random(using: &random) {
                        try MixedContainerConvergenceTests.randomEdit(&clients[client], using: &random)
                    } else {
                        try ConvergenceTests.randomEdit(&clients[client], hotPosition: clients[client].textLength() / 2, using: &random)
                    }
                }
            case 45..<75 where !offline.contains(client):
                // Pushes what it has not pushed, maybe together with another client's push.
                var group: [[UInt8]] = []
                var pushers = [client]
                if let other = (0..<clientCount).filter({ !offline.contains($0) && $0 != client }).randomElement(using: &random),
                   Bool.random(using: &random) {
                    pushers.append(other)
                }
                for pusher in pushers where clients[pusher].versionVector != pushed[pusher] {
                    group.append(try clients[pusher].encodedChanges(since: pushed[pusher]))
                }
                if group.isEmpty { continue }
                switch Int.random(in: 0..<10, using: &random) {
                case 0: group.insert(twin.edit, at: Int.random(in: 0...group.count, using: &random))
                case 1 where !server.log.isEmpty: group.append(server.log.randomElement(using: &random)!)
                default: break
                }
                if server.receive(group, seed: seed) {
                    for pusher in pushers { pushed[pusher] = clients[pusher].versionVector }
                } else if server.receive(group.filter { $0 != twin.edit }, seed: seed) {
                    // The client's own batches were fine; the bad one was somebody else's.
                    for pusher in pushers { pushed[pusher] = clients[pusher].versionVector }
                }
            case 75..<95 where !offline.contains(client):
                pull(client)
            case 95..<100:
                if offline.contains(client) { offline.remove(client) } else { offline.insert(client) }
            default:
                break
            }
        }
        #expect(server.trims > 0, "seed \(seed): never trimmed")
        #expect(server.mergedWhileTrimmed > 0, "seed \(seed): nothing merged into a trimmed replica")
        #expect(server.accepted > 10, "seed \(seed)")
        print("windowed-replica seed \(seed): \(server.accepted) groups accepted, \(server.refused) refused, "
              + "\(server.trims) trims, \(server.mergedWhileTrimmed) merged into a trimmed replica, \(server.rebuilds) rebuilds; "
              + "holds \(server.windowed.heldEventCount) of \(server.windowed.eventCount) events")
    }

    /// Two partners typing into one text at once, each seeing the other's keystrokes up
    /// to three keystrokes late — the server's load pattern, where nothing runs together:
    /// a full replica holds every event; the windowed one stays within its window.
    @Test("two partners typing at once: the windowed replica's history stays bounded")
    func boundedUnderConcurrentTyping() throws {
        var writers = [Document(agent: try AgentID("aarhus")), Document(agent: try AgentID("odense"))]
        var inFlight: [[[UInt8]]] = [[], []]  // per writer: partner batches not yet delivered
        var windowed = WindowedReplica()
        var all: [[UInt8]] = []
        var random = SeededRandom(seed: 0x7E1D)
        var mostHeld = 0
        for keystroke in 0..<6_000 {
            let writer = keystroke % 2
            // Deliveries lag zero to three keystrokes behind, at random: now and then
            // both have seen everything (a critical version, where history can be cut).
            let lag = Int.random(in: 0...3, using: &random)
            while inFlight[writer].count > lag {
                try writers[writer].merge(encodedChanges: inFlight[writer].removeFirst())
            }
            let before = writers[writer].versionVector
            try writers[writer].insert(keystroke % 7 == 0 ? " " : "x", at: writers[writer].textLength())
            let batch = try writers[writer].encodedChanges(since: before)
            inFlight[1 - writer].append(batch)
            all.append(batch)
            try windowed.merge(encodedChanges: batch)
            windowed.trim(whenHolding: 512, keepingAtLeast: 64)
            mostHeld = max(mostHeld, windowed.heldEventCount)
        }
        // A full replica merging the batches one by one replays ever longer zones here
        // (no single common event): it takes in the whole history at once instead.
        var full = Document()
        try full.merge(encodedChanges: all)
        #expect(windowed.text() == full.text())
        #expect(windowed.eventCount == 6_000 && full.eventCount == 6_000)
        // 512 plus what arrives while no critical cut is found (a try every 112 events).
        #expect(mostHeld <= 1_024, "held \(mostHeld) of 6,000 events")
    }

    /// A partner who was offline since before the cut: its edits need the dropped
    /// history. The windowed replica refuses them as `historyTrimmed` without changing,
    /// and a replica rebuilt from the stored batches merges them.
    @Test("an offline branch older than the window: historyTrimmed, then merged after a rebuild")
    func offlineBranchNeedsRebuild() throws {
        var online = Document(agent: try AgentID("aarhus"))
        var offline = Document(agent: try AgentID("region-midt"))
        var stored: [[UInt8]] = []
        var windowed = WindowedReplica()
        func push(_ document: inout Document, _ edit: (inout Document) throws -> Void) throws {
            let before = document.versionVector
            try edit(&document)
            let batch = try document.encodedChanges(since: before)
            stored.append(batch)
            try windowed.merge(encodedChanges: batch)
        }
        try push(&online) { try $0.insert("Klimaspor: ", at: 0) }
        try offline.merge(encodedChanges: stored[0])
        for word in ["vand ", "jord ", "luft "] {
            try push(&online) { try $0.insert(word, at: $0.textLength()) }
        }
        let trimmed = windowed.trim(whenHolding: 0, keepingAtLeast: 0)
        #expect(trimmed)
        #expect(windowed.heldEventCount < windowed.eventCount)
        // The offline partner edits the version it last saw.
        let before = offline.versionVector
        try offline.insert("Region: ", at: 0)
        let late = try offline.encodedChanges(since: before)
        let text = windowed.text()
        let refusal = #expect(throws: CRDTError.self) { try windowed.merge(encodedChanges: late) }
        #expect(refusal?.code == .historyTrimmed)
        #expect(windowed.text() == text)
        var rebuilt = WindowedReplica(merging: stored)
        try rebuilt.merge(encodedChanges: late)
        for batch in stored { try offline.merge(encodedChanges: batch) }
        #expect(rebuilt.text() == offline.text())
        #expect(rebuilt.text() == "Region: Klimaspor: vand jord luft ")
    }
}
