/// A collaboratively edited document: its causal history of events and the current
/// state of its containers — texts, registers, maps, lists and sets.
///
/// A document always shows the merge of every event it knows. Local edits become
/// events of the document's ``agent`` made on the current version; events from other
/// replicas arrive with ``merge(encodedChanges:)`` in any causal order, possibly
/// several times (duplicates are ignored), and every replica that has seen the same
/// events shows the same state — whatever order it saw them in.
///
/// Text positions count Unicode scalars. Every mutating method either succeeds
/// completely or throws a ``CRDTError`` and leaves the document unchanged; use
/// ``atomically(_:)`` to make several edits one all-or-nothing change.
///
/// Texts are merged with Eg-walker: the history stores each edit as a plain position
/// in the version it was made on, the text is stored as it currently is, and CRDT
/// state is built only transiently to merge concurrent branches (see
/// ``TextMerger``). The other containers keep their state up to date as operations
/// arrive (``ValueState``).
public struct Document: Sendable {
    /// The agent local edits are attributed to; nil for a read-only replica.
    public let agent: AgentID?

    /// The history. For an opened file whose history is still partly encoded
    /// (`pending`), the text histories of its containers are empty, and so is the
    /// whole log if the structure was not decoded either.
    var log = OperationLog()
    var pending: PendingHistory?
    /// Per container: the current text (texts only).
    var ropes: [TextRope?] = []
    /// Per container: the current state (non-texts only).
    var values: [ValueState] = []
    /// The local agent's index in `log.agents` and the text last edited locally with its
    /// index (typing stays in one text), valid while `log.rollbackGeneration` is the
    /// one recorded: a rolled-back merge may have removed what they point at.
    private var cachedAgentIndex: (index: Int32, generation: Int)?
    private var cachedText: (id: ContainerID, index: Int, generation: Int)?
    /// Per text (container index): the merger of its last replay, whose CRDT state the
    /// next merge continues from while partners keep editing concurrently (see
    /// ``TextMerger/Continuation``). Valid while `log.rollbackGeneration` is
    /// `keptMergersGeneration`: a rollback or a trim renumbers what they cover.
    var keptMergers: [Int: TextMerger] = [:]
    var keptMergersGeneration = 0
    /// How merges of texts with concurrent events went (benchmarks and tests).
    package private(set) var mergeCounters = MergeCounters()
    /// Concurrent text runs and list slots the last merge that added events scanned past to
    /// place insertions (what ``merge(encodedChanges:placementBudget:)`` counts).
    package private(set) var placementScansOfLastMerge = 0

    /// An empty document whose local edits are made by `agent`.
    public init(agent: AgentID? = nil) {
        self.agent = agent
    }

    // MARK: - History access

    /// The complete history, decoding an opened file's encoded parts if needed (the
    /// result is shared by copies of this document).
    func historyLog() throws(CRDTError) -> OperationLog {
        guard let pending else { return log }
        let fileLog = try pending.fileLog(base: log)
        // Without a decoded structure the log holds no events yet (every edit and
        // merge decodes first): the file's history is the whole history.
        guard pending.decodedStructure != nil else { return fileLog }
        // Otherwise the log has the structure (and possibly register/map/list/set
        // events since); the file supplies the text operations of its events.
        var complete = log
        for index in 0..<pending.containerCount where !fileLog.textHistories[index].operations.isEmpty {
            var merged = fileLog.textHistories[index]
            let later = complete.textHistories[index]
            later.content.withUnsafeBufferPointer { content in
                for operation in later.operations {
                    merged.append(operation, utf8: UnsafeBufferPointer(
                        rebasing: content[operation.contentStart..<operation.contentStart + operation.contentByteCount]))
                }
            }
            complete.textHistories[index] = merged
        }
        return complete
    }

    /// Decodes an opened file's encoded history into this value, before anything that
    /// needs it.
    mutating func materializeHistory() throws(CRDTError) {
        guard pending != nil else { return }
        log = try historyLog()
        pending = nil
        keptMergers.removeAll()
        syncStatesWithContainers()
    }

    /// Whether the log lacks the events of an opened file (its structure is encoded).
    private var structurePending: Bool { pending != nil && pending?.decodedStructure == nil }

