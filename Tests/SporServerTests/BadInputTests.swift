import Foundation
import GRDB
import NIOCore
import SporCRDT
import SporProposal
import SporServer
import SporTestSupport
import SporWire
import Testing

/// What the server does with bytes and requests it must not accept: answer with the
/// right error, close where the protocol says so, and keep serving everyone else.
@Suite("bad input", .blockingCallsAllowed)
struct BadInputTests {
    private func errorCode(_ message: SporMessage?) -> WireErrorCode? {
        if case let .error(report)? = message { return report.knownCode }
        return nil
    }

    /// A server with one document "0751.p" that a second, well-behaved client is
    /// subscribed to; `check` misbehaves, then the bystander must still work.
    private func withBystander(_ configure: (inout ServerConfiguration) -> Void = { _ in },
                               _ misbehave: (TestServer, String) async throws -> Void) async throws {
        let server = try await TestServer.start(configure: configure)
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var bystander = try await server.connect(token: token)
        try await bystander.createDocument("0751.p")
        var replica = Document(agent: try AgentID("0751/bystander"))
        try await bystander.subscribeAndCatchUp("0751.p", into: &replica)

        try await misbehave(server, token)

        try replica.insert("stadig i gang", at: 0)
        guard case .pushAck = try await bystander.push(try replica.encodedChanges(), to: "0751.p") else {
            throw TestFailure("the bystander's push failed after another client misbehaved")
        }
        await bystander.close()
        try await server.stop()
    }

    @Test("a frame with an unknown type: malformedFrame, connection closed, others unaffected")
    func unknownFrameType() async throws {
        try await withBystander { server, token in
            var client = try await server.connect(token: token)
            try await client.connection.sendRaw([0, 0, 0, 3, 0x7E, 1, 2])
            #expect(errorCode(try await client.receive()) == .malformedFrame)
            #expect(try await client.receive() == nil)
        }
    }

    @Test("a frame longer than the limit is refused from its length prefix alone")
    func oversizedFrame() async throws {
        try await withBystander({ $0.limits.maxFrameBytes = 64 * 1024 }) { server, token in
            var client = try await server.connect(token: token)
            // Announce 1 GiB, send only the prefix: the server must not wait for the rest.
            try await client.connection.sendRaw([0x40, 0, 0, 0])
            let reply = try await client.receive()
            #expect(errorCode(reply) == .frameTooLarge)
            #expect(try await client.receive() == nil)
        }
    }

    @Test("before HELLO the limit is 16 KiB")
    func oversizedHello() async throws {
        try await withBystander { server, _ in
            var client = try await TestClient.connect(port: server.port)
            let hello = SporMessage.hello(.init(token: String(repeating: "x", count: 200), client: String(repeating: "c", count: 4000)))
            var bytes = hello.frameBytes
            // Claim 20 KiB of payload.
            bytes.replaceSubrange(0..<4, with: [0, 0, 0x50, 0])
            try await client.connection.sendRaw(Array(bytes.prefix(4)))
            #expect(errorCode(try await client.receive()) == .frameTooLarge)
        }
    }

    @Test("a frame whose fields run past its end: malformedFrame")
    func truncatedFields() async throws {
        try await withBystander { server, token in
            var client = try await server.connect(token: token)
            // PUSH claiming 100 bytes of changes but carrying 2.
            var payload = ByteBuffer()
            payload.writeVarint(UInt64(1))
            payload.writeWireString("0751.p")
            payload.writeVarint(100)
            payload.writeBytes([1, 2])
            var frame: [UInt8] = [0, 0, 0, UInt8(payload.readableBytes + 1), SporMessage.MessageType.push.rawValue]
            frame += Array(payload.readableBytesView)
            try await client.connection.sendRaw(frame)
            guard case let .error(report)? = try await client.receive() else { throw TestFailure("no error") }
            #expect(report.knownCode == .malformedFrame)
            #expect(report.message.contains("changes length"))
        }
    }

