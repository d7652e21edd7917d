import Synchronization

/// The history section of a loaded document file, decoded on first use.
///
/// Loading a document only reads its texts; the history (graph, agents,
/// operations) stays encoded until an edit, a merge or a request for changes needs
/// it. Copies of a document share this box, so the history is decoded at most once
/// whoever asks first.
///
/// `@unchecked Sendable` is not needed: all stored properties are immutable and
/// Sendable, and the memoized result is guarded by a `Mutex`.
final class LazyHistory: Sendable {
    /// The whole document file (the texts in it are the history's deflate dictionary).
    let file: [UInt8]
    let bodyRange: Range<Int>
    let bodyLength: Int
    let isDeflated: Bool
    let dictionaryRange: Range<Int>
    /// The document's texts, in the order its ropes are stored.
    let textIDs: [ContainerID]
    /// Version information stored next to the texts, so that it is known without
    /// decoding the history.
    let versionVector: VersionVector
    let heads: [EventID]
    let eventCount: Int

    private let decoded = Mutex<Result<OperationLog, CRDTError>?>(nil)

    init(file: [UInt8], bodyRange: Range<Int>, bodyLength: Int, isDeflated: Bool, dictionaryRange: Range<Int>,
         textIDs: [ContainerID], versionVector: VersionVector, heads: [EventID], eventCount: Int) {
        self.file = file
        self.bodyRange = bodyRange
        self.bodyLength = bodyLength
        self.isDeflated = isDeflated
        self.dictionaryRange = dictionaryRange
        self.textIDs = textIDs
        self.versionVector = versionVector
        self.heads = heads
        self.eventCount = eventCount
    }

    /// The decoded history; decoding errors are remembered and rethrown.
    func log() throws(CRDTError) -> OperationLog {
        let result = decoded.withLock { cached -> Result<OperationLog, CRDTError> in
            if let cached { return cached }
            let result: Result<OperationLog, CRDTError>
            do throws(CRDTError) { result = .success(try decode()) } catch { result = .failure(error) }
            cached = result
            return result
        }
        return try result.get()
    }

    private func decode() throws(CRDTError) -> OperationLog {
        let stored = file[bodyRange]
        let body: [UInt8]
        if isDeflated {
            body = try Zlib.inflate(stored, expectedCount: bodyLength, dictionary: file[dictionaryRange],
                                    context: "document history")
        } else {
            body = Array(stored)
        }
        let batch = try EventBatch(decodingBody: body, section: "document history")
        var log = OperationLog()
        for id in textIDs { _ = log.textIndex(registering: id) }
        let added = try log.append(batch)
        guard added == batch.eventCount, added == eventCount, log.agents.versionVector == versionVector,
              log.graph.heads.map({ log.agents.eventID(of: $0) }).sorted() == heads.sorted(),
              log.textIDs == textIDs
        else {
            throw CRDTError(.malformed, "the history does not match the version recorded next to it",
                            context: "document history")
        }
        return log
    }
}