    /// Makes the per-container state match the containers the log knows.
    mutating func syncStatesWithContainers() {
        while ropes.count < log.containerIDs.count {
            let kind = log.containerIDs[ropes.count].kind
            ropes.append(kind == .text ? TextRope() : nil)
            values.append(ValueState(kind: kind))
        }
    }

    func containerIndex(of id: ContainerID) -> Int? { log.containerIndex(of: id) }

    // MARK: - Reading

    /// The current version: the frontier of all known events.
    public var version: Version {
        if structurePending, let pending { return Version(heads: pending.summary.heads) }
        return log.version(of: log.graph.heads)
    }

    /// For every agent, how many of its events this document has.
    public var versionVector: VersionVector {
        if structurePending, let pending { return pending.summary.versionVector }
        return log.agents.versionVector
    }

    /// The number of events in the history.
    public var eventCount: Int {
        if structurePending, let pending { return pending.summary.eventCount }
        return log.eventCount
    }

    /// The containers that have content or history, sorted.
    public var containerIDs: [ContainerID] { log.containerIDs.sorted() }

    /// The texts that have content or history, sorted.
    public var textIDs: [ContainerID] { log.containerIDs.filter { $0.kind == .text }.sorted() }

    /// The current content of text `id` ("" for a text nobody has written yet).
    public func text(_ id: ContainerID = .text) -> String {
        guard let index = containerIndex(of: id), let rope = ropes[index] else { return "" }
        return rope.string
    }

    /// The current length of text `id` in Unicode scalars.
    public func textLength(_ id: ContainerID = .text) -> Int {
        guard let index = containerIndex(of: id), let rope = ropes[index] else { return 0 }
        return rope.scalarCount
    }

    // MARK: - Local edits

    /// Decodes text history if `needsText` and returns the local agent's index.
    mutating func prepareLocalEdit(needsText: Bool) throws(CRDTError) -> Int32 {
        guard let agent else {
            throw CRDTError(.readOnly, "this document has no local agent, so it cannot be edited")
        }
        if pending != nil, needsText || structurePending { try materializeHistory() }
        if let cached = cachedAgentIndex, cached.generation == log.rollbackGeneration { return cached.index }
        let index = log.agents.index(of: agent)
        cachedAgentIndex = (index, log.rollbackGeneration)
        return index
    }

    /// The index of container `id`, registering it (with its state) if it is new.
    mutating func containerIndex(registering id: ContainerID) -> Int {
        let index = log.containerIndex(registering: id)
        syncStatesWithContainers()
        return index
    }

    private mutating func textIndex(registering id: ContainerID) throws(CRDTError) -> Int {
        if let cached = cachedText, cached.generation == log.rollbackGeneration, cached.id == id { return cached.index }
        guard id.kind == .text else { throw CRDTError(.unknownContainer, "\(id) is not a text") }
        let index = containerIndex(registering: id)
        cachedText = (id, index, log.rollbackGeneration)
        return index
    }

    /// Where text `id` is, found through the local-edit cache (typing compares one
    /// container id per keystroke and hashes none) or the container index.
    private enum TextLookup {
        case cached(Int)
        case registered(Int)
        case new

        var index: Int? {
            switch self {
            case let .cached(index), let .registered(index): index
            case .new: nil
            }
        }
    }

    private func lookUpText(_ id: ContainerID) -> TextLookup {
        if let cached = cachedText, cached.generation == log.rollbackGeneration, cached.id == id { return .cached(cached.index) }
        return containerIndex(of: id).map(TextLookup.registered) ?? .new
    }

    /// The length of the rope at `index`, read in place (without copying the rope).
    @inline(__always)
    private func scalarCount(ofRopeAt index: Int) -> Int {
        ropes.withUnsafeBufferPointer { $0[index]?.scalarCount ?? 0 }
    }

    /// The index of text `id` for a local edit, registering it if new. `lookup` was made
    /// before ``prepareLocalEdit(needsText:)`` and is still valid unless that decoded a
    /// pending history (`wasPending`).
    private mutating func textIndexForEdit(_ id: ContainerID, lookup: TextLookup, wasPending: Bool) throws(CRDTError) -> Int {
        if !wasPending, case let .cached(index) = lookup { return index }
        return try textIndex(registering: id)
    }

