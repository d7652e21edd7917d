import NIOCore
import NIOEmbedded
import SporCRDT
import SporTestSupport
import SporWire
import Testing

/// The framing codec on a channel, and its behaviour on hostile bytes.
@Suite("frame codec")
struct FrameCodecTests {
    static let sample: [SporMessage] = [
        .hello(.init(token: "spor_abc", client: "spor 0.1")),
        .subscribe(request: 4, document: "proposal-1", version: VersionVector()),
        .push(request: 12, document: "proposal-1", changes: Array(repeating: 0xAB, count: 3000)),
        .events(.init(document: "proposal-1", isCatchUp: false, batches: [[1, 2, 3], [], Array(0...255)])),
        .error(.init(request: 3, code: .missingDependencies, message: "mangler: Ærø Kommune 🌱")),
        .ping(nonce: UInt64.max),
    ]

    @Test("frames split at every byte boundary decode to the same messages")
    func splitAnywhere() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SporFrameDecoder()))
        var stream: [UInt8] = []
        for message in Self.sample { stream += message.frameBytes }
        for byte in stream { try channel.writeInbound(channel.allocator.buffer(bytes: [byte])) }
        var received: [SporMessage] = []
        while let message = try channel.readInbound(as: SporMessage.self) { received.append(message) }
        #expect(received == Self.sample)
        #expect(try channel.finish().isClean)
    }

    @Test("the encoder writes what the decoder reads")
    func encoderRoundTrip() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(SporFrameEncoder()))
        var bytes: [UInt8] = []
        for message in Self.sample {
            try channel.writeOutbound(message)
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += Array(buffer.readableBytesView) }
        }
        var buffer = ByteBuffer(bytes: bytes)
        var decoded: [SporMessage] = []
        while let message = try SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: SporProtocol.defaultMaxFrameBytes) {
            decoded.append(message)
        }
        #expect(decoded == Self.sample)
    }

    @Test("bytes left over when the connection closes are reported")
    func leftoverOnClose() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SporFrameDecoder()))
        let frame = SporMessage.ping(nonce: 7).frameBytes
        try channel.writeInbound(channel.allocator.buffer(bytes: frame + frame.prefix(3)))
        #expect(try channel.readInbound(as: SporMessage.self) == .ping(nonce: 7))
        #expect {
            _ = try channel.finish()
        } throws: { error in
            guard let error = error as? WireError else { return false }
            return error.code == .malformedFrame && error.message.contains("3 bytes left over")
        }
    }

    @Test("an oversized length is refused before its payload arrives")
    func oversizedBeforePayload() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SporFrameDecoder(maxFrameBytes: 1024)))
        try channel.writeInbound(channel.allocator.buffer(bytes: SporMessage.ping(nonce: 1).frameBytes))
        #expect {
            try channel.writeInbound(channel.allocator.buffer(bytes: [0, 0, 0x04, 0x01]))
        } throws: { ($0 as? WireError)?.code == .frameTooLarge }
    }

    @Test("the first frame is held to the handshake limit, later ones to the full limit")
    func handshakeLimit() throws {
        let big = SporMessage.push(request: 1, document: "p", changes: Array(repeating: 1, count: 20_000))
        let first = EmbeddedChannel()
        try first.pipeline.syncOperations.addHandler(ByteToMessageHandler(SporFrameDecoder()))
        #expect(throws: WireError.self) { try first.writeInbound(first.allocator.buffer(bytes: big.frameBytes)) }

        let later = EmbeddedChannel()
        try later.pipeline.syncOperations.addHandler(ByteToMessageHandler(SporFrameDecoder()))
        try later.writeInbound(later.allocator.buffer(bytes: SporMessage.ping(nonce: 1).frameBytes + big.frameBytes))
        #expect(try later.readInbound(as: SporMessage.self) == .ping(nonce: 1))
        #expect(try later.readInbound(as: SporMessage.self) == big)
    }

    @Test("random messages round-trip through encode and decode", arguments: propertySeeds(20, base: 0x5157_0001))
    func randomRoundTrip(seed: UInt64) throws {
        print("wire round-trip seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter FrameCodecTests)")
        var random = SeededRandom(seed: seed)
        for _ in 0..<200 {
            let message = RandomMessages.message(&random)
            var buffer = ByteBuffer(bytes: message.frameBytes)
            let decoded = try SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: SporProtocol.defaultMaxFrameBytes)
            #expect(decoded == message, "seed \(seed)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("random bytes, truncations and bit flips never crash the decoder", arguments: propertySeeds(20, base: 0x5157_1001))
    func hostileBytes(seed: UInt64) throws {
        print("wire hostile-bytes seed \(seed) (replay: SPOR_SEED=\(seed) swift test --filter FrameCodecTests)")
        var random = SeededRandom(seed: seed)
        for _ in 0..<300 {
            let valid = RandomMessages.message(&random).frameBytes
            var candidates: [[UInt8]] = []
            candidates.append((0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8(Int.random(in: 0...255, using: &random)) })
            candidates.append(Array(valid.prefix(Int.random(in: 0...valid.count, using: &random))))
            var flipped = valid
            let index = Int.random(in: 0...(valid.count - 1), using: &random)
            flipped[index] ^= UInt8(1 << Int.random(in: 0...7, using: &random))
            candidates.append(flipped)
            for bytes in candidates {
                var buffer = ByteBuffer(bytes: bytes)
                do {
                    while let message = try SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: 1 << 20) {
                        // Whatever decodes must re-encode to a frame that decodes the same.
                        var again = ByteBuffer(bytes: message.frameBytes)
                        #expect(try SporFrameDecoder.nextMessage(from: &again, maxFrameBytes: 1 << 20) == message, "seed \(seed)")
                    }
                } catch {
                    #expect(error.code == .malformedFrame || error.code == .frameTooLarge, "seed \(seed)")
                }
            }
        }
    }
}

