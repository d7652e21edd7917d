/// Change batches: the events one replica sends another.
///
/// ```
/// envelope (EncodedFile), kind "C", flags bit 0: body deflated
/// body length      varint: bytes of the (inflated) body
/// stored length    varint: bytes that follow
/// body             EventBatch body, possibly deflated
/// ```
extension Document {
    /// Bodies at least this long are deflated when that makes them smaller.
    static let deflateThreshold = 256

    /// The events a replica with version vector `vector` lacks, encoded as one change
    /// batch — what a peer sends to catch another up. O(answer) to find the events.
    public func encodedChanges(since vector: VersionVector = VersionVector()) throws(CRDTError) -> [UInt8] {
        let log = try historyLog()
        let ranges = log.agents.ranges(notIn: vector)
        return Self.encodeChanges(EventBatch(log: log, ranges: ranges))
    }

    /// The events a replica at `vector` lacks, as change batches of at most
    /// `maxEventsPerBatch` events each, to be sent and merged in the order returned:
    /// events are cut in local (topological) order, so every batch's parents are in an
    /// earlier batch or at the receiver. What a client does with an edit larger than a
    /// server accepts in one batch. O(answer).
    public func encodedChanges(since vector: VersionVector, maxEventsPerBatch: Int) throws(CRDTError) -> [[UInt8]] {
        let log = try historyLog()
        let limit = max(1, maxEventsPerBatch)
        var batches: [[UInt8]] = []
        var chunk: [LVRange] = []
        var inChunk = 0
        for range in log.agents.ranges(notIn: vector) {
            var start = range.start
            while start < range.end {
                let end = min(range.end, start + (limit - inChunk))
                chunk.append(LVRange(start, end))
                inChunk += end - start
                start = end
                if inChunk == limit {
                    batches.append(Self.encodeChanges(EventBatch(log: log, ranges: chunk)))
                    chunk.removeAll(keepingCapacity: true)
                    inChunk = 0
                }
            }
        }
        if !chunk.isEmpty { batches.append(Self.encodeChanges(EventBatch(log: log, ranges: chunk))) }
        return batches
    }

    static func encodeChanges(_ batch: EventBatch) -> [UInt8] {
        let body = batch.encodeBody()
        var stored = body
        var flags = 0
        if body.count >= deflateThreshold {
            let deflated = Zlib.deflate(body)
            if deflated.count < body.count {
                stored = deflated
                flags |= 1
            }
        }
        var writer = EncodedFile.beginWriting(.changes, flags: flags, capacity: stored.count + 16)
        writer.writeVarint(body.count)
        writer.writeVarint(stored.count)
        writer.writeBytes(stored)
        return EncodedFile.finish(writer)
    }

    /// Decodes a change batch without applying it.
    static func decodeChanges(_ bytes: [UInt8]) throws(CRDTError) -> EventBatch {
        try decodeChanges(bytes, maxBodyBytes: .max).batch
    }

    /// Decodes a change batch whose body (inflated) is at most `maxBodyBytes`,
    /// checked before inflating; returns it with the body's size.
    static func decodeChanges(_ bytes: [UInt8], maxBodyBytes: Int) throws(CRDTError) -> (batch: EventBatch, bodyBytes: Int) {
        var (reader, flags) = try EncodedFile.open(bytes, as: .changes, section: "change batch")
        guard flags & ~1 == 0 else { throw reader.error(.unsupportedVersion, "unknown flags \(flags)") }
        let bodyLength = try reader.readVarint(atMost: 1 << 40, "body length")
        guard bodyLength <= maxBodyBytes else {
            throw reader.error(.limitExceeded, "the batch body is \(bodyLength) bytes once inflated; at most \(maxBodyBytes) are accepted")
        }
        let storedLength = try reader.readVarint(atMost: reader.remaining, "stored length")
        let stored = try reader.readBytes(storedLength, "body")
        guard reader.isAtEnd else { throw reader.error(.malformed, "unexpected bytes after the body") }
        let body: [UInt8]
        if flags & 1 != 0 {
            body = try Zlib.inflate(stored, expectedCount: bodyLength, context: "change batch body")
        } else {
            guard bodyLength == storedLength else { throw reader.error(.malformed, "body length mismatch") }
            body = Array(stored)
        }
        return (try EventBatch(decodingBody: body, section: "change batch body"), body.count)
    }

