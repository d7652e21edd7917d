/// Document files: a summary of the history, the current texts stored as they are,
/// then the history in two parts — its structure and its text operations — so that
/// opening a document decodes only what it must show.
///
/// ```
/// envelope (EncodedFile), kind "D", flags: bit 0 structure deflated,
///                                          bit 1 text operations deflated
/// event count
/// agents             count, then per agent: name, number of its events (the
///                    version vector)
/// heads              count, then per head: agent index, seq (the current version)
/// value containers   0 or 1: whether any register, map, list or set exists (then the
///                    structure is decoded at open, to show their states)
/// texts              count, then per text: container path (0 root name | 1 map
///                    entry: parent path, key | 2 list item: parent path, agent
///                    index, seq), scalar count, byte count
/// text bytes         every text's UTF-8, in that order, uncompressed
/// structure length   varint: bytes of the (inflated) structure, stored length,
/// structure          EventBatch structure of every event
/// text ops length    varint, stored length,
/// text operations    EventBatch text operations; deflated with the text bytes as
///                    preset dictionary, so text that survived is stored once
/// ```
extension Document {
    /// Deepest container path a file may hold (children of children ...).
    static let maxContainerDepth = 32

    /// This document as a file.
    public func encoded() -> [UInt8] {
        if let pending {
            let unchanged = pending.decodedStructure == nil
                ? log.eventCount == 0
                : log.eventCount == pending.summary.eventCount && log.containerIDs.count == pending.containerCount
            if unchanged { return pending.file }
        }
        let log: OperationLog
        do { log = try historyLog() } catch {
            // An opened file whose history does not decode: keep it as it was.
            return pending?.file ?? []
        }
        let batch = EventBatch(log: log, ranges: log.eventCount > 0 ? [LVRange(0, log.eventCount)] : [])
        var structureWriter = ByteWriter(reservingCapacity: 1024)
        batch.encodeStructure(into: &structureWriter)
        var textWriter = ByteWriter(reservingCapacity: batch.content.count + 1024)
        batch.encodeTextOperations(into: &textWriter)

        var summary = ByteWriter(reservingCapacity: 256)
        summary.writeVarint(log.eventCount)
        let agents = log.agents.agents
        summary.writeVarint(agents.count)
        for (index, agent) in agents.enumerated() {
            summary.writeString(agent.name)
            summary.writeVarint(log.agents.nextSeq(ofAgent: Int32(index)))
        }
        summary.writeVarint(log.graph.heads.count)
        for head in log.graph.heads {
            let (agent, seq) = log.agents.agentAndSeq(of: head)
            summary.writeVarint(Int(agent))
            summary.writeVarint(seq)
        }
        summary.writeByte(log.containerIDs.contains { $0.kind != .text } ? 1 : 0)
        var texts: [[UInt8]] = []
        var textEntries = ByteWriter(reservingCapacity: 64)
        for (index, id) in log.containerIDs.enumerated() {
            guard let rope = ropes[index] else { continue }
            Self.writePath(id, agents: log.agents, into: &textEntries)
            textEntries.writeVarint(rope.scalarCount)
            let utf8 = rope.utf8
            textEntries.writeVarint(utf8.count)
            texts.append(utf8)
        }
        let dictionary = Array(texts.joined())

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
        var file = EncodedFile.beginWriting(.document, flags: flags, capacity: summary.count + textEntries.count
                                            + structure.count + dictionary.count + textOperations.count + 64)
        file.writeBytes(summary.bytes)
        file.writeVarint(texts.count)
        file.writeBytes(textEntries.bytes)
        file.writeBytes(dictionary)
        file.writeVarint(structureLength)
        file.writeVarint(structure.count)
        file.writeBytes(structure)
        file.writeVarint(textOperationsLength)
        file.writeVarint(textOperations.count)
        file.writeBytes(textOperations)
        return EncodedFile.finish(file)
    }

    private static func writePath(_ id: ContainerID, agents: AgentAssignment, into writer: inout ByteWriter) {
        writer.writeByte(id.kind.rawValue)
        switch id.path {
        case let .root(name):
            writer.writeByte(0)
            writer.writeString(name)
        case let .mapEntry(parent, key):
            writer.writeByte(1)
            writePath(parent, agents: agents, into: &writer)
            writer.writeString(key)
        case let .listItem(parent, item):
            writer.writeByte(2)
            writePath(parent, agents: agents, into: &writer)
            writer.writeString(item.agent.name)
            writer.writeVarint(item.seq)
        }
    }

