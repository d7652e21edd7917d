import SporTestSupport
import Testing
@testable import SporCRDT

/// Random collaborative editing: every replica that has seen the same events shows
/// the same text, whatever the order, duplication and partitioning of delivery.
@Suite("Convergence under random delivery")
struct ConvergenceTests {
    /// Insertions mixing ASCII, Danish letters, emoji and longer runs.
    static let fragments = ["a", "b", "c", " ", "æ", "ø", "å", "Æ", "🌱", "Ærø Kommune 🌱", "klimaspor", "\n", "👩🏽‍🌾", "xyz"]

    static func agents(_ count: Int) throws -> [AgentID] {
        let names = ["aarhus", "odense", "region-midtjylland", "ærø", "københavn", "aalborg", "🌱-lab", "billund"]
        return try (0..<count).map { try AgentID("\(names[$0])-\($0)") }
    }

    /// A random edit of `document`: an insert at a random or hot position, or a
    /// delete of a random range (which may overlap other replicas' concurrent edits).
    static func randomEdit(_ document: inout Document, hotPosition: Int, using random: inout SeededRandom) throws {
        let length = document.textLength()
        if length > 0, Int.random(in: 0..<10, using: &random) < 3 {
            let start = Int.random(in: 0..<length, using: &random)
            let count = Int.random(in: 1...min(length - start, 12), using: &random)
            try document.delete(start..<start + count)
        } else {
            let fragment = fragments.randomElement(using: &random)!
            // Often insert at the same place as others, to provoke concurrent
            // insertions at one position.
            let position = Bool.random(using: &random) ? min(hotPosition, length) : Int.random(in: 0...length, using: &random)
            try document.insert(fragment, at: position)
        }
    }

