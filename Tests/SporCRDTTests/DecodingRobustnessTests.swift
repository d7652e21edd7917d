import SporTestSupport
import Testing
@testable import SporCRDT

/// Untrusted bytes never crash a decoder and never leave a half-built document: every
/// malformed input ends in a `CRDTError`, and a failed merge changes nothing.
@Suite("Decoding untrusted bytes")
struct DecodingRobustnessTests {
    /// A small document with concurrent history, non-ASCII text, two texts and every
    /// other container kind.
    static func sampleDocuments() throws -> (Document, Document) {
        var aarhus = Document(agent: try AgentID("aarhus"))
        try aarhus.insert("Klimaspor for Ærø Kommune 🌱", at: 0)
        try aarhus.insert("Budget: 1.000.000 kr.", at: 0, in: try ContainerID("budget"))
        let proposal = try ContainerID.root("proposal", .map)
        try aarhus.set(.string("Skybrud i Østjylland"), forKey: "title", in: proposal)
        let lines = try ContainerID.root("lines", .list)
        let line = try aarhus.insert(.child(.map), at: 0, in: lines)
        try aarhus.set(.int(250_000), forKey: "amount", in: try lines.child(line, .map))
        try aarhus.insert(.double(37.5), at: 1, in: lines)
        try aarhus.add(.string("vand"), to: try ContainerID.root("tags", .set))
        try aarhus.set(.bool(true), in: try ContainerID.root("submitted", .register))
        var odense = Document(agent: try AgentID("odense"))
        try odense.merge(encodedChanges: try aarhus.encodedChanges())
        try aarhus.delete(0..<10)
        try odense.insert(" og Odense", at: 25)
        try aarhus.merge(encodedChanges: try odense.encodedChanges(since: aarhus.versionVector))
        return (aarhus, odense)
    }