    /// Inserts `string` before scalar `position` of text `id`.
    public mutating func insert(_ string: String, at position: Int, in id: ContainerID = .text) throws(CRDTError) {
        guard id.kind == .text else { throw CRDTError(.unknownContainer, "\(id) is not a text") }
        let lookup = lookUpText(id)
        let length = lookup.index.map(scalarCount(ofRopeAt:)) ?? 0
        guard position >= 0, position <= length else {
            throw CRDTError(.positionOutOfBounds, "cannot insert at \(position) in \(id), which has \(length) characters")
        }
        let wasPending = pending != nil
        let agentIndex = try prepareLocalEdit(needsText: true)
        let index = try textIndexForEdit(id, lookup: lookup, wasPending: wasPending)
        var string = string
        string.withUTF8 { utf8 in
            let scalars = UTF8Scalars.count(utf8)
            guard scalars > 0 else { return }
            let (lv, _) = log.agents.append(agent: agentIndex, count: scalars)
            log.graph.appendOnHeads(count: scalars)
            log.textHistories[index].appendInsert(lv: lv, position: position, utf8: utf8, scalars: scalars)
            ropes.withUnsafeMutableBufferPointer { $0[index]?.insert(utf8: utf8, scalars: scalars, at: position) }
        }
    }

    /// Deletes the scalars `range` of text `id`.
    public mutating func delete(_ range: Range<Int>, in id: ContainerID = .text) throws(CRDTError) {
        guard id.kind == .text else { throw CRDTError(.unknownContainer, "\(id) is not a text") }
        let lookup = lookUpText(id)
        let length = lookup.index.map(scalarCount(ofRopeAt:)) ?? 0
        guard range.lowerBound >= 0, range.upperBound <= length else {
            throw CRDTError(.positionOutOfBounds, "cannot delete \(range) in \(id), which has \(length) characters")
        }
        guard !range.isEmpty else { return }
        let wasPending = pending != nil
        let agentIndex = try prepareLocalEdit(needsText: true)
        let index = try textIndexForEdit(id, lookup: lookup, wasPending: wasPending)
        let (lv, _) = log.agents.append(agent: agentIndex, count: range.count)
        log.graph.appendOnHeads(count: range.count)
        log.textHistories[index].appendDelete(lv: lv, position: range.lowerBound, count: range.count)
        ropes.withUnsafeMutableBufferPointer { $0[index]?.delete(at: range.lowerBound, count: range.count) }
    }

    /// Replaces the scalars `range` of text `id` by `string`.
    public mutating func replace(_ range: Range<Int>, with string: String, in id: ContainerID = .text) throws(CRDTError) {
        let length = textLength(id)
        guard range.lowerBound >= 0, range.upperBound <= length else {
            throw CRDTError(.positionOutOfBounds, "cannot replace \(range) in \(id), which has \(length) characters")
        }
        try atomically { document throws(CRDTError) in
            try document.delete(range, in: id)
            try document.insert(string, at: range.lowerBound, in: id)
        }
    }

    /// Makes text `id` read `newText` with as few insertions and deletions as a line
    /// then character diff finds, as one all-or-nothing change — the way to save a
    /// text edited outside Spor (e.g. in `$EDITOR`): partners' concurrent edits to
    /// parts this change did not touch survive the merge, which replacing the whole
    /// text would not allow. Does nothing if the text already reads `newText`.
    public mutating func setText(_ newText: String, in id: ContainerID = .text) throws(CRDTError) {
        guard id.kind == .text else { throw CRDTError(.unknownContainer, "\(id) is not a text") }
        let replacements = TextDiff.replacements(from: text(id), to: newText)
        guard !replacements.isEmpty else { return }
        try atomically { document throws(CRDTError) in
            // From the last to the first, so that earlier positions stay valid.
            for replacement in replacements.reversed() {
                try document.delete(replacement.oldRange, in: id)
                try document.insert(replacement.replacement, at: replacement.oldRange.lowerBound, in: id)
            }
        }
    }