    private static func readPath(_ reader: inout ByteReader, depth: Int = 0) throws(CRDTError) -> ContainerID {
        guard depth < maxContainerDepth else { throw reader.error(.limitExceeded, "container paths nest too deep") }
        guard let kind = ContainerKind(rawValue: try reader.readByte()) else {
            throw reader.error(.malformed, "unknown container kind")
        }
        switch try reader.readByte() {
        case 0:
            let name = try reader.readString(maxUTF8Count: ContainerID.maxUTF8Count, "container name")
            guard ContainerID.isValidName(name) else { throw reader.error(.malformed, "invalid container name") }
            return ContainerID(kind: kind, path: .root(name))
        case 1:
            let parent = try readPath(&reader, depth: depth + 1)
            let key = try reader.readString(maxUTF8Count: ContainerID.maxUTF8Count, "map key")
            guard parent.kind == .map, ContainerID.isValidName(key) else { throw reader.error(.malformed, "invalid map entry path") }
            return ContainerID(kind: kind, path: .mapEntry(parent: parent, key: key))
        case 2:
            let parent = try readPath(&reader, depth: depth + 1)
            let name = try reader.readString(maxUTF8Count: AgentID.maxUTF8Count, "agent name")
            guard parent.kind == .list, AgentID.problem(with: name) == nil else {
                throw reader.error(.malformed, "invalid list item path")
            }
            let seq = try reader.readVarint(atMost: EventBatch.Limits.events, "list item sequence number")
            return ContainerID(kind: kind, path: .listItem(parent: parent, item: EventID(agent: AgentID(unchecked: name), seq: seq)))
        default:
            throw reader.error(.malformed, "unknown container path")
        }
    }