    @Test("a SNAPSHOT frame from a client whose runs do not fit its bytes, or have no events: malformedFrame")
    func malformedSnapshotFrames() async throws {
        try await withBystander { server, token in
            // SNAPSHOT "0751.p", an empty file, then 5 runs announced with no bytes for them.
            var client = try await server.connect(token: token)
            var payload = ByteBuffer()
            payload.writeWireString("0751.p")
            payload.writeWireBytes([])
            payload.writeVarint(5)
            var frame: [UInt8] = [0, 0, 0, UInt8(payload.readableBytes + 1), SporMessage.MessageType.snapshot.rawValue]
            frame += Array(payload.readableBytesView)
            try await client.connection.sendRaw(frame)
            guard case let .error(report)? = try await client.receive() else { throw TestFailure("no error") }
            #expect(report.knownCode == .malformedFrame)
            #expect(report.message.contains("stored-time run count"))

            // One run of 0 events.
            var empty = try await server.connect(token: token)
            payload = ByteBuffer()
            payload.writeWireString("0751.p")
            payload.writeWireBytes([])
            payload.writeVarint(1)
            payload.writeWireString("0751/a")
            payload.writeVarint(0)
            payload.writeVarint(0)
            payload.writeVarint(UInt64(1_900_000_000))
            frame = [0, 0, 0, UInt8(payload.readableBytes + 1), SporMessage.MessageType.snapshot.rawValue]
            frame += Array(payload.readableBytesView)
            try await empty.connection.sendRaw(frame)
            guard case let .error(emptyRun)? = try await empty.receive() else { throw TestFailure("no error") }
            #expect(emptyRun.knownCode == .malformedFrame)
            #expect(emptyRun.message.contains("no events"))
        }
    }

    @Test("the first message must be HELLO, and only the first")
    func messagesOutOfPlace() async throws {
        try await withBystander { server, token in
            var early = try await TestClient.connect(port: server.port)
            try await early.send(.listDocuments(request: 1))
            #expect(errorCode(try await early.receive()) == .protocolViolation)
            var twice = try await server.connect(token: token)
            try await twice.send(.hello(.init(token: token, client: "again")))
            #expect(errorCode(try await twice.receive()) == .protocolViolation)
            var serverMessage = try await server.connect(token: token)
            try await serverMessage.send(.ok(request: 3))
            #expect(errorCode(try await serverMessage.receive()) == .protocolViolation)
            // Only the server sends a document file (protocol 4): a client's is not taken in.
            var snapshot = try await server.connect(token: token)
            let file = Document(agent: try AgentID("0751/a")).encoded()
            try await snapshot.send(.snapshot(.init(document: "0751.p", file: file, storedTimes: [])))
            #expect(errorCode(try await snapshot.receive()) == .protocolViolation)
        }
    }

    @Test("not a change batch, a corrupted one or a document file: invalidChanges, connection stays open")
    func invalidChanges() async throws {
        try await withBystander { server, token in
            var client = try await server.connect(token: token)
            guard case let .error(garbage) = try await client.push(Array("not changes".utf8), to: "0751.p") else {
                throw TestFailure("garbage accepted")
            }
            #expect(garbage.knownCode == .invalidChanges)
            var document = Document(agent: try AgentID("0751/x"))
            try document.insert("Æble", at: 0)
            var flipped = try document.encodedChanges()
            flipped[flipped.count / 2] ^= 0x10
            guard case let .error(corrupt) = try await client.push(flipped, to: "0751.p") else { throw TestFailure("corrupt accepted") }
            #expect(corrupt.knownCode == .invalidChanges)
            // A document file — what a replica may open as a trusted snapshot — is never
            // a push: the server takes only change batches, whose every event it merges.
            guard case let .error(file) = try await client.push(document.encoded(), to: "0751.p") else {
                throw TestFailure("a document file accepted as a push")
            }
            #expect(file.knownCode == .invalidChanges)
            // Still open: a ping is answered.
            try await client.send(.ping(nonce: 42))
            #expect(try await client.receive() == .pong(nonce: 42))
        }
    }

    @Test("changes whose dependencies the server lacks: missingDependencies, nothing stored")
    func missingDependencies() async throws {
        try await withBystander { server, token in
            var client = try await server.connect(token: token)
            var document = Document(agent: try AgentID("0751/x"))
            try document.insert("første", at: 0)
            let first = document.versionVector
            try document.insert(" anden", at: document.textLength())
            guard case let .error(report) = try await client.push(try document.encodedChanges(since: first), to: "0751.p") else {
                throw TestFailure("accepted without its dependencies")
            }
            #expect(report.knownCode == .missingDependencies)
            let entries = try await server.store.documents(visibleTo: try server.store.account(id: "0751"))
            #expect(entries.first?.events == 1, "only the server's first event")
        }
    }

