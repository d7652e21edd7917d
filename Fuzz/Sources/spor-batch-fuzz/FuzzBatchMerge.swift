import SporCRDT

/// libFuzzer entry point for change batches past the checksum: the input is a list of
/// edits (3 bytes each: kind, position, value) applied to one of a few valid change
/// batches (chosen by the first byte); the checksum is then made valid again, so every
/// input reaches the batch decoder and — when it decodes — the merge, as the server's
/// push check does.
///
/// Checks, for every input: nothing traps; a batch that merges also summarises (the
/// server never refuses what a client would accept); a document that merged it saves
/// and reopens with the same text; a failed merge leaves the document unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatchMerge(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: start, count: count)
    guard let first = input.first else { return 0 }
    let fixture = BatchFixture.shared
    var batch = fixture.batches[Int(first) % fixture.batches.count]
    var index = 1
    while index + 2 < input.count {
        let kind = input[index], position = Int(input[index + 1]), value = input[index + 2]
        index += 3
        // Only the payload changes: between the header ("SPOR", kind, version, flags) and the checksum.
        let payload = BatchFixture.headerBytes..<(batch.count - 4)
        guard payload.count > 1 else { break }
        let at = payload.lowerBound + position % payload.count
        switch kind % 3 {
        case 0: batch[at] = value
        case 1: batch.insert(value, at: at)
        default: batch.remove(at: at)
        }
    }
    BatchFixture.seal(&batch)
    var document = fixture.document
    let before = document.encoded()
    do {
        try document.merge(encodedChanges: batch)
    } catch {
        precondition(document.encoded() == before, "a failed merge changed the document")
        return 0
    }
    precondition((try? ChangeSummary(encodedChanges: batch)) != nil, "a batch that merges does not summarise")
    let reopened = try? Document(decoding: document.encoded())
    precondition(reopened?.text() == document.text(), "the merged document does not reopen with the same text")
    return 0
}

/// A document with a concurrent history of two agents, and batches of new edits on it.
struct BatchFixture: Sendable {
    static let headerBytes = 7
    static let shared = BatchFixture()

    let document: Document
    let batches: [[UInt8]]

    // Fixed inputs, built once: a failure here is a bug in this file, not a finding.
    init() {
        do {
            var aarhus = Document(agent: try AgentID("0751/fuzz"))
            try aarhus.insert("Klimaspor i Ærø og Århus 🌱\nSkybrud.", at: 0)
            var odense = Document(agent: try AgentID("0461/fuzz"))
            try odense.merge(encodedChanges: try aarhus.encodedChanges())
            try aarhus.delete(0..<10)
            try odense.insert("Fyn: ", at: 0)
            try odense.insert(" Tørke.", at: odense.textLength())
            try aarhus.merge(encodedChanges: try odense.encodedChanges(since: aarhus.versionVector))
            let base = aarhus
            var batches: [[UInt8]] = []
            var region = Document(agent: try AgentID("1082/fuzz"))
            try region.merge(encodedChanges: try base.encodedChanges())
            try region.insert("Midtjylland ", at: 5)
            batches.append(try region.encodedChanges(since: base.versionVector))
            try region.delete(2..<9)
            try region.insert("🌊", at: region.textLength())
            batches.append(try region.encodedChanges(since: base.versionVector))
            // Concurrent with the region: a branch from an older version, then merged.
            var late = Document(agent: try AgentID("0101/fuzz"))
            try late.merge(encodedChanges: try odense.encodedChanges())
            try late.insert("København ", at: 0)
            try late.merge(encodedChanges: try region.encodedChanges(since: late.versionVector))
            try late.delete(0..<3)
            batches.append(try late.encodedChanges(since: base.versionVector))
            document = base
            self.batches = batches
        } catch {
            fatalError("fuzz fixture: \(error)")
        }
    }

    /// Writes the CRC-32 (ISO-HDLC, as zlib) of everything before the last 4 bytes into them.
    static func seal(_ batch: inout [UInt8]) {
        guard batch.count >= 4 else { return }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in batch[0..<(batch.count - 4)] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        for shift in 0..<4 { batch[batch.count - 4 + shift] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(shift))) }
    }
}

/// libFuzzer's driver (from the `-sanitize=fuzzer` runtime).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point as `<module>_main`.
@_cdecl("spor_batch_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzBatchMerge)
}