    /// Makes text `id` go from what it read at `version` to `newText`, merged with
    /// everything that happened since — the way to save a text that was edited
    /// outside Spor while partners' changes arrived: the diff is taken against the
    /// text the editor started from, so merged-in edits are neither undone nor
    /// repeated. Falls back to ``setText(_:in:)`` when `version` is the current one
    /// or the text did not exist yet at `version`. Does nothing if nothing changed.
    public mutating func setText(_ newText: String, editedFrom version: Version, in id: ContainerID = .text) throws(CRDTError) {
        guard id.kind == .text else { throw CRDTError(.unknownContainer, "\(id) is not a text") }
        if version == self.version { return try setText(newText, in: id) }
        let base = try view(at: version)
        // A text created after `version` reads as empty there.
        let baseText = (try? base.text(id)) ?? ""
        if baseText.isEmpty { return try setText(newText, in: id) }
        let replacements = TextDiff.replacements(from: baseText, to: newText)
        guard !replacements.isEmpty else { return }
        var edits: [TextEdit] = []
        edits.reserveCapacity(replacements.count * 2)
        for replacement in replacements.reversed() {
            let range = replacement.oldRange
            if !range.isEmpty { edits.append(.delete(at: range.lowerBound, count: range.count)) }
            if !replacement.replacement.isEmpty { edits.append(.insert(at: range.lowerBound, replacement.replacement)) }
        }
        try apply(edits, in: id, at: version)
    }

    /// Applies `edits`, made one after another on text `id` as it was at `version`
    /// (an older version, e.g. where a partner's offline branch started), and merges
    /// them with everything that happened since. Positions are checked against the
    /// text at `version`.
    public mutating func apply(_ edits: [TextEdit], in id: ContainerID = .text, at version: Version) throws(CRDTError) {
        guard agent != nil else {
            throw CRDTError(.readOnly, "this document has no local agent, so it cannot be edited")
        }
        guard id.kind == .text else { throw CRDTError(.unknownContainer, "\(id) is not a text") }
        try materializeHistory()
        let parents = try log.localVersion(of: version)
        try apply(edits, in: id, atLocalVersion: parents)
    }

    /// ``apply(_:in:at:)`` with the version as local versions (tests and benchmarks).
    mutating func apply(_ edits: [TextEdit], in id: ContainerID, atLocalVersion parents: [LV]) throws(CRDTError) {
        _ = try prepareLocalEdit(needsText: true)
        guard let agent else { return }
        if parents == log.graph.heads {
            // Made on the current version: plain local edits.
            try atomically { document throws(CRDTError) in
                for edit in edits {
                    switch edit {
                    case let .insert(position, text): try document.insert(text, at: position, in: id)
                    case let .delete(position, count): try document.delete(position..<position + count, in: id)
                    }
                }
            }
            return
        }
        let checkpoint = log.checkpoint()
        let oldHeads = log.graph.heads
        let firstNew = log.eventCount
        _ = appendEdits(edits, in: id, by: agent, parents: parents)
        syncStatesWithContainers()
        try mergeAppendedEvents(since: oldHeads, firstNew: firstNew, rollingBackTo: checkpoint)
    }

    /// Runs `body` on a copy of this document and keeps the result only if it returns:
    /// several edits become one all-or-nothing change.
    public mutating func atomically<E: Error>(_ body: (inout Document) throws(E) -> Void) throws(E) {
        var copy = self
        try body(&copy)
        self = copy
    }

    // MARK: - Merging