    @Test("3-8 replicas, random edits, random order, duplicates and partitions converge",
          arguments: propertySeeds(40, base: 0xC0_FFEE))
    func randomEditingConverges(seed: UInt64) throws {
        print("convergence seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter ConvergenceTests)")
        var random = SeededRandom(seed: seed)
        let replicaCount = Int.random(in: 3...8, using: &random)
        var network = SimulatedNetwork(agents: try Self.agents(replicaCount))
        let steps = Int.random(in: 100...250, using: &random)
        for _ in 0..<steps {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<45:
                let replica = Int.random(in: 0..<replicaCount, using: &random)
                let hot = Int.random(in: 0...3, using: &random)
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    try Self.randomEdit(&network.replicas[replica], hotPosition: hot, using: &random)
                }
            case 45..<60:
                try network.broadcast(from: Int.random(in: 0..<replicaCount, using: &random))
            case 60..<95:
                try network.deliverOne(using: &random, duplicate: 0.2)
            case 95..<98:
                network.partition = (0..<replicaCount).map { _ in Int.random(in: 0...1, using: &random) }
            default:
                network.partition = nil
            }
        }
        for replica in 0..<replicaCount { try network.broadcast(from: replica) }
        try network.drain(using: &random)
        try network.syncAll()

        let expected = network.replicas[0].text()
        for (index, replica) in network.replicas.enumerated() {
            #expect(replica.text() == expected, "seed \(seed): replica \(index) diverged")
            #expect(replica.versionVector == network.replicas[0].versionVector, "seed \(seed): replica \(index) version")
            #expect(replica.log.graph.checkInvariants() == nil, "seed \(seed): \(replica.log.graph.checkInvariants() ?? "")")
        }
        #expect(network.halfAppliedRejections == 0, "seed \(seed): a rejected batch changed a replica")
        // The run really exchanged concurrent work.
        #expect(network.deliveries > 0 && network.replicas[0].versionVector.agents.count > 1, "seed \(seed): nothing was exchanged")

        // A fresh replica given the whole history in one batch agrees, and so does one
        // that opens a saved copy.
        var fresh = Document()
        try fresh.merge(encodedChanges: try network.replicas[replicaCount - 1].encodedChanges())
        #expect(fresh.text() == expected, "seed \(seed): fresh replica diverged")
        let reopened = try Document(decoding: network.replicas[1].encoded(), verifyingHistory: true)
        #expect(reopened.text() == expected, "seed \(seed): reopened file diverged")
        #expect(reopened.version == network.replicas[1].version)
    }

    @Test("concurrent runs typed at the same place never interleave", arguments: propertySeeds(30, base: 0x1_7E41))
    func concurrentRunsDoNotInterleave(seed: UInt64) throws {
        print("interleaving seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter ConvergenceTests)")
        var random = SeededRandom(seed: seed)
        let replicaCount = Int.random(in: 2...6, using: &random)
        var network = SimulatedNetwork(agents: try Self.agents(replicaCount))
        // A shared starting text, synced everywhere.
        try network.replicas[0].insert("Klimaspor: ", at: 0)
        try network.syncAll()
        let position = Int.random(in: 0...network.replicas[0].textLength(), using: &random)
        // Every replica types its own run, one character at a time, at the same place.
        var runs: [String] = []
        for replica in 0..<replicaCount {
            let letters = Array("ABCDEFGH")[replica]
            let length = Int.random(in: 2...8, using: &random)
            let run = String(repeating: String(letters), count: length) + "\(replica)🌱"
            for (offset, character) in run.unicodeScalars.enumerated() {
                try network.replicas[replica].insert(String(character), at: position + offset)
            }
            runs.append(run)
        }
        for replica in 0..<replicaCount { try network.broadcast(from: replica) }
        try network.drain(using: &random)
        try network.syncAll()
        let text = network.replicas[0].text()
        for run in runs {
            #expect(text.contains(run), "seed \(seed): run \(run) was interleaved in \(text)")
        }
        #expect(network.replicas.allSatisfy { $0.text() == text })
    }

    /// Found by the sync server's load run: with ten clients each merging the others'
    /// edits before typing its next character, every event has up to ten parents and
    /// the merge planner's branch weights (which count shared history once per path)
    /// grew past Int.max and trapped — in the server and in every client.
    @Test("ten agents merging each other after every keystroke: long many-parent histories merge, fresh and incrementally")
    func manyParentMerges() throws {
        let count = 10, rounds = 40
        var replicas = try (0..<count).map { Document(agent: try AgentID("org-\($0)/editor")) }
        var observer = Document()
        for round in 0..<rounds {
            var batches: [[UInt8]] = []
            for index in 0..<count {
                let before = replicas[index].versionVector
                try replicas[index].insert("\(index)", at: replicas[index].textLength())
                batches.append(try replicas[index].encodedChanges(since: before))
            }
            for index in 0..<count {
                for (other, batch) in batches.enumerated() where other != index {
                    try replicas[index].merge(encodedChanges: batch)
                }
            }
            // An observer that merges every other round, and so plans long zones.
            if round % 2 == 1 { try observer.merge(encodedChanges: try replicas[0].encodedChanges(since: observer.versionVector)) }
        }
        var fresh = Document()
        try fresh.merge(encodedChanges: try replicas[0].encodedChanges())
        let text = replicas[0].text()
        #expect(text.count == count * rounds)
        #expect(replicas.allSatisfy { $0.text() == text })
        #expect(fresh.text() == text && observer.text() == text)
    }

    /// Simultaneous typing: every round each replica edits, then all exchange their
    /// edits in a random order. Merges then start from a common version of several
    /// concurrent events (the previous round), not from a single event; the result
    /// must equal a fresh replica's replay of the whole history, which does not use
    /// conflict zones at all.
    @Test("simultaneous edits exchanged every round converge, and equal a fresh replay of the whole history",
          arguments: propertySeeds(16, base: 0x51_7A1E))
    func simultaneousRounds(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let count = Int.random(in: 2...5, using: &random)
        var replicas = try Self.agents(count).map { Document(agent: $0) }
        for _ in 0..<Int.random(in: 20...60, using: &random) {
            var batches: [[UInt8]] = []
            for index in replicas.indices {
                let before = replicas[index].versionVector
                // Sometimes a replica sits a round out, or edits twice.
                for _ in 0..<Int.random(in: 0...2, using: &random) {
                    try Self.randomEdit(&replicas[index], hotPosition: replicas[index].textLength() / 2, using: &random)
                }
                batches.append(try replicas[index].encodedChanges(since: before))
            }
            // Occasionally one replica misses a round and catches up later.
            let late = Int.random(in: 0..<4, using: &random) == 0 ? Int.random(in: 0..<count, using: &random) : nil
            for index in replicas.indices where index != late {
                for other in replicas.indices.shuffled(using: &random) where other != index {
                    try replicas[index].merge(encodedChanges: batches[other])
                }
            }
            if let late {
                for other in replicas.indices where other != late {
                    try replicas[late].merge(encodedChanges: try replicas[other].encodedChanges(since: replicas[late].versionVector))
                }
            }
        }
        for index in replicas.indices {
            for other in replicas.indices where other != index {
                try replicas[index].merge(encodedChanges: try replicas[other].encodedChanges(since: replicas[index].versionVector))
            }
        }
        var fresh = Document()
        try fresh.merge(encodedChanges: try replicas[0].encodedChanges())
        let text = fresh.text()
        #expect(replicas.allSatisfy { $0.text() == text }, "seed \(seed) (SPOR_SEED replays)")
    }

    /// A server merges the batches pushed to a document while it was busy as one group
    /// (`merge(encodedChanges: [[UInt8]])`). The group must give the document that
    /// merging the same batches one by one gives, and a group holding a batch that
    /// cannot merge — a missing parent, an edit outside its text — must change nothing,
    /// whichever batch of the group it is.
    @Test("a group of batches merged at once equals merging them one by one; a group that cannot merge changes nothing",
          arguments: propertySeeds(12, base: 0x6_0A11))
    func groupedMerges(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var replicas = try Self.agents(Int.random(in: 2...4, using: &random)).map { Document(agent: $0) }
        var grouped = Document()
        var oneByOne = Document()
        // The documents get a twin's "a"; the twin's other history inserts at position
        // 3, which "a" does not have.
        let twin = try EditOutsideItsText(agent: "twin")
        try grouped.merge(encodedChanges: try twin.storedHistory.encodedChanges())
        try oneByOne.merge(encodedChanges: try twin.storedHistory.encodedChanges())
        let outOfBounds = twin.edit

        for round in 0..<Int.random(in: 10...30, using: &random) {
            // Each replica makes 1-3 changes, each a batch building on the one before.
            var batchesByReplica: [[[UInt8]]] = []
            for index in replicas.indices {
                var batches: [[UInt8]] = []
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let before = replicas[index].versionVector
                    try Self.randomEdit(&replicas[index], hotPosition: replicas[index].textLength() / 2, using: &random)
                    batches.append(try replicas[index].encodedChanges(since: before))
                }
                batchesByReplica.append(batches)
            }
            // The server sees each replica's batches in order, the replicas interleaved.
            var group: [[UInt8]] = []
            var next = [Int](repeating: 0, count: replicas.count)
            while let index = replicas.indices.filter({ next[$0] < batchesByReplica[$0].count }).randomElement(using: &random) {
                group.append(batchesByReplica[index][next[index]])
                next[index] += 1
            }
            if Int.random(in: 0..<3, using: &random) == 0 {
                var orphanAuthor = Document(agent: try AgentID("orphan-\(round)"))
                try orphanAuthor.insert("x", at: 0)
                let orphanBase = orphanAuthor.versionVector
                try orphanAuthor.insert("y", at: 1)
                let bad = Bool.random(using: &random) ? outOfBounds : try orphanAuthor.encodedChanges(since: orphanBase)
                var spoiled = group
                spoiled.insert(bad, at: Int.random(in: 0...group.count, using: &random))
                let (version, text) = (grouped.versionVector, grouped.text())
                #expect(throws: CRDTError.self, "seed \(seed)") { try grouped.merge(encodedChanges: spoiled) }
                #expect(grouped.versionVector == version && grouped.text() == text, "seed \(seed): a failed group changed the document")
            }
            let added = try grouped.merge(encodedChanges: group)
            var addedOneByOne = 0
            for batch in group { addedOneByOne += try oneByOne.merge(encodedChanges: batch) }
            #expect(added == addedOneByOne && added > 0, "seed \(seed) round \(round)")
            #expect(grouped.text() == oneByOne.text(), "seed \(seed) round \(round)")
            #expect(grouped.versionVector == oneByOne.versionVector, "seed \(seed) round \(round)")
            // Replicas exchange the round's batches.
            for index in replicas.indices {
                for other in replicas.indices where other != index {
                    for batch in batchesByReplica[other] { try replicas[index].merge(encodedChanges: batch) }
                }
            }
        }
        #expect(grouped.log.graph.checkInvariants() == nil, "seed \(seed)")
        var fresh = Document()
        try fresh.merge(encodedChanges: try grouped.encodedChanges())
        #expect(fresh.text() == grouped.text(), "seed \(seed): differs from a fresh replay")
        // The server's documents hold the replicas' text and the twin's "a".
        #expect(replicas.allSatisfy { $0.text() == replicas[0].text() }, "seed \(seed): replicas diverged")
        #expect(grouped.text().unicodeScalars.count == replicas[0].text().unicodeScalars.count + 1, "seed \(seed)")
    }

    @Test("concurrent inserts at one place are ordered by agent name")
    func siblingOrderFollowsAgentNames() throws {
        // Semantics from the type's documentation: siblings with the same origins go
        // in ascending agent-name order (bytes of the UTF-8 name).
        var bob = Document(agent: try AgentID("bob"))
        var alice = Document(agent: try AgentID("alice"))
        try bob.insert("B", at: 0)
        try alice.insert("A", at: 0)
        try bob.merge(encodedChanges: try alice.encodedChanges())
        try alice.merge(encodedChanges: try bob.encodedChanges())
        #expect(alice.text() == "AB")
        #expect(bob.text() == "AB")
    }

    @Test("a delete concurrent with an insert inside the deleted range keeps the insert")
    func deleteConcurrentWithInsert() throws {
        var first = Document(agent: try AgentID("first"))
        try first.insert("Ærø Kommune", at: 0)
        var second = Document(agent: try AgentID("second"))
        try second.merge(encodedChanges: try first.encodedChanges())
        try first.delete(0..<11)                      // deletes everything
        try second.insert(" 🌱", at: 3)               // "Ærø 🌱 Kommune"
        try first.merge(encodedChanges: try second.encodedChanges(since: first.versionVector))
        try second.merge(encodedChanges: try first.encodedChanges(since: second.versionVector))
        #expect(first.text() == " 🌱")
        #expect(second.text() == " 🌱")
    }
}
