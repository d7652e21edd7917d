import Foundation
import SporCRDT
import SporWire
import SporTestSupport
import Testing
@testable import SporWireClient

/// `WireConnection` reads the socket only as fast as its reader takes messages: a
/// client that is busy (merging, writing its workspace) does not buffer without bound.
@Suite("Client connection backpressure", .blockingCallsAllowed)
struct ClientBackpressureTests {
    @Test("the flow counter pauses reading at the high-water mark and resumes once at the low-water mark")
    func flowCounter() {
        let flow = InboundFlow()
        for _ in 0..<WireConnection.inboundHighWater - 1 { flow.received() }
        #expect(flow.mayRead())
        flow.received()
        #expect(!flow.mayRead(), "at the high-water mark reads are held")
        var resumed = 0
        for _ in 0..<WireConnection.inboundHighWater {
            if flow.consumed() { resumed += 1 }
            if flow.unread == WireConnection.inboundLowWater + 1 { #expect(resumed == 0) }
        }
        #expect(resumed == 1, "exactly one resume, when the reader reaches the low-water mark")
        #expect(flow.unread == 0)
        #expect(flow.mayRead())
    }

    @Test("a subscriber that stops reading holds a bounded number of messages, and loses none when it reads again")
    func slowReaderIsBounded() async throws {
        let server = try await TestServer.start()
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var writer = try await server.connect(token: token)
        var reader = try await server.connect(token: token)
        try await writer.createDocument("0751.p")
        var replica = Document()
        try await reader.subscribeAndCatchUp("0751.p", into: &replica)

        var source = Document(agent: try AgentID("0751/writer"))
        let pushes = 400
        let line = String(repeating: "skybrud ", count: 250) + "\n"  // ~2 KB per relayed frame
        for _ in 0..<pushes {
            let before = source.versionVector
            try source.insert(line, at: source.textLength())
            guard case .pushAck = try await writer.push(try source.encodedChanges(since: before), to: "0751.p") else {
                throw TestFailure("push refused")
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        let held = reader.connection.unreadMessages
        // The high-water mark plus what one socket read (≤ 64 KiB) had already decoded.
        #expect(held <= WireConnection.inboundHighWater + 64, "unread messages: \(held) of \(pushes) relayed")
        try await reader.mergeLive("0751.p", into: &replica) { $0.clientEventCount == source.eventCount }
        #expect(replica.text() == source.text())
        await writer.close()
        await reader.close()
        try await server.stop()
    }
}
