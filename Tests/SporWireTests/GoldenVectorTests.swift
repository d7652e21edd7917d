import Foundation
import NIOCore
import SporCRDT
import SporWire
import Testing

/// Protocol/vectors: hand-written frames, checked both ways.
@Suite("golden vectors")
struct GoldenVectorTests {
    static let vectorsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static func bytes(_ name: String) throws -> [UInt8] {
        let text = try String(contentsOf: vectorsDirectory.appendingPathComponent("\(name).hex"), encoding: .utf8)
        let digits = Array(text.filter { !$0.isWhitespace })
        guard digits.count % 2 == 0 else { throw VectorError("\(name): odd number of hex digits") }
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { throw VectorError("\(name): not hex") }
            return byte
        }
    }

    struct VectorError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The meaning of each valid vector, as Protocol/vectors/README.md states it.
    static let valid: [(String, SporMessage)] = {
        func agent(_ name: String) -> AgentID {
            guard let agent = try? AgentID(name) else { fatalError("test agent name \(name) invalid") }
            return agent
        }
        return [
            ("hello", .hello(.init(versions: 2...2, token: "tok", client: "c"))),
            ("ping", .ping(nonce: 300)),
            ("pong", .pong(nonce: 0)),
            ("create-document", .createDocument(request: 1, document: "p1")),
            ("add-member", .addMember(request: 3, document: "p1", organisation: "1082", role: .partner)),
            ("remove-member", .removeMember(request: 8, document: "p1", organisation: "1082")),
            ("set-role", .setRole(request: 9, document: "p1", organisation: "1082", role: .lead)),
            ("process-step-submit", .processStep(request: 10, document: "p1", step: .init(
                kind: .submitForQualification, version: VersionVector([agent("751/a"): 3])))),
            ("process-step-decision", .processStep(request: 11, document: "p1", step: .init(
                kind: .recordDecision, outcome: "approved", note: "Godkendt", grantedAmount: 500_000))),
            ("step-recorded", .stepRecorded(request: 10, document: "p1", contentHash: "ab12", at: 1_700_000_000)),
            ("access-ended", .accessEnded(document: "p1")),
            ("list-documents", .listDocuments(request: 4)),
            ("subscribe", .subscribe(request: 5, document: "p1", version: VersionVector([agent("1082/b"): 200, agent("751/a"): 3]))),
            ("unsubscribe", .unsubscribe(document: "p1")),
            ("push", .push(request: 7, document: "p1", changes: [0xDE, 0xAD, 0xBE, 0xEF])),
            ("welcome", .welcome(.init(version: 2, organisation: "751", organisationName: "Aarhus Kommune",
                                       organisationKind: "kommune", agentPrefix: "751/", maxFrameBytes: 4_194_304,
                                       maxBatchEvents: 100_000, idleTimeoutSeconds: 120))),
            ("events", .events(.init(document: "p1", isCatchUp: true, batches: [[0x01], [0x02, 0x03]]))),
            ("events-stored-times", .events(.init(document: "p1", isCatchUp: true, batches: [[0x01], [0x02, 0x03]],
                                                  storedAt: [1_700_000_000, 0]))),
            ("snapshot", .snapshot(.init(document: "p1", file: [0xAA, 0xBB],
                                         storedTimes: [.init(agent: agent("751/a"), seqs: 0..<3, storedAt: 1_700_000_000)]))),
            ("caught-up", .caughtUp(document: "p1", version: VersionVector())),
            ("push-ack", .pushAck(request: 7, document: "p1", newEvents: 4, storedAt: nil)),
            ("push-ack-stored-time", .pushAck(request: 7, document: "p1", newEvents: 4, storedAt: 1_700_000_000)),
            ("ok", .ok(request: 9)),
            ("documents", .documents(request: 2, documents: [.init(document: "p1", events: 5), .init(document: "p2", events: 0)])),
            ("list-rounds", .listRounds(request: 6)),
            ("rounds", .rounds(request: 6, rounds: [.init(id: "2025-spring", danishName: "Forår 2025", englishName: "Spring 2025", opens: "",
                                                         qualificationDeadline: "2025-03-03T12:00", approvalDeadline: "2025-04-07T12:00",
                                                         committeeMeeting: "2025-05-20")])),
            ("error", .error(.init(request: 0, code: .notFound, message: "nej"))),
            ("error-unicode", .error(.init(request: 5, code: .forbidden, message: "Ærø"))),
        ]
    }()

    static let invalid: [(String, WireErrorCode)] = [
        ("invalid-unknown-type", .malformedFrame),
        ("invalid-zero-length", .malformedFrame),
        ("invalid-too-large-first-frame", .frameTooLarge),
        ("invalid-nonminimal-varint", .malformedFrame),
        ("invalid-trailing-bytes", .malformedFrame),
        ("invalid-unsorted-vector", .malformedFrame),
        ("invalid-name", .malformedFrame),
        ("invalid-events-flag", .malformedFrame),
        ("invalid-hello-magic", .malformedFrame),
        ("invalid-role", .malformedFrame),
        ("invalid-step", .malformedFrame),
        ("invalid-events-stored-times-short", .malformedFrame),
        ("invalid-stored-time-too-late", .malformedFrame),
        ("invalid-snapshot-empty-run", .malformedFrame),
        ("invalid-snapshot-run-count", .malformedFrame),
    ]

    @Test("every vector file is covered by this test", arguments: [()])
    func allVectorsCovered(_: Void) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.vectorsDirectory.path)
            .filter { $0.hasSuffix(".hex") }.map { String($0.dropLast(4)) }
        let covered = Set(Self.valid.map(\.0) + Self.invalid.map(\.0) + ["changes-insert-hi"])
        #expect(Set(files) == covered)
    }

    @Test("valid vectors decode to their meaning and encode back to the same bytes", arguments: valid.map(\.0))
    func validVector(_ name: String) throws {
        let expected = try #require(Self.valid.first { $0.0 == name }?.1)
        let bytes = try Self.bytes(name)
        var buffer = ByteBuffer(bytes: bytes)
        let decoded = try SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: SporProtocol.maxHandshakeFrameBytes)
        #expect(decoded == expected)
        #expect(buffer.readableBytes == 0)
        #expect(expected.frameBytes == bytes)
    }

    @Test("invalid vectors are rejected with the listed code", arguments: invalid.map(\.0))
    func invalidVector(_ name: String) throws {
        let code = try #require(Self.invalid.first { $0.0 == name }?.1)
        var buffer = ByteBuffer(bytes: try Self.bytes(name))
        #expect {
            _ = try SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: SporProtocol.maxHandshakeFrameBytes)
        } throws: { error in
            (error as? WireError)?.code == code
        }
    }

    @Test("the change-batch vector (Protocol/CHANGES.md) is what SporCRDT writes and reads")
    func changeBatchVector() throws {
        let bytes = try Self.bytes("changes-insert-hi")
        var document = Document(agent: try AgentID("751/a"))
        try document.insert("hi", at: 0)
        #expect(try document.encodedChanges() == bytes)
        var replica = Document()
        #expect(try replica.merge(encodedChanges: bytes) == 2)
        #expect(replica.text() == "hi")
        let summary = try ChangeSummary(encodedChanges: bytes)
        #expect(summary.runs.map(\.agent.name) == ["751/a"])
        #expect(summary.runs.map(\.seqs) == [0..<2])
    }
}