    /// Opens a document file. Local edits will be made by `agent`.
    ///
    /// Throws a ``CRDTError`` for anything that is not an intact document file:
    /// wrong magic, newer format, checksum mismatch, truncation, invalid UTF-8,
    /// inconsistent counts, register/map/list/set operations that do not apply. With
    /// `verifyingHistory`, also decodes the whole history and checks that replaying it
    /// gives exactly the stored texts (see ``verifyHistory()``); otherwise that
    /// happens on first use.
    public init(decoding bytes: [UInt8], agent: AgentID? = nil, verifyingHistory: Bool = false) throws(CRDTError) {
        var (reader, flags) = try EncodedFile.open(bytes, as: .document, section: "document")
        guard flags & ~3 == 0 else { throw reader.error(.unsupportedVersion, "unknown flags \(flags)") }
        // Summary.
        let eventCount = try reader.readVarint(atMost: EventBatch.Limits.events, "event count")
        let agentCount = try reader.readCount("agent count", limit: EventBatch.Limits.agents)
        var agents: [AgentID] = []
        var vector = VersionVector()
        var eventTotal = 0
        for _ in 0..<agentCount {
            let name = try reader.readString(maxUTF8Count: AgentID.maxUTF8Count, "agent name")
            guard AgentID.problem(with: name) == nil else { throw reader.error(.invalidAgent, "invalid agent name") }
            let agent = AgentID(unchecked: name)
            let count = try reader.readVarint(atMost: EventBatch.Limits.events, "event count of an agent")
            guard !agents.contains(agent) else { throw reader.error(.malformed, "agent \(agent) listed twice") }
            agents.append(agent)
            vector[agent] = count
            eventTotal += count
        }
        let headCount = try reader.readCount("head count")
        var heads: [EventID] = []
        for _ in 0..<headCount {
            let agent = try reader.readVarint()
            guard agent < agents.count else { throw reader.error(.malformed, "a head names agent \(agent) of \(agents.count)") }
            let seq = try reader.readVarint()
            guard seq < vector[agents[agent]] else { throw reader.error(.malformed, "a head is beyond its agent's events") }
            heads.append(EventID(agent: agents[agent], seq: seq))
        }
        guard eventCount == eventTotal, (eventCount == 0) == heads.isEmpty else {
            throw reader.error(.malformed, "the version vector and event count disagree")
        }
        let hasValueContainers = try reader.readByte()
        guard hasValueContainers <= 1 else { throw reader.error(.malformed, "invalid value-container flag") }

        // Texts.
        let textCount = try reader.readCount("text count", limit: EventBatch.Limits.containers)
        var document = Document(agent: agent)
        var sizes: [(index: Int, scalars: Int, bytes: Int)] = []
        for _ in 0..<textCount {
            let id = try Self.readPath(&reader)
            guard id.kind == .text, document.log.containerIndex(of: id) == nil else {
                throw reader.error(.malformed, "a text entry is not a text, or repeats one")
            }
            let index = document.containerIndex(registering: id)
            let scalars = try reader.readVarint(atMost: reader.remaining, "text length")
            let byteCount = try reader.readVarint(atMost: reader.remaining, "text size")
            sizes.append((index, scalars, byteCount))
        }
        let dictionaryStart = reader.offset
        for size in sizes {
            let slice = try reader.readBytes(size.bytes, "text \(document.log.containerIDs[size.index])")
            let rope: TextRope? = slice.withUnsafeBufferPointer { utf8 in
                guard UTF8Scalars.validate(utf8) == size.scalars else { return nil }
                return TextRope(utf8: utf8)
            }
            guard let rope else {
                throw reader.error(.invalidUTF8, "text \(document.log.containerIDs[size.index]) is not valid UTF-8 of the recorded length")
            }
            document.ropes[size.index] = rope
        }
        let dictionaryEnd = reader.offset

        // History sections.
        func section(_ name: String, deflated: Bool) throws(CRDTError) -> PendingHistory.Section {
            let length = try reader.readVarint(atMost: 1 << 40, "\(name) length")
            let stored = try reader.readVarint(atMost: reader.remaining, "stored \(name) length")
            let start = reader.offset
            _ = try reader.readBytes(stored, name)
            guard deflated || length == stored else { throw reader.error(.malformed, "\(name) length mismatch") }
            return PendingHistory.Section(range: start..<start + stored, length: length, isDeflated: deflated)
        }
        let structureSection = try section("structure", deflated: flags & 1 != 0)
        let textSection = try section("text operations", deflated: flags & 2 != 0)
        guard reader.isAtEnd else { throw reader.error(.malformed, "unexpected bytes after the text operations") }

        var decodedStructure: EventBatch?
        if hasValueContainers == 1 {
            // Registers, maps, lists and sets must be shown: decode the structure.
            let stored = bytes[structureSection.range]
            let structure = structureSection.isDeflated
                ? try Zlib.inflate(stored, expectedCount: structureSection.length, context: "document structure")
                : Array(stored)
            var structureReader = ByteReader(structure, section: "document structure")
            let batch = try EventBatch(decodingStructure: &structureReader)
            guard structureReader.isAtEnd else { throw structureReader.error(.malformed, "unexpected bytes after the structure") }
            let appended = try document.log.append(batch)
            guard appended.count == eventCount, document.log.agents.versionVector == vector,
                  document.log.graph.heads.map({ document.log.agents.eventID(of: $0) }).sorted() == heads.sorted()
            else {
                throw CRDTError(.malformed, "the history does not match the version recorded next to it", context: "document structure")
            }
            document.syncStatesWithContainers()
            let context = document.log.causalContext
            for index in document.log.containerIDs.indices where document.log.containerIDs[index].kind != .text {
                let history = document.log.valueHistories[index]
                for position in 0..<history.count {
                    try document.values[index].apply(history.operations[position], at: history.events[position], context: context)
                }
            }
            decodedStructure = batch
        }
        document.pending = PendingHistory(
            file: bytes, summary: PendingHistory.Summary(eventCount: eventCount, versionVector: vector, heads: heads),
            decodedStructure: decodedStructure, structureSection: structureSection, textSection: textSection,
            dictionaryRange: dictionaryStart..<dictionaryEnd, containerCount: document.log.containerIDs.count)
        self = document
        if verifyingHistory { try verifyHistory() }
    }

    /// Decodes the whole history and checks that replaying it from the empty document
    /// gives exactly the current texts and register/map/list/set states.
    /// O(history): what a merge into an empty replica costs.
    public func verifyHistory() throws(CRDTError) {
        let log = try historyLog()
        var replayed = Document(agent: nil)
        replayed.log = log
        replayed.syncStatesWithContainers()
        try replayed.mergeAppendedEvents(since: [], firstNew: 0, rollingBackTo: log.checkpoint())
        if let id = replayed.firstContainer(differingFrom: self) {
            throw CRDTError(.malformed, "replaying the history of \(id) does not give the stored state", context: "document history")
        }
    }

    /// The first container whose state differs between this document and `other`
    /// (compared by container id, over this document's containers), or nil.
    func firstContainer(differingFrom other: Document) -> ContainerID? {
        var other = other
        guard (try? other.materializeHistory()) != nil else { return log.containerIDs.first }
        for id in log.containerIDs {
            let same: Bool
            switch id.kind {
            case .text: same = text(id) == other.text(id)
            case .register: same = register(id) == other.register(id)
            case .map: same = map(id).map { "\($0.key)=\($0.value.writes)" } == other.map(id).map { "\($0.key)=\($0.value.writes)" }
            case .list: same = list(id) == other.list(id)
            case .set: same = set(id) == other.set(id)
            }
            if !same { return id }
        }
        return nil
    }
}
