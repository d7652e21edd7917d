import Foundation
import NIOCore
import NIOEmbedded
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

    /// An outbox on an embedded channel: its drain runs only when the test runs the
    /// loop, so frames can be left waiting in the outbox.
    static func embeddedOutbox(limit: Int, onOverflow: @escaping @Sendable () -> Void = {}) -> (Outbox, EmbeddedChannel) {
        let channel = EmbeddedChannel()
        let outbox = Outbox(channel: channel, limit: limit, sendCatchUp: { _, _ in
            Issue.record("no catch-up was queued")
        }, onOverflow: onOverflow)
        return (outbox, channel)
    }

    /// The frames the outbox wrote to `channel`, decoded.
    static func written(_ channel: EmbeddedChannel) throws -> [SporMessage] {
        var messages: [SporMessage] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            // One frame per write, whole.
            let message = try SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: 1 << 20)
            #expect(buffer.readableBytes == 0)
            if let message { messages.append(message) }
        }
        return messages
    }

    @Test("a connection's queue of relayed changes is bounded: overflowing it disconnects, once")
    func outboxOverflow() throws {
        let closed = Mutex(0)
        let (outbox, channel) = Self.embeddedOutbox(limit: 10_000) { closed.withLock { $0 += 1 } }
        let batch = SporMessage.events(.init(document: "0751.p", isCatchUp: false, batches: [Array(repeating: 7, count: 4_000)]))
        #expect(outbox.enqueue(batch))
        #expect(outbox.enqueue(batch))
        // The third would pass the limit while two wait: the outbox overflows.
        #expect(!outbox.enqueue(batch))
        #expect(outbox.overflowed)
        #expect(closed.withLock { $0 } == 1)
        // Nothing more is accepted, nothing queued is sent, and the close is not repeated.
        #expect(!outbox.enqueue(.pong(nonce: 1)))
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel).isEmpty)
        #expect(closed.withLock { $0 } == 1)
        // The connection's reader is not kept waiting for an outbox that will not write.
        #expect(throws: Never.self) { try outbox.end.wait() }
    }

    @Test("frames written to the socket no longer count against the bound; they go out in queue order")
    func outboxDrainsBound() throws {
        let (outbox, channel) = Self.embeddedOutbox(limit: 10_000)
        for round in 0..<20 {
            let first = SporMessage.events(.init(document: "0751.p", isCatchUp: false, batches: [Array(repeating: UInt8(round), count: 4_000)]))
            #expect(outbox.enqueue(first))
            #expect(outbox.enqueue(.pong(nonce: UInt64(round))))
            channel.embeddedEventLoop.run()
            #expect(try Self.written(channel) == [first, .pong(nonce: UInt64(round))])
        }
        #expect(!outbox.overflowed)
    }

    @Test("a relayed frame shared by several outboxes reaches each of them intact")
    func sharedFrame() throws {
        let outboxes = (0..<3).map { _ in Self.embeddedOutbox(limit: 10_000) }
        let message = SporMessage.events(.init(document: "0751.p", isCatchUp: false, batches: [[1, 2, 3, 4]]))
        let frame = Outbox.encode(message, allocator: ByteBufferAllocator())
        for (outbox, _) in outboxes { #expect(outbox.enqueue(frame: frame)) }
        for (_, channel) in outboxes {
            channel.embeddedEventLoop.run()
            #expect(try Self.written(channel) == [message])
        }
    }

    @Test("finishing writes what is queued and the last message, then ends; later messages are refused")
    func outboxFinish() throws {
        let (outbox, channel) = Self.embeddedOutbox(limit: 10_000)
        #expect(outbox.enqueue(.pong(nonce: 1)))
        let last = SporMessage.error(.init(code: .shuttingDown, message: "the server is shutting down"))
        outbox.finish(with: last)
        #expect(!outbox.enqueue(.pong(nonce: 2)))
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [.pong(nonce: 1), last])
        #expect(throws: Never.self) { try outbox.end.wait() }
    }

    @Test("a subscriber that stops reading is disconnected; the others get everything, and it catches up later")
    func slowConsumerEndToEnd() async throws {
        let server = try await TestServer.start {
            $0.limits.maxQueuedBytesPerConnection = 256 * 1024
            $0.limits.socketSendBufferBytes = 16 * 1024
        }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var writer = try await server.connect(token: token)
        try await writer.createDocument("0751.p")
        // Subscribes, then never reads from its socket again.
        let stalled = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
            .connect(host: "127.0.0.1", port: server.port).get()
        var handshake = SporMessage.hello(.init(token: token, client: "stalled")).frameBytes
        handshake += SporMessage.subscribe(request: 99, document: "0751.p", version: VersionVector()).frameBytes
        try await stalled.writeAndFlush(stalled.allocator.buffer(bytes: handshake))
        var reader = try await server.connect(token: token)
        var replica = Document()
        try await reader.subscribeAndCatchUp("0751.p", into: &replica)

        var document = Document(agent: try AgentID("0751/bulk"))
        var random = SystemRandomNumberGenerator()
        let letters = Array("abcdefghijklmnopqrstuvwxyzæøå ")
        // Random letters barely compress: each batch is ~40 KB on the wire.
        let text = String((0..<60_000).map { _ in letters[Int.random(in: 0..<letters.count, using: &random)] })
        var pushed = VersionVector()
        for _ in 0..<24 {
            try document.insert(text, at: document.textLength())
            guard case .pushAck = try await writer.push(try document.encodedChanges(since: pushed), to: "0751.p") else {
                throw TestFailure("push refused")
            }
            pushed = document.versionVector
            try await reader.mergeLive("0751.p", into: &replica) { $0.clientEventCount == document.eventCount }
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
        try await again.subscribeAndCatchUp("0751.p", into: &caughtUp)
        #expect(caughtUp.text() == document.text())
        await writer.close()
        await reader.close()
        await again.close()
        try await server.stop()
    }
}
