import Synchronization

/// The text operations of a loaded document file, decoded on first use.
///
/// Opening a document reads its texts and the structure of its history (graph,
/// agents, containers, register/map/list/set operations); the text operations — the
/// bulk of a history — stay encoded until an edit, a merge or a request for changes
/// needs them. Copies of a document share this box, so they are decoded at most once.
///
/// Not `@unchecked Sendable`: every stored property is immutable and Sendable, and
/// the memoized result is guarded by a `Mutex`.
final class LazyTextOperations: Sendable {
    /// The whole document file (its texts are the deflate dictionary).
    let file: [UInt8]
    let sectionRange: Range<Int>
    let sectionLength: Int
    let isDeflated: Bool
    let dictionaryRange: Range<Int>
    /// The structure of the history the operations belong to, as decoded at load.
    let structure: EventBatch
    /// How many containers the log had when the file was opened: text histories are
    /// decoded for those.
    let containerCount: Int

    private let decoded = Mutex<Result<[TextHistory], CRDTError>?>(nil)

    init(file: [UInt8], sectionRange: Range<Int>, sectionLength: Int, isDeflated: Bool, dictionaryRange: Range<Int>,
         structure: EventBatch, containerCount: Int) {
        self.file = file
        self.sectionRange = sectionRange
        self.sectionLength = sectionLength
        self.isDeflated = isDeflated
        self.dictionaryRange = dictionaryRange
        self.structure = structure
        self.containerCount = containerCount
    }

    /// The text histories of the file's containers; decoding errors are remembered
    /// and rethrown.
    func textHistories(registeredIn log: OperationLog) throws(CRDTError) -> [TextHistory] {
        let result = decoded.withLock { cached -> Result<[TextHistory], CRDTError> in
            if let cached { return cached }
            let result: Result<[TextHistory], CRDTError>
            do throws(CRDTError) { result = .success(try decode(log)) } catch { result = .failure(error) }
            cached = result
            return result
        }
        return try result.get()
    }

    private func decode(_ log: OperationLog) throws(CRDTError) -> [TextHistory] {
        let stored = file[sectionRange]
        let bytes: [UInt8]
        if isDeflated {
            bytes = try Zlib.inflate(stored, expectedCount: sectionLength, dictionary: file[dictionaryRange],
                                     context: "document text operations")
        } else {
            bytes = Array(stored)
        }
        var batch = structure
        var reader = ByteReader(bytes, section: "document text operations")
        try batch.decodeTextOperations(&reader)
        guard reader.isAtEnd else { throw reader.error(.malformed, "unexpected bytes after the text operations") }
        // Replay the file's history into a log with the same containers; only its text
        // histories are kept. Events are numbered identically (the file holds every
        // event from the first, in order).
        var replay = OperationLog()
        for id in log.containerIDs[0..<containerCount] { _ = replay.containerIndex(registering: id) }
        _ = try replay.append(batch)
        guard replay.containerIDs.count == containerCount else {
            throw CRDTError(.malformed, "the text operations name containers the history does not have",
                            context: "document text operations")
        }
        return replay.textHistories
    }
}