    @Test("well-formed changes that do not apply (an edit beyond the text its parent version has): invalidChanges, nothing stored, the document still syncs")
    func changesThatDoNotApply() async throws {
        try await withBystander { server, token in
            var client = try await server.connect(token: token)
            // The server gets "a" (3 events); the author's edit was made on "abc" (the
            // same 3 event ids), so it inserts at position 3 of a text that has 1
            // character there.
            let fixture = try EditOutsideItsText(agent: "0751/x")
            var stored = fixture.storedHistory
            let base = stored.versionVector
            guard case .pushAck = try await client.push(try stored.encodedChanges(), to: "0751.p") else { throw TestFailure("first push") }
            let edit = fixture.edit
            _ = try ChangeSummary(encodedChanges: edit)  // well-formed: only a merge can tell
            guard case let .error(report) = try await client.push(edit, to: "0751.p") else {
                throw TestFailure("a batch that cannot merge was accepted")
            }
            #expect(report.knownCode == .invalidChanges)
            #expect(report.message.contains("do not apply"), "\(report.message)")
            let entries = try await server.store.documents(visibleTo: try server.store.account(id: "0751"))
            #expect(entries.first?.events == 4, "nothing of the refused batch stored (3 pushed, the server's first)")
            // A valid edit still goes through, and a new subscriber gets a document that merges.
            try stored.insert("!", at: 1)
            guard case .pushAck = try await client.push(try stored.encodedChanges(since: base), to: "0751.p") else {
                throw TestFailure("a valid edit after the refusal was refused")
            }
            var reader = try await server.connect(token: token)
            var replica = Document()
            _ = try await reader.subscribeAndCatchUp("0751.p", into: &replica)
            #expect(replica.text() == "a!")
        }
    }

    @Test("a connection that never says HELLO, or goes quiet, is closed with idleTimeout; PING keeps it open")
    func timeouts() async throws {
        // Timeouts of seconds, not fractions: on a loaded 2-core runner a test task can
        // wait a second or more for a thread between two steps.
        let server = try await TestServer.start {
            $0.limits.helloTimeoutSeconds = 3
            $0.limits.idleTimeoutSeconds = 6
        }
        let token = try server.addOrganisation("Aarhus Kommune", code: "0751")
        var silent = try await TestClient.connect(port: server.port)
        var quiet = try await server.connect(token: token)
        // The pinging client keeps its own pace from the start (in its own task), so a
        // slow wait for the others' timeouts cannot leave it quiet too long.
        let pinging = try await server.connect(token: token)
        let pinger = Task {
            var pinging = pinging
            for nonce in 1...6 {
                try await Task.sleep(for: .milliseconds(1500))
                try await pinging.send(.ping(nonce: UInt64(nonce)))
                #expect(try await pinging.receive() == .pong(nonce: UInt64(nonce)))
            }
            await pinging.close()
        }
        #expect(errorCode(try await silent.receive()) == .idleTimeout)
        #expect(try await silent.receive() == nil)
        #expect(errorCode(try await quiet.receive()) == .idleTimeout)
        try await pinger.value
        try await server.stop()
    }

    @Test("more connections than the limit are refused with tooManyConnections")
    func connectionLimit() async throws {
        try await withBystander({ $0.limits.maxConnections = 3 }) { server, token in
            let second = try await server.connect(token: token)
            let third = try await server.connect(token: token)
            var fourth = try await TestClient.connect(port: server.port)
            #expect(errorCode(try await fourth.receive()) == .tooManyConnections)
            await second.close()
            await third.close()
        }
    }

    @Test("a round an older server accepted with an id clients cannot read is left out of ROUNDS; everything else still syncs")
    func badStoredRound() async throws {
        let directory = TestServer.temporaryDirectory()
        let store = try SporStore(directory: directory)
        _ = try store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: "0751")
        let bad = #"{"id":"forår 2028!","danishName":"Forår 2028","englishName":"Spring 2028","qualificationDeadline":"2028-03-03T12:00","approvalDeadline":"2028-04-07T12:00","committeeMeeting":"2028-05-20"}"#
        let database = try DatabaseQueue(path: store.path)
        try await database.write { db in try db.execute(sql: "INSERT INTO round (id, json) VALUES (?, ?)", arguments: ["forår 2028!", bad]) }
        try database.close()
        let server = try await TestServer.start(directory: directory)
        var client = try await server.connect(token: try server.store.rotateToken(id: "0751"))
        let request = client.request()
        try await client.send(.listRounds(request: request))
        let rounds = try await client.receive { message -> [SporMessage.RoundEntry]? in
            if case let .rounds(r, entries) = message, r == request { return entries }
            return nil
        }
        #expect(rounds.map(\.id) == RoundCalendar.builtIn.rounds.map(\.id), "the bad round left out, the rest sent")
        try await client.createDocument("0751.p")
        await client.close()
        try await server.stop()
    }
}
