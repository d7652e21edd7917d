import Foundation
import GRDB
import SporCRDT
import SporServer
import SporTestSupport
import SporWire
import Testing

/// Protocol 4: a catch-up from nothing starts with the server's checkpoint of the
/// document (SNAPSHOT), then only the batches stored after it — and ends where a
/// catch-up of every batch ends: the same text, the same version, the same stored
/// time for every event. Real TCP against an in-process server with a set clock;
/// histories of two organisations writing concurrently, from replayable seeds.
@Suite("checkpoints and SNAPSHOT", .blockingCallsAllowed)
struct CheckpointTests {
    typealias Clock = StoredTimeTests.Clock

    static let id = "0751.p"
    static let reader: AgentID = {
        guard let agent = try? AgentID("9999/reader") else { fatalError("test agent name invalid") }
        return agent
    }()

    /// What one catch-up from the empty version brought.
    struct CatchUp {
        var snapshots: [SporMessage.Snapshot] = []
        var batches: [[UInt8]] = []
        /// The stored time of each batch (EVENTS), in order.
        var batchTimes: [Int64] = []
        var caughtUp = VersionVector()
        var replica = Document(agent: CheckpointTests.reader)

        /// The earliest stored time the catch-up gave each event.
        func storedTimes() throws -> [EventID: Int64] {
            var times: [EventID: Int64] = [:]
            func note(_ agent: AgentID, _ seqs: Range<Int>, _ time: Int64) {
                for seq in seqs {
                    let event = EventID(agent: agent, seq: seq)
                    times[event] = min(times[event] ?? .max, time)
                }
            }
            for snapshot in snapshots {
                for run in snapshot.storedTimes { note(run.agent, run.seqs, run.storedAt) }
            }
            for (batch, time) in zip(batches, batchTimes) {
                for run in try ChangeSummary(encodedChanges: batch).runs { note(run.agent, run.seqs, time) }
            }
            return times
        }
    }

    /// Subscribes from the empty version and merges everything up to CAUGHT_UP.
    static func catchUp(_ client: inout TestClient) async throws -> CatchUp {
        var result = CatchUp()
        try await client.send(.subscribe(request: client.request(), document: id, version: VersionVector()))
        while true {
            guard let message = try await client.receive() else { throw TestFailure("closed during catch-up") }
            switch message {
            case let .snapshot(snapshot) where snapshot.document == id:
                #expect(result.batches.isEmpty, "SNAPSHOT comes first")
                result.snapshots.append(snapshot)
                try result.replica.merge(encodedChanges: snapshot.file, trustingTexts: true)
            case let .events(events) where events.document == id:
                result.batches += events.batches
                result.batchTimes += events.storedAt ?? Array(repeating: 0, count: events.batches.count)
                for batch in events.batches { try result.replica.merge(encodedChanges: batch) }
            case let .caughtUp(document, version) where document == id:
                result.caughtUp = version
                return result
            case let .error(report):
                throw TestFailure("error during catch-up: \(report.message)")
            default:
                continue
            }
        }
    }

    /// Aarhus creates the proposal with Odense as a partner; both connect and subscribe.
    static func startProposal(on server: TestServer) async throws
        -> (aarhusToken: String, odenseToken: String, aarhus: TestClient, odense: TestClient, writers: (Document, Document)) {
        let aarhusToken = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let odenseToken = try server.addOrganisation("Odense Kommune", code: "0461")
        var aarhus = try await server.connect(token: aarhusToken)
        try await aarhus.createDocument(id)
        try await aarhus.addMember("0461", to: id)
        var odense = try await server.connect(token: odenseToken)
        var writers = (Document(agent: try AgentID("0751/a")), Document(agent: try AgentID("0461/a")))
        try await aarhus.subscribeAndCatchUp(id, into: &writers.0)
        try await odense.subscribeAndCatchUp(id, into: &writers.1)
        return (aarhusToken, odenseToken, aarhus, odense, writers)
    }

