/// A collaboratively edited document: its causal history of events and the current
/// content of its texts.
///
/// A document always shows the merge of every event it knows. Local edits become
/// events of the document's ``agent`` made on the current version; events from other
/// replicas arrive with ``merge(encodedChanges:)`` in any causal order, possibly
/// several times (duplicates are ignored), and every replica that has seen the same
/// events shows the same text — whatever order it saw them in.
///
/// Text positions count Unicode scalars. Every mutating method either succeeds
/// completely or throws a ``CRDTError`` and leaves the document unchanged.
///
/// Internally this is Eg-walker: the history stores each edit as a plain position in
/// the version it was made on, the text is stored as it currently is, and CRDT state
/// is built only transiently to merge concurrent branches (see ``TextMerger``).
public struct Document: Sendable {
    /// The agent local edits are attributed to; nil for a read-only replica.
    public let agent: AgentID?

    /// The history; empty while `lazy` holds it still encoded.
    var log = OperationLog()
    /// A loaded document's history, until something needs it decoded.
    var lazy: LazyHistory?
    /// The current content of each text, by the text's index in `log.textIDs`.
    var ropes: [TextRope] = []
    /// The local agent's index in `log.agents` and the text last edited locally with its
    /// index (typing stays in one text), valid while `log.rollbackGeneration` is the
    /// one recorded: a rolled-back merge may have removed what they point at.
    private var cachedAgentIndex: (index: Int32, generation: Int)?
    private var cachedText: (id: ContainerID, index: Int, generation: Int)?

    /// An empty document whose local edits are made by `agent`.
    public init(agent: AgentID? = nil) {
        self.agent = agent
    }

    init(agent: AgentID?, ropes: [TextRope], lazy: LazyHistory) {
        self.agent = agent
        self.ropes = ropes
        self.lazy = lazy
    }

    // MARK: - History access

    /// The history, decoding a loaded document's history if needed (the result is
    /// shared by copies of this document).
    func historyLog() throws(CRDTError) -> OperationLog {
        if let lazy { return try lazy.log() }
        return log
    }

    /// Decodes a loaded document's history into this value, before a mutation.
    mutating func materializeHistory() throws(CRDTError) {
        guard let lazy else { return }
        log = try lazy.log()
        self.lazy = nil
    }

    /// Makes `ropes` match the texts the log knows (new texts start empty).
    mutating func syncRopesWithTexts() {
        while ropes.count < log.textIDs.count { ropes.append(TextRope()) }
    }

    private var textIDsInOrder: [ContainerID] { lazy?.textIDs ?? log.textIDs }

    func textIndex(of id: ContainerID) -> Int? { textIDsInOrder.firstIndex(of: id) }

    // MARK: - Reading

    /// The current version: the frontier of all known events.
    public var version: Version {
        if let lazy { return Version(heads: lazy.heads) }
        return log.version(of: log.graph.heads)
    }

    /// For every agent, how many of its events this document has.
    public var versionVector: VersionVector { lazy?.versionVector ?? log.agents.versionVector }

    /// The number of events in the history.
    public var eventCount: Int { lazy?.eventCount ?? log.eventCount }

    /// The ids of the texts that have content or history, sorted by name.
    public var textIDs: [ContainerID] { textIDsInOrder.sorted() }

    /// The current content of text `id` ("" for a text nobody has written yet).
    public func text(_ id: ContainerID = .text) -> String {
        guard let index = textIndex(of: id) else { return "" }
        return ropes[index].string
    }

    /// The current length of text `id` in Unicode scalars.
    public func textLength(_ id: ContainerID = .text) -> Int {
        guard let index = textIndex(of: id) else { return 0 }
        return ropes[index].scalarCount
    }

    // MARK: - Local edits

    /// Decodes the history if needed and returns the local agent's index.
    private mutating func prepareLocalEdit() throws(CRDTError) -> Int32 {
        guard let agent else {
            throw CRDTError(.readOnly, "this document has no local agent, so it cannot be edited")
        }
        if lazy != nil { try materializeHistory() }
        if let cached = cachedAgentIndex, cached.generation == log.rollbackGeneration { return cached.index }
        let index = log.agents.index(of: agent)
        cachedAgentIndex = (index, log.rollbackGeneration)
        return index
    }

    private mutating func textIndex(registering id: ContainerID) -> Int {
        if let cached = cachedText, cached.generation == log.rollbackGeneration, cached.id == id { return cached.index }
        let index = log.textIndex(registering: id)
        syncRopesWithTexts()
        cachedText = (id, index, log.rollbackGeneration)
        return index
    }

    /// The current length of text `id`, using the local-edit cache when it applies.
    private func currentLength(of id: ContainerID) -> Int {
        if let cached = cachedText, cached.generation == log.rollbackGeneration, lazy == nil, cached.id == id {
            return ropes[cached.index].scalarCount
        }
        return textLength(id)
    }

