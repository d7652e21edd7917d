import Foundation
import SporCRDT
import SporWire
import Synchronization
import Testing
@testable import SporServer

/// One client cannot hurt the others: rate limits slow the sender down, and a
/// connection whose relayed changes pile up is disconnected instead of growing the
/// server's memory.
@Suite("fairness")
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
}