    /// Aarhus and Odense write `rounds` times each, concurrently (each pushes before
    /// seeing the other's latest), merging each other's work at random: one batch per
    /// push, so the document has `2 * rounds` batches besides the server's own.
    static func write(rounds: Int, seed: UInt64, clock: Clock,
                      aarhus: inout TestClient, odense: inout TestClient,
                      writers: inout (Document, Document)) async throws {
        var random = SeededRandom(seed: seed)
        for round in 0..<rounds {
            for side in 0..<2 {
                var writer = side == 0 ? writers.0 : writers.1
                let sent = writer.versionVector
                let length = writer.text().count
                let position = Int.random(in: 0...length, using: &random)
                try writer.insert("\(side == 0 ? "a" : "o")\(round) ", at: position)
                if length > 4, Bool.random(using: &random) {
                    let start = Int.random(in: 0..<(length - 2), using: &random)
                    try writer.delete(start..<(start + 2))
                }
                clock.advance(by: 7)
                let changes = try writer.encodedChanges(since: sent)
                let ack = side == 0 ? try await aarhus.push(changes, to: id) : try await odense.push(changes, to: id)
                guard case .pushAck = ack else { throw TestFailure("push refused: \(ack)") }
                if side == 0 { writers.0 = writer } else { writers.1 = writer }
            }
            // Sometimes one side takes in the other's work; until then they stay concurrent.
            if Int.random(in: 0..<3, using: &random) == 0 {
                try writers.0.merge(encodedChanges: try writers.1.encodedChanges(since: writers.0.versionVector))
            }
            if Int.random(in: 0..<3, using: &random) == 0 {
                try writers.1.merge(encodedChanges: try writers.0.encodedChanges(since: writers.1.versionVector))
            }
        }
        try writers.0.merge(encodedChanges: try writers.1.encodedChanges(since: writers.0.versionVector))
        try writers.1.merge(encodedChanges: try writers.0.encodedChanges(since: writers.1.versionVector))
    }

    @Test("a catch-up from nothing: SNAPSHOT, then only later batches; the same text, version and stored times as every batch",
          arguments: [1, 2, 3] as [UInt64])
    func snapshotCatchUp(seed: UInt64) async throws {
        let clock = Clock()
        let server = try await TestServer.start { $0.now = { clock.now } }
        let started = try await Self.startProposal(on: server)
        let (aarhusToken, odenseToken) = (started.aarhusToken, started.odenseToken)
        var (aarhus, odense, writers) = (started.aarhus, started.odense, started.writers)
        try await Self.write(rounds: 12, seed: seed, clock: clock, aarhus: &aarhus, odense: &odense, writers: &writers)
        #expect(writers.0.text() == writers.1.text())

        // Version 3: every batch, as before.
        var old = try await server.connect(token: odenseToken, versions: 2...3)
        let full = try await Self.catchUp(&old)
        #expect(full.snapshots.isEmpty)
        #expect(full.batches.count == 26, "creation, membership and 24 pushes")
        #expect(full.replica.text() == writers.0.text())

        // Version 4: the checkpoint (made now: 26 batches and none yet), nothing after it.
        var fresh = try await server.connect(token: odenseToken)
        let first = try await Self.catchUp(&fresh)
        #expect(first.snapshots.count == 1)
        #expect(first.batches.isEmpty)
        #expect(first.replica.text() == writers.0.text())
        #expect(first.caughtUp == full.caughtUp)
        #expect(first.replica.versionVector == writers.0.versionVector)
        #expect(try first.storedTimes() == full.storedTimes())

        // Eight more pushes: the checkpoint stays, the catch-up sends the eight after it.
        try await Self.write(rounds: 4, seed: seed + 100, clock: clock, aarhus: &aarhus, odense: &odense, writers: &writers)
        var later = try await server.connect(token: aarhusToken)
        let second = try await Self.catchUp(&later)
        #expect(second.snapshots == first.snapshots)
        #expect(second.batches.count == 8)
        #expect(second.replica.text() == writers.0.text())
        var oldAgain = try await server.connect(token: odenseToken, versions: 3...3)
        let fullAgain = try await Self.catchUp(&oldAgain)
        #expect(second.caughtUp == fullAgain.caughtUp)
        #expect(try second.storedTimes() == fullAgain.storedTimes())
        try await server.stop()
    }

