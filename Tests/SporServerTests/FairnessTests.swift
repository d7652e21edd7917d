import Foundation
import NIOCore
import NIOPosix
import SporCRDT
import SporWire
import Synchronization
import SporTestSupport
import Testing
@testable import SporServer

/// One client cannot hurt the others: rate limits slow the sender down, and a
/// connection whose relayed changes pile up is disconnected instead of growing the
/// server's memory.
@Suite("fairness", .blockingCallsAllowed)
struct FairnessTests {
    @Test("over its frame rate a client is slowed down, not refused, and nothing is dropped")
    func rateLimitSlowsDown() async throws {
        let server = try await TestServer.start {
            $0.limits.framesPerSecond = 20
            $0.limits.frameBurst = 20
        }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var client = try await server.connect(token: token)
        let start = ContinuousClock.now
        for nonce in 1...60 { try await client.send(.ping(nonce: UInt64(nonce))) }
        for nonce in 1...60 {
            #expect(try await client.receive() == .pong(nonce: UInt64(nonce)))
        }
        // 60 frames (HELLO included: 61) at 20/s after a burst of 20 take at least ~2 s.
        #expect(ContinuousClock.now - start >= .milliseconds(1500))
        await client.close()
        try await server.stop()
    }

    @Test("a connection's queue of relayed changes is bounded: overflowing it disconnects, once")
    func outboxOverflow() {
        let closed = Mutex(0)
        let outbox = Outbox(limit: 10_000) { closed.withLock { $0 += 1 } }
        let batch = SporMessage.events(.init(document: "p", isCatchUp: false, batches: [Array(repeating: 7, count: 4_000)]))
        #expect(outbox.enqueue(batch))
        #expect(outbox.enqueue(batch))
        // The third would pass the limit while two wait: the outbox overflows.
        #expect(!outbox.enqueue(batch))
        #expect(outbox.overflowed)
        #expect(closed.withLock { $0 } == 1)
        // Nothing more is accepted, nothing queued is sent, and the close is not repeated.
        #expect(!outbox.enqueue(.pong(nonce: 1)))
        #expect(outbox.takeNext().messages.isEmpty)
        #expect(closed.withLock { $0 } == 1)
    }

    @Test("messages the pump takes no longer count against the bound")
    func outboxDrainsBound() {
        let outbox = Outbox(limit: 10_000) {}
        let batch = SporMessage.events(.init(document: "p", isCatchUp: false, batches: [Array(repeating: 7, count: 4_000)]))
        for _ in 0..<20 {
            #expect(outbox.enqueue(batch))
            #expect(outbox.enqueue(batch))
            #expect(outbox.takeNext().messages.count == 2)
        }
        #expect(!outbox.overflowed)
    }

    @Test("a subscriber that stops reading is disconnected; the others get everything, and it catches up later")
    func slowConsumerEndToEnd() async throws {
        let server = try await TestServer.start {
            $0.limits.maxQueuedBytesPerConnection = 256 * 1024
            $0.limits.socketSendBufferBytes = 16 * 1024
        }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var writer = try await server.connect(token: token)
        try await writer.createDocument("p")
        // Subscribes, then never reads from its socket again.
        let stalled = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
            .connect(host: "127.0.0.1", port: server.port).get()
        var handshake = SporMessage.hello(.init(token: token, client: "stalled")).frameBytes
        handshake += SporMessage.subscribe(document: "p", version: VersionVector()).frameBytes
        try await stalled.writeAndFlush(stalled.allocator.buffer(bytes: handshake))
        var reader = try await server.connect(token: token)
        var replica = Document()
        try await reader.subscribeAndCatchUp("p", into: &replica)

        var document = Document(agent: try AgentID("0751/bulk"))
        var random = SystemRandomNumberGenerator()
        let letters = Array("abcdefghijklmnopqrstuvwxyzæøå ")
        // Random letters barely compress: each batch is ~40 KB on the wire.
        let text = String((0..<60_000).map { _ in letters[Int.random(in: 0..<letters.count, using: &random)] })
        var pushed = VersionVector()
        for _ in 0..<24 {
            try document.insert(text, at: document.textLength())
            guard case .pushAck = try await writer.push(try document.encodedChanges(since: pushed), to: "p") else {
                throw TestFailure("push refused")
            }
            pushed = document.versionVector
            try await reader.mergeLive("p", into: &replica) { $0.eventCount == document.eventCount }
        }
        #expect(replica.text() == document.text())
        // The server gave up on the stalled connection instead of queueing without end
        // (the stalled client reads nothing, so it is the server's count that shows it).
        let deadline = ContinuousClock.now + .seconds(10)
        while !server.server.prometheusMetrics().contains("spor_slow_consumers_total 1"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.server.prometheusMetrics().contains("spor_slow_consumers_total 1"))
        try await stalled.close()
        // Nothing was lost: reconnecting, it catches up from storage.
        var again = try await server.connect(token: token)
        var caughtUp = Document()
        try await again.subscribeAndCatchUp("p", into: &caughtUp)
        #expect(caughtUp.text() == document.text())
        await writer.close()
        await reader.close()
        await again.close()
        try await server.stop()
    }
}