    /// Brings every container from version `oldHeads` to the log's current heads, given
    /// that the events from `firstNew` on were just appended; or — if any event turns
    /// out to be invalid — rolls the log back to `checkpoint` and throws.
    mutating func mergeAppendedEvents(
        since oldHeads: [LV], firstNew: LV, rollingBackTo checkpoint: OperationLog.Checkpoint,
        placementBudget: Int? = nil
    ) throws(CRDTError) {
        // Concurrent items the merge may still scan past (see `merge(encodedChanges:placementBudget:)`).
        var placementLeft = placementBudget ?? .max
        func checkPlacement() throws(CRDTError) {
            guard placementLeft < 0, let placementBudget else { return }
            throw CRDTError(.limitExceeded, "placing the changes' concurrent insertions would scan past more than "
                            + "\(placementBudget) concurrent items")
        }
        syncStatesWithContainers()
        if keptMergersGeneration != log.rollbackGeneration {
            keptMergers.removeAll()
            keptMergersGeneration = log.rollbackGeneration
        }
        var planner = TextMerger()
        var plan: MergePlan?
        var patchesByText: [(Int, [TextPatch])] = []
        // Mergers whose state the next merge may continue from; kept only if this
        // merge succeeds (the ones taken out of `keptMergers` are dropped otherwise).
        var keptAfterMerge: [(Int, TextMerger)] = []
        var counters = mergeCounters
        var newValues = values
        // New events made on exactly this version, with nothing concurrent (the common
        // case when partners are online): their edits apply as they are, unplanned.
        let isChain = log.graph.isChain(from: firstNew, on: oldHeads)
        do throws(CRDTError) {
            for index in log.containerIDs.indices {
                if let rope = ropes[index] {
                    // Only texts with operations among the new events need a replay.
                    guard let last = log.textHistories[index].operations.last, last.lvEnd > firstNew else { continue }
                    var patches: [TextPatch] = []
                    if isChain {
                        try planner.replayChain(LVRange(firstNew, log.graph.count), agents: log.agents,
                                                history: log.textHistories[index], textLength: rope.scalarCount, into: &patches)
                        if !patches.isEmpty { patchesByText.append((index, patches)) }
                        continue
                    }
                    var merger = keptMergers.removeValue(forKey: index) ?? TextMerger()
                    merger.placementLeft = placementLeft
                    defer { placementLeft = merger.placementLeft }
                    if merger.canContinue(firstNew: firstNew, eventCount: log.graph.count),
                       try merger.continueReplay(graph: log.graph, firstNew: firstNew, agents: log.agents,
                                                 history: log.textHistories[index], textLength: rope.scalarCount,
                                                 into: &patches) {
                        counters.continued += 1
                    } else {
                        patches.removeAll()
                        if plan == nil { plan = planner.plan(log.graph, from: oldHeads, to: log.graph.heads) }
                        try merger.replay(plan!, agents: log.agents, history: log.textHistories[index],
                                          textLength: rope.scalarCount, into: &patches)
                        counters.replayed += 1
                    }
                    if merger.continuation != nil { keptAfterMerge.append((index, merger)) }
                    if !patches.isEmpty { patchesByText.append((index, patches)) }
                } else {
                    let history = log.valueHistories[index]
                    var position = history.firstIndex(atOrAfter: firstNew)
                    guard position < history.count else { continue }
                    let context = log.causalContext
                    while position < history.count {
                        placementLeft -= try newValues[index].apply(history.operations[position], at: history.events[position],
                                                                    context: context)
                        try checkPlacement()
                        position += 1
                    }
                }
            }
        } catch {
            log.rollback(to: checkpoint)
            ropes.removeSubrange(log.containerIDs.count...)
            values.removeSubrange(log.containerIDs.count...)
            try checkPlacement()  // (a text replay that ran out of budget says only that)
            throw error
        }
        values = newValues
        placementScansOfLastMerge = (placementBudget ?? .max) - placementLeft
        for (index, merger) in keptAfterMerge { keptMergers[index] = merger }
        mergeCounters = counters
        for (index, patches) in patchesByText {
            log.textHistories[index].content.withUnsafeBufferPointer { content in
                for patch in patches {
                    switch patch {
                    case let .insert(position, start, byteCount, scalars):
                        ropes[index]?.insert(utf8: UnsafeBufferPointer(rebasing: content[start..<start + byteCount]),
                                             scalars: scalars, at: position)
                    case let .delete(position, count):
                        ropes[index]?.delete(at: position, count: count)
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

/// How a document's merges of texts with concurrent events went.
package struct MergeCounters: Sendable {
    /// Text merges that went on from the state kept from the previous merge.
    package var continued = 0
    /// Text merges that replayed a plan (the state then kept, where usable).
    package var replayed = 0
}
