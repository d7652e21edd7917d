import Synchronization

/// The part of an opened document file's history not decoded yet.
///
/// Opening a file reads its texts and a summary of its history. Its text operations
/// — the bulk of a history — stay encoded until an edit, a merge or a request for
/// changes needs them; so does the structure (graph, agents, containers,
/// register/map/list/set operations) when the document has no register, map, list or
/// set whose state must be shown. Copies of a document share this box, so the history
/// is decoded at most once.
///
/// Not `@unchecked Sendable`: every stored property is immutable and Sendable, and
/// the memoized result is guarded by a `Mutex`.
final class PendingHistory: Sendable {
    /// What the file says about its history, for reads before it is decoded.
    struct Summary: Sendable {
        var eventCount: Int
        var versionVector: VersionVector
        var heads: [EventID]
    }

    struct Section: Sendable {
        var range: Range<Int>
        var length: Int
        var isDeflated: Bool
    }

    /// The whole document file (its texts are the text operations' deflate dictionary).
    let file: [UInt8]
    let summary: Summary
    /// The structure, if it was decoded when the file was opened (then the log holds
    /// it); otherwise where it is.
    let decodedStructure: EventBatch?
    let structureSection: Section
    let textSection: Section
    let dictionaryRange: Range<Int>
    /// How many containers the log had when the file was opened.
    let containerCount: Int

    private let decoded = Mutex<Result<OperationLog, CRDTError>?>(nil)

    init(file: [UInt8], summary: Summary, decodedStructure: EventBatch?, structureSection: Section,
         textSection: Section, dictionaryRange: Range<Int>, containerCount: Int) {
        self.file = file
        self.summary = summary
        self.decodedStructure = decodedStructure
        self.structureSection = structureSection
        self.textSection = textSection
        self.dictionaryRange = dictionaryRange
        self.containerCount = containerCount
    }

    private func bytes(of section: Section, dictionary: ArraySlice<UInt8>, name: String) throws(CRDTError) -> [UInt8] {
        let stored = file[section.range]
        guard section.isDeflated else { return Array(stored) }
        return try Zlib.inflate(stored, expectedCount: section.length, dictionary: dictionary, context: name)
    }

    /// The file's whole history, as a log whose first containers are `base`'s first
    /// `containerCount` (so that indices agree). Decoded once; errors are remembered.
    func fileLog(base: OperationLog) throws(CRDTError) -> OperationLog {
        let result = decoded.withLock { cached -> Result<OperationLog, CRDTError> in
            if let cached { return cached }
            let result: Result<OperationLog, CRDTError>
            do throws(CRDTError) { result = .success(try decode(base)) } catch { result = .failure(error) }
            cached = result
            return result
        }
        return try result.get()
    }

    private func decode(_ base: OperationLog) throws(CRDTError) -> OperationLog {
        var batch: EventBatch
        if let decodedStructure {
            batch = decodedStructure
        } else {
            let structure = try bytes(of: structureSection, dictionary: [], name: "document structure")
            var reader = ByteReader(structure, section: "document structure")
            batch = try EventBatch(decodingStructure: &reader)
            guard reader.isAtEnd else { throw reader.error(.malformed, "unexpected bytes after the structure") }
        }
        let text = try bytes(of: textSection, dictionary: file[dictionaryRange], name: "document text operations")
        var reader = ByteReader(text, section: "document text operations")
        try batch.decodeTextOperations(&reader)
        guard reader.isAtEnd else { throw reader.error(.malformed, "unexpected bytes after the text operations") }
        var log = OperationLog()
        for id in base.containerIDs[0..<containerCount] { _ = log.containerIndex(registering: id) }
        let appended = try log.append(batch)
        guard appended.count == summary.eventCount, log.agents.versionVector == summary.versionVector,
              log.graph.heads.map({ log.agents.eventID(of: $0) }).sorted() == summary.heads.sorted()
        else {
            throw CRDTError(.malformed, "the history does not match the version recorded next to it",
                            context: "document history")
        }
        return log
    }
}
