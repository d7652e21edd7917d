import Foundation
import SporCRDT
import SporServer
import SporTestSupport
import SporWire
import Synchronization
import Testing

/// Protocol 3: the server tells each client when it stored each batch, by its own
/// clock — in PUSH_ACK to the pusher, in live EVENTS and in catch-up EVENTS — and a
/// version 2 client is served the version 2 frames without them. Real TCP, an
/// in-process server whose clock the test sets (no client's clock plays a part: there
/// is no field a client could put a time in).
@Suite("the server's stored times", .blockingCallsAllowed)
struct StoredTimeTests {
    final class Clock: Sendable {
        let seconds = Mutex<Int64>(1_900_000_000)
        var now: Date { Date(timeIntervalSince1970: TimeInterval(seconds.withLock { $0 })) }
        func set(_ value: Int64) { seconds.withLock { $0 = value } }
        func advance(by delta: Int64) { seconds.withLock { $0 += delta } }
    }

    static let id = "0751.p"

    /// Waits for the EVENTS of `id` and returns them.
    static func events(_ client: inout TestClient) async throws -> SporMessage.Events {
        try await client.receive { message in
            if case let .events(events) = message, events.document == id { return events }
            return nil
        }
    }

    @Test("PUSH_ACK, live EVENTS and catch-up carry the server's clock at storing; version 2 connections get none; a duplicate has none")
    func storedTimes() async throws {
        let clock = Clock()
        let server = try await TestServer.start { $0.now = { clock.now } }
        let aarhusToken = try server.addOrganisation("Aarhus Kommune", code: "0751")
        let odenseToken = try server.addOrganisation("Odense Kommune", code: "0461")
        var aarhus = try await server.connect(token: aarhusToken)
        #expect(aarhus.welcome?.version == 4)
        try await aarhus.createDocument(Self.id)
        try await aarhus.addMember("0461", to: Self.id)
        var odense = try await server.connect(token: odenseToken)
        var odenseOld = try await server.connect(token: odenseToken, versions: 2...2)
        #expect(odenseOld.welcome?.version == 2)
        var odenseReplica = Document(agent: try AgentID("0461/a"))
        var oldReplica = Document(agent: try AgentID("0461/b"))
        try await odense.subscribeAndCatchUp(Self.id, into: &odenseReplica)
        try await odenseOld.subscribeAndCatchUp(Self.id, into: &oldReplica)

        var writer = Document(agent: try AgentID("0751/a"))
        _ = try await aarhus.subscribeAndCatchUp(Self.id, into: &writer)
        var sent = writer.versionVector
        try writer.insert("S", at: 0)
        clock.set(1_900_000_100)
        let first = try writer.encodedChanges(since: sent)
        sent = writer.versionVector
        let ack = try await aarhus.push(first, to: Self.id)
        guard case let .pushAck(_, _, newEvents, storedAt) = ack else { throw TestFailure("push refused: \(ack)") }
        #expect(newEvents == 1 && storedAt == 1_900_000_100, "\(ack)")

        // Relayed live: with the time to the version 3 subscriber, without to the version 2 one.
        let live = try await Self.events(&odense)
        #expect(!live.isCatchUp && live.batches == [first] && live.storedAt == [1_900_000_100], "\(live)")
        let liveOld = try await Self.events(&odenseOld)
        #expect(liveOld.batches == [first] && liveOld.storedAt == nil, "\(liveOld)")

        // The same batch again stores nothing: no time.
        guard case let .pushAck(_, _, 0, again) = try await aarhus.push(first, to: Self.id) else { throw TestFailure("duplicate refused") }
        #expect(again == 0)

        clock.set(1_900_003_600)
        try writer.insert("k", at: 1)
        guard case .pushAck(_, _, 1, 1_900_003_600) = try await aarhus.push(try writer.encodedChanges(since: sent), to: Self.id) else {
            throw TestFailure("second push")
        }

        // A new subscriber catches up with every batch's own stored time, in order.
        clock.set(1_900_009_999)
        var late = try await server.connect(token: odenseToken)
        try await late.send(.subscribe(request: late.request(), document: Self.id, version: VersionVector()))
        var times: [Int64] = []
        var batches = 0
        while true {
            let message = try await late.receive { message -> SporMessage? in
                switch message {
                case let .events(events) where events.document == Self.id: message
                case .caughtUp: message
                default: nil
                }
            }
            guard case let .events(events) = message else { break }
            #expect(events.isCatchUp)
            batches += events.batches.count
            times += try #require(events.storedAt, "a version 3 catch-up carries stored times")
        }
        // Creation and membership are the server's own batches, stored before the clock moved.
        #expect(batches == 4 && times == [1_900_000_000, 1_900_000_000, 1_900_000_100, 1_900_003_600], "\(times)")

        // The version 2 connection's catch-up (subscribing again) has none. (It got
        // the second push live first.)
        #expect(try await Self.events(&odenseOld).storedAt == nil)
        try await odenseOld.send(.unsubscribe(document: Self.id))
        var again2 = Document(agent: try AgentID("0461/c"))
        try await odenseOld.send(.subscribe(request: odenseOld.request(), document: Self.id, version: VersionVector()))
        while true {
            let message = try await odenseOld.receive { message -> SporMessage? in
                switch message {
                case let .events(events) where events.document == Self.id: message
                case .caughtUp: message
                default: nil
                }
            }
            guard case let .events(events) = message else { break }
            #expect(events.storedAt == nil, "\(events)")
            for batch in events.batches { try again2.merge(encodedChanges: batch) }
        }
        #expect(again2.versionVector == writer.versionVector)
        for client in [aarhus, odense, odenseOld, late] { await client.close() }
        try await server.stop()
    }
}