/// Random protocol messages for the property tests.
enum RandomMessages {
    static func name(_ random: inout SeededRandom) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_.")
        let first = Array("abcxyz0189")
        return String(first[Int.random(in: 0...(first.count - 1), using: &random)])
            + String((0..<Int.random(in: 0...20, using: &random)).map { _ in alphabet[Int.random(in: 0...(alphabet.count - 1), using: &random)] })
    }

    static func text(_ random: inout SeededRandom) -> String {
        let pieces = ["a", "Æ", "ø", "å", "🌱", " ", "Kommune", "\u{301}", "→", "x"]
        return (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces[Int.random(in: 0...(pieces.count - 1), using: &random)] }.joined()
    }

    static func bytes(_ random: inout SeededRandom) -> [UInt8] {
        (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8(Int.random(in: 0...255, using: &random)) }
    }

    static func vector(_ random: inout SeededRandom) -> VersionVector {
        var counts: [AgentID: Int] = [:]
        for _ in 0..<Int.random(in: 0...5, using: &random) {
            if let agent = try? AgentID(name(&random) + "/" + text(&random)) { counts[agent] = Int.random(in: 1...1_000_000, using: &random) }
        }
        return VersionVector(counts)
    }

    static func varint(_ random: inout SeededRandom) -> UInt64 {
        switch Int.random(in: 0...3, using: &random) {
        case 0: UInt64(Int.random(in: 0...127, using: &random))
        case 1: UInt64(Int.random(in: 0...100_000, using: &random))
        case 2: UInt64.max - UInt64(Int.random(in: 0...10, using: &random))
        default: random.next()
        }
    }

    /// EVENTS of version 3 (with stored times) or 2. With no batches the two forms are
    /// the same bytes, so only the version 2 form is made.
    static func events(_ random: inout SeededRandom) -> SporMessage.Events {
        let batches = (0..<Int.random(in: 0...4, using: &random)).map { _ in bytes(&random) }
        var storedAt: [Int64]?
        if !batches.isEmpty, Bool.random(using: &random) {
            storedAt = batches.map { _ in Int64.random(in: 0...SporProtocol.latestStoredTime, using: &random) }
        }
        return .init(document: name(&random), isCatchUp: Int.random(in: 0...1, using: &random) == 1, batches: batches, storedAt: storedAt)
    }

    static func message(_ random: inout SeededRandom) -> SporMessage {
        switch Int.random(in: 0...22, using: &random) {
        case 0: .hello(.init(versions: 1...Int.random(in: 1...9, using: &random), token: text(&random), client: text(&random)))
        case 1: .welcome(.init(version: 1, organisation: name(&random), organisationName: text(&random), organisationKind: "region",
                               agentPrefix: name(&random) + "/", maxFrameBytes: Int.random(in: 1...1 << 30, using: &random),
                               maxBatchEvents: Int.random(in: 0...1 << 20, using: &random), idleTimeoutSeconds: Int.random(in: 0...3600, using: &random)))
        case 2: .ping(nonce: varint(&random))
        case 3: .pong(nonce: varint(&random))
        case 4: .createDocument(request: varint(&random), document: name(&random))
        case 5: .addMember(request: varint(&random), document: name(&random), organisation: name(&random), role: role(&random))
        case 6: .listDocuments(request: varint(&random))
        case 7: .subscribe(request: varint(&random), document: name(&random), version: vector(&random))
        case 8: .unsubscribe(document: name(&random))
        case 9: .push(request: varint(&random), document: name(&random), changes: bytes(&random))
        case 10: .events(events(&random))
        case 11: .caughtUp(document: name(&random), version: vector(&random))
        case 12: .pushAck(request: varint(&random), document: name(&random), newEvents: Int.random(in: 0...1_000_000, using: &random),
                          storedAt: Bool.random(using: &random) ? Int64.random(in: 0...SporProtocol.latestStoredTime, using: &random) : nil)
        case 13: .ok(request: varint(&random))
        case 14: .documents(request: varint(&random), documents: (0..<Int.random(in: 0...5, using: &random)).map { _ in
            .init(document: name(&random), events: Int.random(in: 0...1_000_000, using: &random))
        })
        case 15: .listRounds(request: varint(&random))
        case 16: .rounds(request: varint(&random), rounds: (0..<Int.random(in: 0...3, using: &random)).map { _ in
            .init(id: name(&random), danishName: text(&random), englishName: text(&random), opens: name(&random),
                  qualificationDeadline: name(&random), approvalDeadline: name(&random), committeeMeeting: name(&random))
        })
        case 17: .removeMember(request: varint(&random), document: name(&random), organisation: name(&random))
        case 18: .setRole(request: varint(&random), document: name(&random), organisation: name(&random), role: role(&random))
        case 19: .processStep(request: varint(&random), document: name(&random), step: .init(
            kind: SporMessage.ProcessStep.Kind.allCases.randomElement(using: &random) ?? .withdraw, version: vector(&random),
            outcome: name(&random), note: text(&random),
            grantedAmount: Bool.random(using: &random) ? nil : Int64.random(in: 1...10_000_000_000, using: &random)))
        case 20: .stepRecorded(request: varint(&random), document: name(&random), contentHash: name(&random),
                               at: Int64.random(in: 0...4_000_000_000, using: &random))
        case 21: .accessEnded(document: name(&random))
        default: .error(.init(request: varint(&random), rawCode: UInt16(Int.random(in: 0...65535, using: &random)), message: text(&random)))
        }
    }

    static func role(_ random: inout SeededRandom) -> SporMessage.MemberRole {
        SporMessage.MemberRole.allCases.randomElement(using: &random) ?? .partner
    }
}
