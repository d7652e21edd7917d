import Foundation
import GRDB
import Logging
import SporCRDT
import SporTestSupport
import Synchronization
import Testing
@testable import SporServer

/// Each organisation has a share of the single writer's merge time: one over it has
/// its pushes deferred — kept in order, stored later — while other organisations'
/// pushes go on. Merges are charged a fixed second here, so who waits does not depend
/// on how fast this machine merges.
@Suite("Shares of the writer's merge time", .timeLimit(.minutes(2)), .blockingCallsAllowed)
struct MergeShareTests {
    /// The labels of answered requests, in the order they were answered.
    final class AnswerLog: Sendable {
        let entries = Mutex<[String]>([])
        func record(_ label: String) -> @Sendable (Result<PushCommitter.Stored, ServerError>) -> Void {
            { result in
                self.entries.withLock {
                    switch result {
                    case .success: $0.append(label)
                    case let .failure(error): $0.append("\(label) refused: \(error.message)")
                    }
                }
            }
        }
        var all: [String] { entries.withLock { $0 } }
    }

    static func waitUntil(_ condition: @Sendable () -> Bool, seconds: Double = 20) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test("over its share, an organisation's pushes wait (in their order); another organisation's push is stored meanwhile")
    func overShareWaits() async throws {
        let store = try SporStore(directory: temporaryTestDirectory("spor-merge-shares"))
        let (aarhus, _) = try store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: "0751")
        let (odense, _) = try store.addAccount(name: "Odense Kommune", kind: .kommune, code: "0461")
        // No burst, one second of merging per second, every merge charged four seconds:
        // each merged push puts its organisation four seconds over its share. (Four,
        // not one: the test must submit x3 while x2 still waits, and a machine running
        // the whole suite on two cores has delayed that by more than a second.)
        let committer = PushCommitter(store: store, hub: SubscriptionHub(), metrics: ServerMetrics(), logger: Logger(label: "test"),
                                      mergeShare: (rate: 1, burst: 0), mergeCharge: { _ in .seconds(4) })
        let log = AnswerLog()
        let writer = Task { await committer.run() }
        for (document, account) in [("0751.a", aarhus), ("0751.b", aarhus), ("0461.c", odense)] {
            committer.submit(try ServerRecords.creation(of: document, by: account, reply: log.record("create \(document)")))
        }
        try await Self.waitUntil { log.all.count == 3 }

        func push(_ label: String, _ document: String, _ account: Account, _ changes: [UInt8]) throws -> PushCommitter.Request {
            .push(.init(document: document, account: account, changes: changes, summary: try ChangeSummary(encodedChanges: changes),
                        origin: 1, reply: log.record(label)))
        }
        var inA = Document(agent: try AgentID("0751/laptop"))
        try inA.insert("Skybrud", at: 0)
        let x1 = try inA.encodedChanges()
        let afterX1 = inA.versionVector
        try inA.insert(" og hedebølger", at: 7)
        let x3 = try inA.encodedChanges(since: afterX1)
        var inB = Document(agent: try AgentID("0751/laptop"))
        try inB.insert("Kystsikring", at: 0)
        var inC = Document(agent: try AgentID("0461/laptop"))
        try inC.insert("Grundvand", at: 0)

        committer.submit(try push("x1", "0751.a", aarhus, x1))
        committer.submit(try push("x2", "0751.b", aarhus, try inB.encodedChanges()))
        committer.submit(try push("y", "0461.c", odense, try inC.encodedChanges()))
        try await Self.waitUntil { log.all.contains("y") }
        // Aarhus is four seconds over its share: its second push waits, and so does one
        // that comes after it (even to another document), behind it.
        committer.submit(try push("x3", "0751.a", aarhus, x3))
        #expect(log.all.contains("x1"))
        #expect(!log.all.contains("x2"), "\(log.all)")
        try await Self.waitUntil { committer.deferredCount == 2 }

        try await Self.waitUntil({ log.all.count == 7 }, seconds: 60)
        #expect(Array(log.all.dropFirst(3)) == ["x1", "y", "x2", "x3"] || Array(log.all.dropFirst(3)) == ["y", "x1", "x2", "x3"],
                "\(log.all)")
        committer.finish()
        await writer.value

        // Everything was stored, each document's text as pushed.
        for (document, text) in [("0751.a", "Skybrud og hedebølger"), ("0751.b", "Kystsikring"), ("0461.c", "Grundvand")] {
            let batches = try await store.pool.read { db in
                try Data.fetchAll(db, sql: "SELECT changes FROM batch WHERE documentID = ? ORDER BY id", arguments: [document])
                    .map { [UInt8]($0) }
            }
            var replica = Document()
            for batch in batches { try replica.merge(encodedChanges: batch) }
            #expect(replica.text() == text)
        }
    }

    @Test("stopping writes the deferred pushes: nothing a client was not refused is dropped")
    func stoppingWritesDeferred() async throws {
        let store = try SporStore(directory: temporaryTestDirectory("spor-merge-shares-stop"))
        let (aarhus, _) = try store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: "0751")
        let committer = PushCommitter(store: store, hub: SubscriptionHub(), metrics: ServerMetrics(), logger: Logger(label: "test"),
                                      mergeShare: (rate: 0.001, burst: 0), mergeCharge: { _ in .seconds(1) })
        let log = AnswerLog()
        let writer = Task { await committer.run() }
        for document in ["0751.a", "0751.b"] {
            committer.submit(try ServerRecords.creation(of: document, by: aarhus, reply: log.record("create \(document)")))
        }
        try await Self.waitUntil { log.all.count == 2 }
        for (label, document) in [("first", "0751.a"), ("second", "0751.b")] {
            var writing = Document(agent: try AgentID("0751/\(label)"))
            try writing.insert(label, at: 0)
            let changes = try writing.encodedChanges()
            committer.submit(.push(.init(document: document, account: aarhus, changes: changes,
                                         summary: try ChangeSummary(encodedChanges: changes), origin: 1, reply: log.record(label))))
        }
        // The second waits a thousand seconds (its organisation's debt) — or until the
        // writer stops.
        try await Self.waitUntil { log.all.contains("first") && committer.deferredCount == 1 }
        committer.finish()
        await writer.value
        #expect(log.all.suffix(2) == ["first", "second"])
        #expect(committer.deferredCount == 0)
    }
}
