import Testing
@testable import SporCRDT
import SporTraces

@Suite("Real editing traces")
struct TraceReplayTests {
    @Test("bundled sequential trace replayed as local edits", arguments: ["sveltecomponent"])
    func sequentialBundled(name: String) throws {
        let trace = try Traces.load(name)
        let document = try trace.replayLocally()
        #expect(document.text() == trace.endContent)
        #expect(document.eventCount == trace.eventCount)
    }

    @Test("large sequential traces replayed as local edits", .enabled(if: Traces.sharedAvailable, "needs ../shared/traces"),
          arguments: Traces.shared)
    func sequentialShared(name: String) throws {
        let trace = try Traces.load(name)
        let document = try trace.replayLocally()
        #expect(document.text() == trace.endContent)
    }

    @Test("every branch built, then merged in one go", arguments: Traces.bundled)
    func branchesMerged(name: String) throws {
        let trace = try Traces.load(name)
        let document = try trace.replayBranchesAndMerge()
        #expect(document.text() == trace.endContent)
        #expect(document.log.graph.checkInvariants() == nil)
    }

    @Test("one replica per agent, exchanging encoded changes", arguments: ["friendsforever", "node-nodecc"])
    func replicasExchangingChanges(name: String) throws {
        let trace = try Traces.load(name)
        var replicas = try TraceReplicas(trace: trace)
        try replicas.replay()
        #expect(replicas.batchesExchanged > 0)
        #expect(replicas.mostPlacementScans <= PlacementBudgetTests.realHistoryBound,
                "one pull scanned past \(replicas.mostPlacementScans) concurrent items to place insertions")
        // Bring a few replicas fully up to date from every other one and compare.
        let checked = Set([0, trace.agentCount - 1, trace.agentCount / 2])
        for replica in checked {
            for source in 0..<trace.agentCount where source != replica {
                try replicas.pull(into: replica, from: source)
            }
            #expect(replicas.replicas[replica].text() == trace.endContent, "replica \(replica)")
            #expect(replicas.replicas[replica].eventCount == trace.eventCount)
        }
    }

    @Test("the whole encoded history merged into a fresh replica", arguments: Traces.bundled)
    func wholeHistoryIntoFreshReplica(name: String) throws {
        let trace = try Traces.load(name)
        let original = try trace.replayBranchesAndMerge()
        let changes = try original.encodedChanges()
        var fresh = Document()
        // Pushed at once, the whole real history stays far inside a server's placement
        // budget: it throws if it scans past more.
        let added = try fresh.merge(encodedChanges: changes, placementBudget: PlacementBudgetTests.realHistoryBound)
        #expect(added == trace.eventCount)
        #expect(fresh.text() == trace.endContent)
        #expect(fresh.version == original.version)
        // Merging the same history again changes nothing.
        #expect(try fresh.merge(encodedChanges: changes) == 0)
        #expect(fresh.text() == trace.endContent)
    }

    @Test("document files round-trip and verify", arguments: Traces.bundled)
    func documentRoundTrip(name: String) throws {
        let trace = try Traces.load(name)
        let original = try trace.replayBranchesAndMerge()
        let file = original.encoded()
        let loaded = try Document(decoding: file)
        #expect(loaded.text() == trace.endContent)
        #expect(loaded.version == original.version)
        #expect(loaded.versionVector == original.versionVector)
        try loaded.verifyHistory()
        // The loaded history yields the same changes as the original's.
        #expect(try loaded.encodedChanges() == original.encodedChanges())
    }
}
