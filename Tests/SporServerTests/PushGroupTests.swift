import Foundation
import GRDB
import Logging
import SporCRDT
import SporTestSupport
import SporWire
import Synchronization
import Testing
import SporProposal
@testable import SporServer

/// The committer writes everything queued while it was busy in one transaction and
/// merges each document's pushes into its replica at once. Grouping must not change
/// any answer: each push is accepted or refused as if it had come alone.
@Suite("Pushes written in one transaction", .blockingCallsAllowed)
struct PushGroupTests {
    /// What each request of the group was answered.
    final class Answers: Sendable {
        let byLabel = Mutex<[String: Result<Int, ServerError>]>([:])
        func record(_ label: String) -> @Sendable (Result<PushCommitter.Stored, ServerError>) -> Void {
            { result in self.byLabel.withLock { $0[label] = result.map(\.newEvents) } }
        }
        func code(_ label: String) -> WireErrorCode? {
            guard case let .failure(error)? = byLabel.withLock({ $0[label] }) else { return nil }
            return error.code
        }
        func newEvents(_ label: String) -> Int? {
            guard case let .success(count)? = byLabel.withLock({ $0[label] }) else { return nil }
            return count
        }
    }

    /// A committer on a fresh store with one organisation (Aarhus), not yet running:
    /// everything submitted before `run()` is written in one transaction.
    static func committer(maxQueued: Int = 4_096, replicaWindow: Int = 2_048) throws -> (SporStore, Account, PushCommitter) {
        let store = try SporStore(directory: temporaryTestDirectory("spor-push-group"))
        let (aarhus, _) = try store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: "0751")
        let committer = PushCommitter(store: store, hub: SubscriptionHub(), metrics: ServerMetrics(), logger: Logger(label: "test"),
                                      replicaWindow: replicaWindow, maxQueued: maxQueued)
        return (store, aarhus, committer)
    }

    @Test("a commit fsyncs the WAL before pushes are acknowledged: synchronous = FULL on the store's writer")
    func commitsAreSynchronous() async throws {
        let store = try SporStore(directory: temporaryTestDirectory("spor-synchronous"))
        // GRDB sets NORMAL when it opens a pool's writer in WAL mode; what counts is
        // the setting in force on the connection that commits.
        let level = try await store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(level == 2, "PRAGMA synchronous is \(level.map(String.init) ?? "nil"); 2 is FULL")
    }

    @Test("a group with a batch that does not apply: it and what builds on it are refused, everything else is stored in order")
    func groupAnsweredAsIfAlone() async throws {
        let (store, aarhus, committer) = try Self.committer()
        let answers = Answers()

        // The server gets "a"; an edit made on "abc" does not apply to it, and the next
        // edit builds on that one.
        let fixture = try EditOutsideItsText(agent: "0751/x")
        let stored = fixture.storedHistory
        var author = fixture.author
        let doesNotApply = fixture.edit
        let afterIt = author.versionVector
        try author.insert("?", at: 4)
        let buildsOnIt = try author.encodedChanges(since: afterIt)
        // Another writer's edit of the stored history: independent, valid.
        var partner = Document(agent: try AgentID("0751/y"))
        try partner.merge(encodedChanges: try stored.encodedChanges())
        try partner.insert("Z", at: 1)
        let valid = try partner.encodedChanges(since: stored.versionVector)

        func push(_ label: String, _ changes: [UInt8]) throws -> PushCommitter.Request {
            .push(.init(document: "0751.p", account: aarhus, changes: changes, summary: try ChangeSummary(encodedChanges: changes),
                        origin: 1, reply: answers.record(label)))
        }
        committer.submit(try ServerRecords.creation(of: "0751.p", by: aarhus, reply: answers.record("create")))
        for request in [
            try push("stored", try stored.encodedChanges()),
            try push("doesNotApply", doesNotApply),
            try push("doesNotApply again", doesNotApply),  // a resend within the same group
            try push("buildsOnIt", buildsOnIt),
            try push("valid", valid),
            try push("stored again", try stored.encodedChanges()),
        ] { committer.submit(request) }
        // Everything is queued before the writer starts: one transaction.
        committer.finish()
        await committer.run()

        #expect(answers.newEvents("create") == 1, "the server's own event: the creator as lead in the members map")
        #expect(answers.newEvents("stored") == 3)
        #expect(answers.code("doesNotApply") == .invalidChanges)
        #expect(answers.code("doesNotApply again") == .invalidChanges, "not acknowledged as a duplicate of a refused push")
        #expect(answers.code("buildsOnIt") == .missingDependencies)
        #expect(answers.newEvents("valid") == 1)
        #expect(answers.newEvents("stored again") == 0)

        // Stored: exactly the accepted batches, in arrival order, and they merge.
        let batches = try await store.pool.read { db in
            try Data.fetchAll(db, sql: "SELECT changes FROM batch WHERE documentID = '0751.p' ORDER BY id").map { [UInt8]($0) }
        }
        #expect(Array(batches.dropFirst()) == [try stored.encodedChanges(), valid])
        #expect(try ChangeSummary(encodedChanges: batches[0]).runs.map(\.agent) == [ProposalSchema.serverAgent])
        var replica = Document()
        for batch in batches { try replica.merge(encodedChanges: batch) }
        #expect(replica.text() == "aZ")
        let entries = try await store.documents(visibleTo: aarhus)
        #expect(entries.first?.events == 5)
    }

    @Test("a group without a bad batch: every push stored, in arrival order, the same document as pushed one by one")
    func groupOfValidPushes() async throws {
        let (store, aarhus, committer) = try Self.committer()
        let answers = Answers()
        committer.submit(try ServerRecords.creation(of: "0751.p", by: aarhus) { _ in })
        // Two writers typing at once, each merging the other's batches some of the time.
        var writers = [Document(agent: try AgentID("0751/a")), Document(agent: try AgentID("0751/b"))]
        var random = SeededRandom(seed: 0x9_12)
        var pushed: [[UInt8]] = []
        for step in 0..<40 {
            let index = step % 2
            let before = writers[index].versionVector
            try writers[index].insert("\(step % 10)", at: Int.random(in: 0...writers[index].textLength(), using: &random))
            let batch = try writers[index].encodedChanges(since: before)
            pushed.append(batch)
            committer.submit(.push(.init(document: "0751.p", account: aarhus, changes: batch,
                                         summary: try ChangeSummary(encodedChanges: batch), origin: 1,
                                         reply: answers.record("\(step)"))))
            if Bool.random(using: &random) {
                let other = 1 - index
                try writers[other].merge(encodedChanges: try writers[index].encodedChanges(since: writers[other].versionVector))
            }
        }
        committer.finish()
        await committer.run()
        #expect((0..<40).allSatisfy { answers.newEvents("\($0)") == 1 })
        let batches = try await store.pool.read { db in
            try Data.fetchAll(db, sql: "SELECT changes FROM batch WHERE documentID = '0751.p' ORDER BY id").map { [UInt8]($0) }
        }
        #expect(Array(batches.dropFirst()) == pushed, "after the server's first event")
        var oneByOne = Document()
        for batch in pushed { try oneByOne.merge(encodedChanges: batch) }
        for index in writers.indices { try writers[index].merge(encodedChanges: try oneByOne.encodedChanges(since: writers[index].versionVector)) }
        #expect(writers.allSatisfy { $0.text() == oneByOne.text() })
    }

    @Test("a full queue makes a submitter wait until the writer takes the queue")
    func fullQueueWaits() async throws {
        let (_, aarhus, committer) = try Self.committer(maxQueued: 2)
        let created = Mutex(0)
        for document in ["0751.p", "0751.q"] {
            committer.submit(try ServerRecords.creation(of: document, by: aarhus) { _ in created.withLock { $0 += 1 } })
        }
        let resumed = Mutex(false)
        let waiter = Task {
            await committer.waitForRoom()
            resumed.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(!resumed.withLock { $0 }, "two requests queued, the limit: the submitter waits")
        let writer = Task { await committer.run() }
        await waiter.value
        #expect(resumed.withLock { $0 })
        committer.finish()
        await writer.value
        #expect(created.withLock { $0 } == 2)
        // Below the limit, and after the writer stopped, nobody waits.
        await committer.waitForRoom()
    }

    @Test("replicas keep a window of history; a push from before it is checked against the stored history")
    func pushOlderThanTheWindow() async throws {
        let (store, aarhus, committer) = try Self.committer(replicaWindow: 16)
        let writer = Task { await committer.run() }
        func push(_ changes: [UInt8]) async throws -> Result<Int, ServerError> {
            let summary = try ChangeSummary(encodedChanges: changes)
            return await withCheckedContinuation { answered in
                committer.submit(.push(.init(document: "0751.p", account: aarhus, changes: changes, summary: summary, origin: 1,
                                             reply: { answered.resume(returning: $0.map(\.newEvents)) })))
            }
        }
        await withCheckedContinuation { created in
            do {
                committer.submit(try ServerRecords.creation(of: "0751.p", by: aarhus) { _ in created.resume() })
            } catch {
                created.resume()
            }
        }
        // The offline partner's edits will not apply where the server has "a" (fixture).
        let fixture = try EditOutsideItsText(agent: "0751/offline")
        #expect(try await push(try fixture.storedHistory.encodedChanges()).get() == 3)
        var online = Document(agent: try AgentID("0751/online"))
        try online.merge(encodedChanges: try fixture.storedHistory.encodedChanges())
        // Online partners have the server's first event too (a critical version).
        try online.merge(encodedChanges: try await store.storedHistory(of: "0751.p").batches)
        // The offline partner has "a" too, then works offline.
        var offline = Document(agent: try AgentID("0751/offline2"))
        try offline.merge(encodedChanges: try fixture.storedHistory.encodedChanges())
        // 60 acknowledged keystrokes, one transaction each: the replica is trimmed.
        for keystroke in 0..<60 {
            let before = online.versionVector
            try online.insert(keystroke % 6 == 5 ? " " : "o", at: online.textLength())
            #expect(try await push(try online.encodedChanges(since: before)).get() == 1)
        }
        // Pushes are answered before the writer trims and puts replicas back: wait for it.
        var held = committer.replicaHeldEvents("0751.p")
        let deadline = ContinuousClock.now + .seconds(30)
        while held == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            held = committer.replicaHeldEvents("0751.p")
        }
        let heldEvents = try #require(held)
        #expect(heldEvents <= 32, "the replica holds \(heldEvents) of 63 events")

        // Back online: an edit made on the old version is accepted after a rebuild...
        let before = offline.versionVector
        try offline.insert("Region: ", at: 0)
        #expect(try await push(try offline.encodedChanges(since: before)).get() == 8)
        // ...and an old edit that does not apply is still refused for what it is.
        let refusal = try await push(fixture.edit)
        guard case let .failure(error) = refusal else {
            Issue.record("an edit outside its text was accepted: \(refusal)")
            return
        }
        #expect(error.code == .invalidChanges)
        committer.finish()
        await writer.value

        let batches = try await store.pool.read { db in
            try Data.fetchAll(db, sql: "SELECT changes FROM batch WHERE documentID = '0751.p' ORDER BY id").map { [UInt8]($0) }
        }
        #expect(batches.count == 63, "the server's first event, the stored history, 60 keystrokes, the offline edit")
        var replica = Document()
        try replica.merge(encodedChanges: batches)
        try offline.merge(encodedChanges: try replica.encodedChanges(since: offline.versionVector))
        #expect(replica.text() == offline.text())
        #expect(replica.text().hasPrefix("Region: a"))
    }
}
