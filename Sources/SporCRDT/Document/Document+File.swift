/// Document files: the structure of the history, the current texts stored as they
/// are, and the text operations — so that opening a document decodes everything but
/// the bulk of the text history, which waits until something needs it.
///
/// ```
/// envelope (EncodedFile), kind "D", flags: bit 0 structure deflated,
///                                          bit 1 text operations deflated
/// structure length   varint: bytes of the (inflated) structure
/// stored length      varint
/// structure          EventBatch structure of every event (agents, containers, runs,
///                    register/map/list/set operations)
/// text count         then per text container (index in the structure's table):
///                    container index, scalar count, byte count
/// text bytes         every text's UTF-8, in that order, uncompressed
/// text ops length    varint: bytes of the (inflated) text operations
/// stored length      varint
/// text operations    EventBatch text operations; deflated with the text bytes as
///                    preset dictionary, so text that survived is stored once
/// ```
///
/// Opening a file checks the checksum, decodes the structure, rebuilds the
/// register/map/list/set states from it and reads and validates the texts.
extension Document {
    /// This document as a file.
    public func encoded() -> [UInt8] {
        if let pendingText, pendingText.structure.eventCount == log.eventCount,
           pendingText.containerCount == log.containerIDs.count {
            // Unchanged since it was opened.
            return pendingText.file
        }
        let log: OperationLog
        do { log = try historyLog() } catch {
            // An opened file whose text operations do not decode: keep it as it was.
            return pendingText?.file ?? []
        }
        let batch = EventBatch(log: log, ranges: log.eventCount > 0 ? [LVRange(0, log.eventCount)] : [])
        var structureWriter = ByteWriter(reservingCapacity: 1024)
        batch.encodeStructure(into: &structureWriter)
        var textWriter = ByteWriter(reservingCapacity: batch.content.count + 1024)
        batch.encodeTextOperations(into: &textWriter)

        // The texts, as the batch's container table numbers them.
        var texts: [(container: Int, scalars: Int, utf8: [UInt8])] = []
        var batchContainerIndex: [ContainerID: Int] = [:]
        for (index, id) in batchContainerIDs(batch).enumerated() { batchContainerIndex[id] = index }
        var extraContainers: [ContainerID] = []
        for (index, id) in log.containerIDs.enumerated() where id.kind == .text {
            guard let rope = ropes[index] else { continue }
            if batchContainerIndex[id] == nil { extraContainers.append(id) }
            texts.append((batchContainerIndex[id] ?? -1, rope.scalarCount, rope.utf8))
        }
        // Texts without operations (never edited) are not in the table; they are empty.
        texts.removeAll { $0.container < 0 }
        let dictionary = Array(texts.map(\.utf8).joined())

        var flags = 0
        var structure = structureWriter.bytes
        let structureLength = structure.count
        if structure.count >= Self.deflateThreshold {
            let deflated = Zlib.deflate(structure)
            if deflated.count < structure.count {
                structure = deflated
                flags |= 1
            }
        }
        var textOperations = textWriter.bytes
        let textOperationsLength = textOperations.count
        if textOperations.count >= Self.deflateThreshold {
            let deflated = Zlib.deflate(textOperations, dictionary: dictionary)
            if deflated.count < textOperations.count {
                textOperations = deflated
                flags |= 2
            }
        }
        var file = EncodedFile.beginWriting(.document, flags: flags,
                                            capacity: structure.count + dictionary.count + textOperations.count + 64)
        file.writeVarint(structureLength)
        file.writeVarint(structure.count)
        file.writeBytes(structure)
        file.writeVarint(texts.count)
        for text in texts {
            file.writeVarint(text.container)
            file.writeVarint(text.scalars)
            file.writeVarint(text.utf8.count)
        }
        file.writeBytes(dictionary)
        file.writeVarint(textOperationsLength)
        file.writeVarint(textOperations.count)
        file.writeBytes(textOperations)
        return EncodedFile.finish(file)
    }

    /// The container ids of a batch's table, in table order.
    private func batchContainerIDs(_ batch: EventBatch) -> [ContainerID] {
        var ids: [ContainerID] = []
        for entry in batch.containers {
            switch entry.path {
            case let .root(name): ids.append(ContainerID(kind: entry.kind, path: .root(name)))
            case let .mapEntry(parent, key): ids.append(ContainerID(kind: entry.kind, path: .mapEntry(parent: ids[parent], key: key)))
            case let .listItem(parent, item):
                let event: EventID
                switch item {
                case let .inBatch(offset): event = log.agents.eventID(of: offset)
                case let .external(agent, seq): event = EventID(agent: batch.agents[Int(agent)], seq: seq)
                }
                ids.append(ContainerID(kind: entry.kind, path: .listItem(parent: ids[parent], item: event)))
            }
        }
        return ids
    }

