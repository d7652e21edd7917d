/// Document files: the current texts, stored as they are so that a document opens
/// without touching its history, followed by the whole history.
///
/// ```
/// envelope (EncodedFile), kind "D", flags bit 0: history deflated
/// agentCount        then per agent: name, number of its events  (version vector)
/// headCount         then per head: agent index, seq             (current version)
/// eventCount
/// textCount         then per text: name, scalar count, byte count
/// text bytes        every text's UTF-8, in that order, uncompressed
/// history length    varint: bytes of the (inflated) history body
/// stored length     varint
/// history           EventBatch body of every event; deflated with the text bytes
///                   as preset dictionary, so text that survived is stored once
/// ```
///
/// Opening a file checks the checksum, reads and validates the texts, and keeps the
/// history encoded until it is needed (``LazyHistory``): O(size of the texts).
extension Document {
    /// This document as a file.
    public func encoded() -> [UInt8] {
        if let lazy { return lazy.file }  // unchanged since it was opened
        var writer = ByteWriter(reservingCapacity: 256)
        let agents = log.agents.agents
        writer.writeVarint(agents.count)
        for (index, agent) in agents.enumerated() {
            writer.writeString(agent.name)
            writer.writeVarint(log.agents.nextSeq(ofAgent: Int32(index)))
        }
        writer.writeVarint(log.graph.heads.count)
        for head in log.graph.heads {
            let (agent, seq) = log.agents.agentAndSeq(of: head)
            writer.writeVarint(Int(agent))
            writer.writeVarint(seq)
        }
        writer.writeVarint(log.eventCount)
        let texts = ropes.map(\.utf8)
        writer.writeVarint(log.textIDs.count)
        for (index, id) in log.textIDs.enumerated() {
            writer.writeString(id.name)
            writer.writeVarint(ropes[index].scalarCount)
            writer.writeVarint(texts[index].count)
        }
        let dictionary = texts.joined()
        let body = EventBatch(log: log, ranges: log.eventCount > 0 ? [LVRange(0, log.eventCount)] : []).encodeBody()
        var stored = body
        var flags = 0
        if body.count >= Self.deflateThreshold {
            let deflated = Zlib.deflate(body, dictionary: Array(dictionary))
            if deflated.count < body.count {
                stored = deflated
                flags |= 1
            }
        }
        var file = EncodedFile.beginWriting(.document, flags: flags, capacity: writer.count + dictionary.count + stored.count)
        file.writeBytes(writer.bytes)
        file.writeBytes(dictionary)
        file.writeVarint(body.count)
        file.writeVarint(stored.count)
        file.writeBytes(stored)
        return EncodedFile.finish(file)
    }

    /// Opens a document file. Local edits will be made by `agent`.
    ///
    /// Throws a ``CRDTError`` for anything that is not an intact document file:
    /// wrong magic, newer format, checksum mismatch, truncation, invalid UTF-8,
    /// inconsistent counts. With `verifyingHistory`, also decodes the history and
    /// checks that replaying it gives exactly the stored texts (see
    /// ``verifyHistory()``); otherwise that happens on first use.
    public init(decoding bytes: [UInt8], agent: AgentID? = nil, verifyingHistory: Bool = false) throws(CRDTError) {
        var (reader, flags) = try EncodedFile.open(bytes, as: .document, section: "document")
        guard flags & ~1 == 0 else { throw reader.error(.unsupportedVersion, "unknown flags \(flags)") }
        let agentCount = try reader.readCount("agent count", limit: EventBatch.Limits.agents)
        var agents: [AgentID] = []
        var vector = VersionVector()
        var eventTotal = 0
        for _ in 0..<agentCount {
            let name = try reader.readString(maxUTF8Count: AgentID.maxUTF8Count, "agent name")
            guard AgentID.problem(with: name) == nil else { throw reader.error(.invalidAgent, "invalid agent name") }
            let agent = AgentID(unchecked: name)
            let count = try reader.readVarint(atMost: EventBatch.Limits.events, "event count of an agent")
            guard vector[agent] == 0 else { throw reader.error(.malformed, "agent \(agent) listed twice") }
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
        let eventCount = try reader.readVarint(atMost: EventBatch.Limits.events, "event count")
        guard eventCount == eventTotal, (eventCount == 0) == heads.isEmpty else {
            throw reader.error(.malformed, "the version vector and event count disagree")
        }
        let textCount = try reader.readCount("text count", limit: EventBatch.Limits.texts)
        var textIDs: [ContainerID] = []
        var textSizes: [(scalars: Int, bytes: Int)] = []
        for _ in 0..<textCount {
            let name = try reader.readString(maxUTF8Count: ContainerID.maxUTF8Count, "text name")
            guard let id = try? ContainerID(name), !textIDs.contains(id) else {
                throw reader.error(.malformed, "invalid or duplicate text name")
            }
            let scalars = try reader.readVarint(atMost: reader.remaining, "text length")
            let byteCount = try reader.readVarint(atMost: reader.remaining, "text size")
            textIDs.append(id)
            textSizes.append((scalars, byteCount))
        }
        let dictionaryStart = reader.offset
        var ropes: [TextRope] = []
        ropes.reserveCapacity(textCount)
        for (index, size) in textSizes.enumerated() {
            let slice = try reader.readBytes(size.bytes, "text \(textIDs[index])")
            let rope: TextRope? = slice.withUnsafeBufferPointer { utf8 in
                guard UTF8Scalars.validate(utf8) == size.scalars else { return nil }
                return TextRope(utf8: utf8)
            }
            guard let rope else {
                throw reader.error(.invalidUTF8, "text \(textIDs[index]) is not valid UTF-8 of the recorded length")
            }
            ropes.append(rope)
        }
        let dictionaryEnd = reader.offset
        let bodyLength = try reader.readVarint(atMost: 1 << 40, "history length")
        let storedLength = try reader.readVarint(atMost: reader.remaining, "stored history length")
        let bodyStart = reader.offset
        _ = try reader.readBytes(storedLength, "history")
        guard reader.isAtEnd else { throw reader.error(.malformed, "unexpected bytes after the history") }
        guard flags & 1 != 0 || bodyLength == storedLength else { throw reader.error(.malformed, "history length mismatch") }
        let lazy = LazyHistory(
            file: bytes, bodyRange: bodyStart..<bodyStart + storedLength, bodyLength: bodyLength,
            isDeflated: flags & 1 != 0, dictionaryRange: dictionaryStart..<dictionaryEnd, textIDs: textIDs,
            versionVector: vector, heads: heads, eventCount: eventCount)
        self.init(agent: agent, ropes: ropes, lazy: lazy)
        if verifyingHistory { try verifyHistory() }
    }

    /// Decodes the history and checks that replaying it from the empty document gives
    /// exactly the current texts. O(history): what a merge into an empty replica costs.
    public func verifyHistory() throws(CRDTError) {
        let log = try historyLog()
        var replayed = Document(agent: nil)
        replayed.log = log
        replayed.syncRopesWithTexts()
        try replayed.mergeAppendedEvents(since: [], rollingBackTo: log.checkpoint())
        for index in log.textIDs.indices where replayed.ropes[index].utf8 != ropes[index].utf8 {
            throw CRDTError(.malformed, "replaying the history of \(log.textIDs[index]) does not give the stored text",
                            context: "document history")
        }
    }
}