    /// Merges a change batch from another replica: every event this document lacks is
    /// added and every text updated. Events already known are ignored, so batches may
    /// arrive more than once and overlap. Returns the number of new events.
    ///
    /// Throws — and changes nothing — if the bytes are not a valid batch, if events
    /// depend on events this document does not have (merge those first), or if an
    /// edit's position does not exist in the text it was made on, or if placing its
    /// concurrent insertions needs more than `placementBudget` scans (see the
    /// several-batch form).
    ///
    /// `bytes` may also be a document file (``encoded()``), which is what a replica
    /// that has nothing should be sent: its events are merged as one batch. Into an
    /// empty document, the file's texts are checked against what its events merge to
    /// (a difference throws ``CRDTError/Code-swift.struct/malformed`` and changes
    /// nothing) — unless `trustingTexts`, when the file is opened as it is, without
    /// replaying its history: O(texts) instead of O(history), for a replica that
    /// trusts its sender, as a client trusts its server (see `Document+NewReplica`).
    @discardableResult
    public mutating func merge(
        encodedChanges bytes: [UInt8], placementBudget: Int? = nil, trustingTexts: Bool = false
    ) throws(CRDTError) -> Int {
        if Self.isDocumentFile(bytes) {
            return try merge(documentFile: bytes, placementBudget: placementBudget, trustingTexts: trustingTexts)
        }
        let batch = try Self.decodeChanges(bytes)
        return try merge([batch], placementBudget: placementBudget)
    }

    /// Merges several change batches as one change: the same document as merging them
    /// one after another in this order, with one replay for all of them instead of one
    /// each — what a server does with the batches pushed to a document while it was
    /// busy writing. A batch may depend on events of earlier batches in the list.
    ///
    /// All or nothing: throws, and changes nothing, if any batch is invalid, depends on
    /// events neither this document nor an earlier batch has, or does not apply (every
    /// event is still checked against its own parent version). Merge them one by one to
    /// find which.
    ///
    /// `placementBudget` bounds the work of placing concurrent insertions: every
    /// concurrent text run or list slot scanned past while placing a new insertion
    /// counts one (YjsMod scans them; two writers each inserting k items at the front
    /// cost about k² scans). Past the budget the merge throws
    /// ``CRDTError/Code-swift.struct/limitExceeded`` and changes nothing. nil: no bound
    /// (a replica merging what a server accepted); a server checking a push sets one.
    @discardableResult
    public mutating func merge(encodedChanges batches: [[UInt8]], placementBudget: Int? = nil) throws(CRDTError) -> Int {
        var decoded: [EventBatch] = []
        decoded.reserveCapacity(batches.count)
        for bytes in batches { decoded.append(try Self.decodeChanges(bytes)) }
        return try merge(decoded, placementBudget: placementBudget)
    }

    mutating func merge(_ batches: [EventBatch], placementBudget: Int? = nil) throws(CRDTError) -> Int {
        try materializeHistory()
        let checkpoint = log.checkpoint()
        let oldHeads = log.graph.heads
        let firstNew = log.eventCount
        do throws(CRDTError) {
            for batch in batches { _ = try log.append(batch) }
        } catch {
            log.rollback(to: checkpoint)
            throw error
        }
        let added = log.eventCount - firstNew
        if added > 0 {
            try mergeAppendedEvents(since: oldHeads, firstNew: firstNew, rollingBackTo: checkpoint,
                                    placementBudget: placementBudget)
        }
        return added
    }
}