    /// Opens a document file. Local edits will be made by `agent`.
    ///
    /// Throws a ``CRDTError`` for anything that is not an intact document file:
    /// wrong magic, newer format, checksum mismatch, truncation, invalid UTF-8,
    /// inconsistent counts, register/map/list/set operations that do not apply. With
    /// `verifyingHistory`, also decodes the text operations and checks that replaying
    /// them gives exactly the stored texts (see ``verifyHistory()``); otherwise that
    /// happens on first use.
    public init(decoding bytes: [UInt8], agent: AgentID? = nil, verifyingHistory: Bool = false) throws(CRDTError) {
        var (reader, flags) = try EncodedFile.open(bytes, as: .document, section: "document")
        guard flags & ~3 == 0 else { throw reader.error(.unsupportedVersion, "unknown flags \(flags)") }
        let structureLength = try reader.readVarint(atMost: 1 << 40, "structure length")
        let storedStructure = try reader.readVarint(atMost: reader.remaining, "stored structure length")
        let structureBytes = try reader.readBytes(storedStructure, "structure")
        let structure: [UInt8]
        if flags & 1 != 0 {
            structure = try Zlib.inflate(structureBytes, expectedCount: structureLength, context: "document structure")
        } else {
            guard structureLength == storedStructure else { throw reader.error(.malformed, "structure length mismatch") }
            structure = Array(structureBytes)
        }
        var structureReader = ByteReader(structure, section: "document structure")
        let batch = try EventBatch(decodingStructure: &structureReader)
        guard structureReader.isAtEnd else { throw structureReader.error(.malformed, "unexpected bytes after the structure") }

        // The structure becomes the log: graph, agents, containers, value operations.
        var document = Document(agent: agent)
        var log = OperationLog()
        let appended = try log.append(batch)
        guard appended.count == batch.eventCount, log.containerIDs.count == batch.containers.count
            || log.containerIDs.count <= batch.containers.count
        else {
            throw CRDTError(.malformed, "the document's history repeats events", context: "document structure")
        }
        document.log = log
        // Every container of the table, in table order (the log may have skipped
        // parents that nothing operates on).
        let tableIDs = document.batchContainerIDs(batch)
        for id in tableIDs { _ = document.containerIndex(registering: id) }
        let context = document.log.causalContext
        for index in document.log.containerIDs.indices where document.log.containerIDs[index].kind != .text {
            let history = document.log.valueHistories[index]
            for position in 0..<history.count {
                try document.values[index].apply(history.operations[position], at: history.events[position], context: context)
            }
        }

        // The texts.
        let textCount = try reader.readCount("text count", limit: batch.containers.count)
        var sizes: [(container: Int, scalars: Int, bytes: Int)] = []
        for _ in 0..<textCount {
            let container = try reader.readVarint()
            guard container < tableIDs.count, tableIDs[container].kind == .text,
                  !sizes.contains(where: { $0.container == container })
            else { throw reader.error(.malformed, "a text names container \(container), which is not a text") }
            let scalars = try reader.readVarint(atMost: reader.remaining, "text length")
            let byteCount = try reader.readVarint(atMost: reader.remaining, "text size")
            sizes.append((container, scalars, byteCount))
        }
        let dictionaryStart = reader.offset
        for size in sizes {
            let slice = try reader.readBytes(size.bytes, "text \(tableIDs[size.container])")
            let rope: TextRope? = slice.withUnsafeBufferPointer { utf8 in
                guard UTF8Scalars.validate(utf8) == size.scalars else { return nil }
                return TextRope(utf8: utf8)
            }
            guard let rope, let index = document.log.containerIndex(of: tableIDs[size.container]) else {
                throw reader.error(.invalidUTF8, "text \(tableIDs[size.container]) is not valid UTF-8 of the recorded length")
            }
            document.ropes[index] = rope
        }
        let dictionaryEnd = reader.offset
        let textLength = try reader.readVarint(atMost: 1 << 40, "text operations length")
        let storedText = try reader.readVarint(atMost: reader.remaining, "stored text operations length")
        let textStart = reader.offset
        _ = try reader.readBytes(storedText, "text operations")
        guard reader.isAtEnd else { throw reader.error(.malformed, "unexpected bytes after the text operations") }
        guard flags & 2 != 0 || textLength == storedText else { throw reader.error(.malformed, "text operations length mismatch") }
        document.pendingText = LazyTextOperations(
            file: bytes, sectionRange: textStart..<textStart + storedText, sectionLength: textLength,
            isDeflated: flags & 2 != 0, dictionaryRange: dictionaryStart..<dictionaryEnd, structure: batch,
            containerCount: document.log.containerIDs.count)
        self = document
        if verifyingHistory { try verifyHistory() }
    }

    /// Decodes the text operations and checks that replaying the whole history from
    /// the empty document gives exactly the current texts and register/map/list/set
    /// states. O(history): what a merge into an empty replica costs.
    public func verifyHistory() throws(CRDTError) {
        let log = try historyLog()
        var replayed = Document(agent: nil)
        replayed.log = log
        replayed.syncStatesWithContainers()
        try replayed.mergeAppendedEvents(since: [], firstNew: 0, rollingBackTo: log.checkpoint())
        for index in log.containerIDs.indices where log.containerIDs[index].kind == .text {
            if replayed.ropes[index]?.utf8 != ropes[index]?.utf8 {
                throw CRDTError(.malformed, "replaying the history of \(log.containerIDs[index]) does not give the stored text",
                                context: "document history")
            }
        }
    }
}