    /// Replaces the trailing checksum so that a mutated input reaches the inner decoders.
    static func withValidChecksum(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 4 else { return bytes }
        var fixed = bytes
        let crc = Zlib.crc32(Array(bytes.dropLast(4)))
        for index in 0..<4 { fixed[fixed.count - 4 + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
        return fixed
    }

    /// Expects `bytes` to be rejected as a document and as a change batch, leaving the
    /// receiving document untouched; or, if they happen to be valid, to yield a
    /// self-consistent result.
    static func expectSafe(_ bytes: [UInt8], into receiver: Document, context: String) {
        do {
            let document = try Document(decoding: bytes, verifyingHistory: true)
            // Decoded (e.g. a mutation that kept it valid): it must be consistent.
            #expect(document.log.graph.checkInvariants() == nil, "\(context)")
        } catch {
            _ = error.code  // a typed CRDTError: the only possible failure
        }
        var copy = receiver
        let before = receiver.encoded()
        do {
            try copy.merge(encodedChanges: bytes)
            #expect(copy.log.graph.checkInvariants() == nil, "\(context)")
        } catch {
            #expect(copy.encoded() == before, "\(context): a failed merge changed the document")
        }
    }

    /// `bytes` with one to four bytes past the envelope's header flipped, set to edge
    /// values, inserted or removed, and the checksum made valid again.
    static func mutated(_ bytes: [UInt8], using random: inout SeededRandom) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[Int.random(in: 5..<bytes.count - 4, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            case 1: bytes[Int.random(in: 5..<bytes.count - 4, using: &random)] = [0, 1, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
            case 2:
                let at = Int.random(in: 5..<bytes.count - 4, using: &random)
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
            default:
                if bytes.count > 10 { bytes.remove(at: Int.random(in: 5..<bytes.count - 4, using: &random)) }
            }
        }
        return withValidChecksum(bytes)
    }

    @Test("random bytes are rejected", arguments: propertySeeds(8, base: 0xBAD_5EED))
    func randomBytes(seed: UInt64) throws {
        print("random-bytes seed \(seed)")
        var random = SeededRandom(seed: seed)
        let (receiver, _) = try Self.sampleDocuments()
        for _ in 0..<300 {
            let count = Int.random(in: 0..<200, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            if Bool.random(using: &random), bytes.count >= 5 { bytes.replaceSubrange(0..<5, with: Array("SPORD".utf8)) }
            #expect(throws: CRDTError.self) { _ = try Document(decoding: bytes) }
            var copy = receiver
            #expect(throws: CRDTError.self) { try copy.merge(encodedChanges: bytes) }
            #expect(copy.encoded() == receiver.encoded())
        }
    }

    @Test("every truncation of a document and of a change batch is rejected")
    func truncations() throws {
        let (aarhus, odense) = try Self.sampleDocuments()
        let file = aarhus.encoded()
        let changes = try aarhus.encodedChanges()
        for length in 0..<file.count {
            #expect(throws: CRDTError.self, "document truncated to \(length)") {
                _ = try Document(decoding: Array(file[0..<length]))
            }
        }
        for length in 0..<changes.count {
            var copy = odense
            #expect(throws: CRDTError.self, "changes truncated to \(length)") {
                try copy.merge(encodedChanges: Array(changes[0..<length]))
            }
            #expect(copy.encoded() == odense.encoded())
        }
    }

    @Test("every single-bit flip is detected", arguments: [false, true])
    func bitFlips(inChanges: Bool) throws {
        let (aarhus, odense) = try Self.sampleDocuments()
        let original = inChanges ? try aarhus.encodedChanges() : aarhus.encoded()
        for byte in original.indices {
            for bit in 0..<8 {
                var flipped = original
                flipped[byte] ^= 1 << bit
                if inChanges {
                    var copy = odense
                    #expect(throws: CRDTError.self) { try copy.merge(encodedChanges: flipped) }
                    #expect(copy.encoded() == odense.encoded())
                } else {
                    #expect(throws: CRDTError.self) { _ = try Document(decoding: flipped) }
                }
            }
        }
    }

    @Test("mutations that keep the checksum valid never crash the inner decoders",
          arguments: propertySeeds(8, base: 0xF1_1B5))
    func mutationsPastTheChecksum(seed: UInt64) throws {
        print("mutation seed \(seed)")
        var random = SeededRandom(seed: seed)
        let (aarhus, odense) = try Self.sampleDocuments()
        let inputs = [aarhus.encoded(), try aarhus.encodedChanges(), try odense.encodedChanges(since: VersionVector())]
        for _ in 0..<400 {
            let bytes = Self.mutated(inputs.randomElement(using: &random)!, using: &random)
            Self.expectSafe(bytes, into: odense, context: "seed \(seed)")
        }
    }

    @Test("a batch that depends on missing events is refused without changing anything")
    func missingParents() throws {
        var author = Document(agent: try AgentID("author"))
        try author.insert("first", at: 0)
        let first = try author.encodedChanges()
        let afterFirst = author.versionVector
        try author.insert(" second", at: 5)
        let second = try author.encodedChanges(since: afterFirst)
        var reader = Document()
        #expect(throws: CRDTError.self) { try reader.merge(encodedChanges: second) }
        #expect(reader.eventCount == 0 && reader.text().isEmpty)
        try reader.merge(encodedChanges: first)
        try reader.merge(encodedChanges: second)
        #expect(reader.text() == "first second")
    }

    @Test("an edit at an impossible position is refused and nothing is kept")
    func impossiblePositions() throws {
        var document = Document(agent: try AgentID("aarhus"))
        try document.insert("Ærø", at: 0)
        #expect(throws: CRDTError.self) { try document.insert("x", at: 4) }
        #expect(throws: CRDTError.self) { try document.delete(2..<4) }
        #expect(throws: CRDTError.self) { try document.delete(-1..<1) }
        // Made on an old version, with a position that only exists later; and made on
        // a version this replica has never seen.
        let before = document.encoded()
        #expect(throws: CRDTError.self) { try document.apply([.insert(at: 2, "x")], at: .empty) }
        let unknown = Version(heads: [EventID(agent: try AgentID("nobody"), seq: 7)])
        #expect(throws: CRDTError.self) { try document.apply([.insert(at: 0, "x")], at: unknown) }
        #expect(document.encoded() == before, "failed edits leave the document byte-for-byte unchanged")
        let readOnly = Document()
        var copy = readOnly
        #expect(throws: CRDTError.self) { try copy.insert("x", at: 0) }
    }
}
