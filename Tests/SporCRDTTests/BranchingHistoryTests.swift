import SporTestSupport
import SporTraces
import Testing
@testable import SporCRDT

/// Histories with 2–16 branches that fork and pull each other repeatedly
/// (``BranchingHistory``): every way of building the text gives the text the
/// branches converged on, and the merge state's index stays exact throughout.
@Suite("Histories with many concurrent branches")
struct BranchingHistoryTests {
    @Test("2-16 branches: the branches built and merged, a fresh replica and the replicas agree",
          arguments: propertySeeds(12, base: 0xB7A2_C4))
    func branchesConverge(seed: UInt64) throws {
        print("branching-history seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter BranchingHistoryTests)")
        var random = SeededRandom(seed: seed)
        var generator = BranchingHistory(width: Int.random(in: 2...16, using: &random),
                                         events: Int.random(in: 500...4_000, using: &random))
        generator.eventsBetweenPulls = Int.random(in: 20...300, using: &random)
        let trace = try generator.generate(using: &random)
        #expect(trace.eventCount >= generator.events)

        // The transactions replayed on the versions their parents name, merged at once.
        let merged = try trace.replayBranchesAndMerge()
        #expect(merged.text() == trace.endContent, "seed \(seed), width \(generator.width)")
        #expect(merged.log.graph.checkInvariants() == nil, "seed \(seed)")

        // A fresh replica taking the whole history as one change batch.
        var fresh = Document()
        try fresh.merge(encodedChanges: try merged.encodedChanges())
        #expect(fresh.text() == trace.endContent, "seed \(seed)")

        // The full item order: every item placed, the index naming each item's leaf.
        let history = try #require(merged.log.textHistories.first { !$0.operations.isEmpty })
        var merger = TextMerger()
        let plan = merger.plan(merged.log.graph, from: [], to: merged.log.graph.heads)
        var patches: [TextPatch] = []
        try merger.replay(plan, agents: merged.log.agents, history: history, textLength: 0, into: &patches,
                          keepingAllItems: true)
        #expect(merger.finalState.checkInvariants() == nil, "seed \(seed): \(merger.finalState.checkInvariants() ?? "")")
    }

    @Test("the generated history is the same for the same seed, and a trace file round-trips it")
    func deterministicAndWritable() throws {
        var first = SeededRandom(seed: 7), second = SeededRandom(seed: 7)
        let generator = BranchingHistory(width: 5, events: 1_500)
        let a = try generator.generate(using: &first)
        let b = try generator.generate(using: &second)
        #expect(a.endContent == b.endContent)
        #expect(a.transactions.map(\.parents) == b.transactions.map(\.parents))
        #expect(a.transactions.contains { $0.parents.count > 1 }, "no transaction follows a pull")

        let read = try EditingTrace(json: try a.jsonBytes(), name: "branches")
        #expect(read.kind == .concurrent)
        #expect(read.agentCount == 5)
        #expect(read.endContent == a.endContent)
        #expect(read.transactions.map(\.patches) == a.transactions.map(\.patches))
        #expect(try read.replayBranchesAndMerge().text() == a.endContent)
    }
}