    /// Inserts `string` before scalar `position` of text `id`.
    public mutating func insert(_ string: String, at position: Int, in id: ContainerID = .text) throws(CRDTError) {
        let length = currentLength(of: id)
        guard position >= 0, position <= length else {
            throw CRDTError(.positionOutOfBounds, "cannot insert at \(position) in \(id), which has \(length) characters")
        }
        let agentIndex = try prepareLocalEdit()
        var string = string
        string.withUTF8 { utf8 in
            let scalars = UTF8Scalars.count(utf8)
            guard scalars > 0 else { return }
            let index = textIndex(registering: id)
            let (lv, _) = log.agents.append(agent: agentIndex, count: scalars)
            log.graph.appendOnHeads(count: scalars)
            log.textHistories[index].appendInsert(lv: lv, position: position, utf8: utf8, scalars: scalars)
            ropes[index].insert(utf8: utf8, scalars: scalars, at: position)
        }
    }

    /// Deletes the scalars `range` of text `id`.
    public mutating func delete(_ range: Range<Int>, in id: ContainerID = .text) throws(CRDTError) {
        let length = currentLength(of: id)
        guard range.lowerBound >= 0, range.upperBound <= length else {
            throw CRDTError(.positionOutOfBounds, "cannot delete \(range) in \(id), which has \(length) characters")
        }
        guard !range.isEmpty else { return }
        let agentIndex = try prepareLocalEdit()
        let index = textIndex(registering: id)
        let (lv, _) = log.agents.append(agent: agentIndex, count: range.count)
        log.graph.appendOnHeads(count: range.count)
        log.textHistories[index].appendDelete(lv: lv, position: range.lowerBound, count: range.count)
        ropes[index].delete(at: range.lowerBound, count: range.count)
    }

    /// Replaces the scalars `range` of text `id` by `string`.
    public mutating func replace(_ range: Range<Int>, with string: String, in id: ContainerID = .text) throws(CRDTError) {
        let length = textLength(id)
        guard range.lowerBound >= 0, range.upperBound <= length else {
            throw CRDTError(.positionOutOfBounds, "cannot replace \(range) in \(id), which has \(length) characters")
        }
        try delete(range, in: id)
        try insert(string, at: range.lowerBound, in: id)
    }

    /// Applies `edits`, made one after another on text `id` as it was at `version`
    /// (an older version, e.g. where a partner's offline branch started), and merges
    /// them with everything that happened since. Positions are checked against the
    /// text at `version`.
    public mutating func apply(_ edits: [TextEdit], in id: ContainerID = .text, at version: Version) throws(CRDTError) {
        guard agent != nil else {
            throw CRDTError(.readOnly, "this document has no local agent, so it cannot be edited")
        }
        try materializeHistory()
        let parents = try log.localVersion(of: version)
        try apply(edits, in: id, atLocalVersion: parents)
    }

    /// ``apply(_:in:at:)`` with the version as local versions (tests and benchmarks).
    mutating func apply(_ edits: [TextEdit], in id: ContainerID, atLocalVersion parents: [LV]) throws(CRDTError) {
        _ = try prepareLocalEdit()
        guard let agent else { return }
        if parents == log.graph.heads {
            // Made on the current version: plain local edits.
            for edit in edits {
                switch edit {
                case let .insert(position, text): try insert(text, at: position, in: id)
                case let .delete(position, count): try delete(position..<position + count, in: id)
                }
            }
            return
        }
        let checkpoint = log.checkpoint()
        let oldHeads = log.graph.heads
        _ = appendEdits(edits, in: id, by: agent, parents: parents)
        syncRopesWithTexts()
        try mergeAppendedEvents(since: oldHeads, rollingBackTo: checkpoint)
    }

    // MARK: - Merging

    /// Brings every text from version `oldHeads` to the log's current heads, or — if any
    /// event turns out to be invalid — rolls the log back to `checkpoint` and throws.
    mutating func mergeAppendedEvents(since oldHeads: [LV], rollingBackTo checkpoint: OperationLog.Checkpoint) throws(CRDTError) {
        var merger = TextMerger()
        let plan = merger.plan(log.graph, from: oldHeads, to: log.graph.heads)
        var patchesByText: [(Int, [TextPatch])] = []
        for index in log.textIDs.indices {
            let length = index < ropes.count ? ropes[index].scalarCount : 0
            var patches: [TextPatch] = []
            do {
                try merger.replay(plan, agents: log.agents, history: log.textHistories[index],
                                  textLength: length, into: &patches)
            } catch {
                log.rollback(to: checkpoint)
                while ropes.count > log.textIDs.count { ropes.removeLast() }
                throw error
            }
            if !patches.isEmpty { patchesByText.append((index, patches)) }
        }
        syncRopesWithTexts()
        for (index, patches) in patchesByText {
            log.textHistories[index].content.withUnsafeBufferPointer { content in
                for patch in patches {
                    switch patch {
                    case let .insert(position, start, byteCount, scalars):
                        ropes[index].insert(utf8: UnsafeBufferPointer(rebasing: content[start..<start + byteCount]),
                                            scalars: scalars, at: position)
                    case let .delete(position, count):
                        ropes[index].delete(at: position, count: count)
                    }
                }
            }
        }
    }
}

/// One edit of a text, at a scalar position of the text as it is when the edit is
/// applied (after the edits before it in the same list).
public enum TextEdit: Hashable, Sendable {
    case insert(at: Int, String)
    case delete(at: Int, count: Int)
}