    @Test("a document of few batches is caught up with EVENTS only")
    func smallDocumentNoSnapshot() async throws {
        let clock = Clock()
        let server = try await TestServer.start { $0.now = { clock.now } }
        let started = try await Self.startProposal(on: server)
        let odenseToken = started.odenseToken
        var (aarhus, odense, writers) = (started.aarhus, started.odense, started.writers)
        try await Self.write(rounds: 3, seed: 9, clock: clock, aarhus: &aarhus, odense: &odense, writers: &writers)
        var fresh = try await server.connect(token: odenseToken)
        let caughtUp = try await Self.catchUp(&fresh)
        #expect(caughtUp.snapshots.isEmpty)
        #expect(caughtUp.batches.count == 8)
        #expect(caughtUp.replica.text() == writers.0.text())
        try await server.stop()
    }

    @Test("after a restart the replica is rebuilt from the checkpoint; a damaged checkpoint is rebuilt, never sent")
    func restartAndDamagedCheckpoint() async throws {
        let clock = Clock()
        let directory = TestServer.temporaryDirectory()
        var server = try await TestServer.start(directory: directory) { $0.now = { clock.now } }
        let started = try await Self.startProposal(on: server)
        let (aarhusToken, odenseToken) = (started.aarhusToken, started.odenseToken)
        var (aarhus, odense, writers) = (started.aarhus, started.odense, started.writers)
        try await Self.write(rounds: 10, seed: 5, clock: clock, aarhus: &aarhus, odense: &odense, writers: &writers)
        var fresh = try await server.connect(token: odenseToken)
        #expect(try await Self.catchUp(&fresh).snapshots.count == 1, "the checkpoint is made")
        await aarhus.close()
        await odense.close()
        await fresh.close()
        try await server.stop()

        // Restarted: the replica is opened from the checkpoint. A push made on an
        // old version (concurrent with most of the history) must be checked against it.
        server = try await TestServer.start(directory: directory) { $0.now = { clock.now } }
        aarhus = try await server.connect(token: aarhusToken)
        var offline = Document(agent: try AgentID("0751/b"))
        try offline.merge(encodedChanges: try writers.0.encodedChanges(since: VersionVector()))
        let oldVersion = offline.versionVector
        try offline.insert("sent from the start ", at: 0)
        guard case .pushAck(_, _, let added, _) = try await aarhus.push(try offline.encodedChanges(since: oldVersion), to: Self.id),
              added > 0 else { throw TestFailure("the offline push was refused") }
        try writers.0.merge(encodedChanges: try offline.encodedChanges(since: writers.0.versionVector))
        try await server.stop()

        // The checkpoint's file damaged on disk: a fresh catch-up rebuilds it.
        let database = try DatabaseQueue(path: (directory as NSString).appendingPathComponent("spor.sqlite"))
        try await database.write { db in try db.execute(sql: "UPDATE checkpoint SET file = x'00010203'") }
        try database.close()
        server = try await TestServer.start(directory: directory) { $0.now = { clock.now } }
        var afterDamage = try await server.connect(token: odenseToken)
        let caughtUp = try await Self.catchUp(&afterDamage)
        #expect(caughtUp.snapshots.count == 1)
        #expect(caughtUp.snapshots.first?.file != [0, 1, 2, 3])
        #expect(caughtUp.replica.text() == writers.0.text())
        try await server.stop()
    }
}
