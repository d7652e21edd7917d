import SporTestSupport
import Testing
@testable import SporCRDT

/// Random edits of every container kind — texts, registers, maps with child
/// containers, lists with moves and child maps, sets — on 3-8 replicas, delivered in
/// random order with duplicates and partitions: every replica ends with exactly the
/// same state, and so does a fresh replica and a reopened file.
@Suite("Convergence of mixed containers")
struct MixedContainerConvergenceTests {
    static let values: [Value] = [.null, .bool(true), .int(-3), .int(1_500_000), .double(2.5), .string("Ærø"),
                                  .string("Region Midtjylland 🌱"), .string("")]

    static func randomEdit(_ document: inout Document, using random: inout SeededRandom) throws {
        let proposal = try ContainerID.root("proposal", .map)
        let amount = try ContainerID.root("amount", .register)
        let budget = try ContainerID.root("budget", .list)
        let tags = try ContainerID.root("tags", .set)
        let keys = ["title", "round", "lead", "status"]
        switch Int.random(in: 0..<12, using: &random) {
        case 0:
            try document.set(values.randomElement(using: &random)!, in: amount)
        case 1:
            try document.set(values.randomElement(using: &random)!, forKey: keys.randomElement(using: &random)!, in: proposal)
        case 2:
            try document.removeValue(forKey: keys.randomElement(using: &random)!, in: proposal)
        case 3:
            // A child text of the map, created by whoever gets there (concurrently too).
            let section = try document.createChild(.text, forKey: ["summary", "risks"].randomElement(using: &random)!, in: proposal)
            let length = document.textLength(section)
            if length > 0, Bool.random(using: &random) {
                let start = Int.random(in: 0..<length, using: &random)
                try document.delete(start..<min(length, start + Int.random(in: 1...5, using: &random)), in: section)
            } else {
                try document.insert(["ab", "Ærø ", "🌱", "x"].randomElement(using: &random)!,
                                    at: Int.random(in: 0...length, using: &random), in: section)
            }
        case 4, 5:
            let count = document.list(budget).count
            try document.insert(values.randomElement(using: &random)!, at: Int.random(in: 0...count, using: &random), in: budget)
        case 6:
            let items = document.list(budget)
            if let item = items.randomElement(using: &random) { try document.remove(item.id, from: budget) }
        case 7, 8:
            let items = document.list(budget)
            if let item = items.randomElement(using: &random) {
                try document.move(item.id, to: Int.random(in: 0..<items.count, using: &random), in: budget)
            }
        case 9:
            // A list item holding a map: write into it.
            let items = document.list(budget)
            if let item = items.randomElement(using: &random) {
                let line = try budget.child(item.id, .map)
                try document.set(.int(Int64.random(in: 0...1_000_000, using: &random)), forKey: "amount", in: line)
            }
        case 10:
            try document.add(values.randomElement(using: &random)!, to: tags)
        default:
            try document.remove(values.randomElement(using: &random)!, from: tags)
        }
    }

    @Test("every container kind converges under random delivery", arguments: propertySeeds(30, base: 0xC0_47A1))
    func mixedConverge(seed: UInt64) throws {
        print("mixed-containers seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter MixedContainerConvergenceTests)")
        var random = SeededRandom(seed: seed)
        let replicaCount = Int.random(in: 3...8, using: &random)
        var network = SimulatedNetwork(agents: try ConvergenceTests.agents(replicaCount))
        for _ in 0..<Int.random(in: 80...200, using: &random) {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<45:
                let replica = Int.random(in: 0..<replicaCount, using: &random)
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    try Self.randomEdit(&network.replicas[replica], using: &random)
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

        let expected = dump(network.replicas[0])
        for (index, replica) in network.replicas.enumerated() {
            #expect(dump(replica) == expected, "seed \(seed): replica \(index) diverged")
        }
        #expect(network.halfAppliedRejections == 0, "seed \(seed): a rejected batch changed a replica")
        #expect(network.replicas[0].containerIDs.count >= 3, "seed \(seed): the run touched several containers")
        var fresh = Document()
        try fresh.merge(encodedChanges: try network.replicas[replicaCount - 1].encodedChanges())
        #expect(dump(fresh) == expected, "seed \(seed): a fresh replica diverged")
        let reopened = try Document(decoding: network.replicas[1].encoded(), verifyingHistory: true)
        #expect(dump(reopened) == expected, "seed \(seed): the reopened file diverged")
        // The reopened document keeps working: edit it and merge it back.
        var edited = reopened
        edited = Document(decodingForEdits: edited, agent: try AgentID("reopener"))
        try Self.randomEdit(&edited, using: &random)
        var original = network.replicas[1]
        try original.merge(encodedChanges: try edited.encodedChanges(since: original.versionVector))
        #expect(dump(original) == dump(edited), "seed \(seed): merging the reopened replica's edit diverged")
    }
}

extension Document {
    /// Reopens `document`'s file as a replica of `agent` (tests).
    init(decodingForEdits document: Document, agent: AgentID) {
        // A document file always decodes.
        self = (try? Document(decoding: document.encoded(), agent: agent)) ?? Document(agent: agent)
    }
}
