/// Reading the past: any container as of any version, what changed in a text between
/// two versions and who wrote each character, and anchors that follow the text.
///
/// Each of these replays a text's history (O(history of that text)); they are for
/// reviewing, not for every keystroke.
extension Document {
    /// A run of text written by one agent.
    public struct AuthoredText: Hashable, Sendable {
        public let text: String
        public let author: AgentID
    }

    /// One piece of a text's redline between two versions.
    public struct TextChange: Hashable, Sendable {
        public enum Kind: String, Hashable, Sendable {
            case unchanged, inserted, deleted
        }
        public let kind: Kind
        public let text: String
        /// Who inserted (`inserted`) or deleted (`deleted`) it; nil when unchanged.
        public let author: AgentID?
    }

    /// A place in a text that keeps its meaning while the text around it changes: the
    /// gap before a character (`character`), or the end of the text (`nil`). If the
    /// character is deleted, the anchor stays where it was.
    public struct TextAnchor: Hashable, Sendable {
        public let character: EventID?
        public init(character: EventID?) { self.character = character }
    }

    /// The local versions of `version` (or the current version).
    private func localVersion(_ version: Version?, in log: OperationLog) throws(CRDTError) -> [LV] {
        guard let version else { return log.graph.heads }
        return try log.localVersion(of: version)
    }

    private func textHistory(_ id: ContainerID, in log: OperationLog) throws(CRDTError) -> TextHistory? {
        guard id.kind == .text else { throw CRDTError(.unknownContainer, "\(id) is not a text") }
        guard let index = log.containerIndex(of: id) else { return nil }
        return log.textHistories[index]
    }

    /// Text `id` as it was at `version`.
    public func text(_ id: ContainerID, at version: Version) throws(CRDTError) -> String {
        let log = try historyLog()
        let target = try localVersion(version, in: log)
        guard let history = try textHistory(id, in: log) else { return "" }
        var merger = TextMerger()
        let plan = merger.plan(log.graph, from: [], to: target)
        var patches: [TextPatch] = []
        try merger.replay(plan, agents: log.agents, history: history, textLength: 0, into: &patches)
        var rope = TextRope()
        history.content.withUnsafeBufferPointer { content in
            for patch in patches {
                switch patch {
                case let .insert(position, start, byteCount, scalars):
                    rope.insert(utf8: UnsafeBufferPointer(rebasing: content[start..<start + byteCount]), scalars: scalars, at: position)
                case let .delete(position, count):
                    rope.delete(at: position, count: count)
                }
            }
        }
        return rope.string
    }

    /// Every item of text `id` in order after replaying history up to `target`, with
    /// the merger's prepare version at the end of its last step (see
    /// ``TextMerger/movePrepareVersion(to:graph:history:)``).
    private func fullOrder(_ history: TextHistory, upTo target: [LV], log: OperationLog) throws(CRDTError) -> TextMerger {
        var merger = TextMerger()
        let plan = merger.plan(log.graph, from: [], to: target)
        var patches: [TextPatch] = []
        try merger.replay(plan, agents: log.agents, history: history, textLength: 0, into: &patches, keepingAllItems: true)
        return merger
    }

    /// Who wrote each character of text `id` at `version` (default: now), as runs of
    /// consecutive characters by one agent.
    public func attribution(of id: ContainerID, at version: Version? = nil) throws(CRDTError) -> [AuthoredText] {
        let log = try historyLog()
        let target = try localVersion(version, in: log)
        guard let history = try textHistory(id, in: log) else { return [] }
        let merger = try fullOrder(history, upTo: target, log: log)
        var result = AuthoredRuns(log: log, history: history)
        merger.finalState.forEachItemRun { span in
            if !span.isDeletedAtEnd { result.append(items: span.id, count: span.count, kind: nil) }
        }
        return result.authored
    }

    /// How text `id` changed from version `from` to version `to` (default: now): the
    /// text at `to` with what was inserted since `from`, and what was deleted since,
    /// at the places it was, each with who did it. `from` must be part of `to`.
    public func textChanges(in id: ContainerID, from: Version, to: Version? = nil) throws(CRDTError) -> [TextChange] {
        let log = try historyLog()
        let old = try localVersion(from, in: log)
        let new = try localVersion(to, in: log)
        var walker = GraphWalker()
        walker.diff(log.graph, old, new)
        guard walker.onlyA.isEmpty else {
            throw CRDTError(.versionOrder, "the earlier version has events the later one does not: it is not part of it")
        }
        guard let history = try textHistory(id, in: log) else { return [] }
        var merger = try fullOrder(history, upTo: new, log: log)
        // Who deleted what, among the events since `from`.
        var removals: [(target: LV, count: Int, event: LV, isForward: Bool)] = []
        for (index, operation) in history.operations.enumerated() where operation.kind == .delete {
            merger.finalState.forEachDeleteRecord(operation: index) { target, count, event, isForward in
                removals.append((target, count, event, isForward))
            }
        }
        removals.sort { $0.target < $1.target }
        // Removals may overlap (concurrent deletes of the same text): keep the largest
        // end so far, so that a lookup can stop scanning back once nothing reaches on.
        var reach: [LV] = []
        reach.reserveCapacity(removals.count)
        for removal in removals { reach.append(max(reach.last ?? Int.min, removal.target + removal.count)) }
        merger.movePrepareVersion(to: old, graph: log.graph, history: history)
        let inOld = try LVMembership(log: log, version: old)
        var result = AuthoredRuns(log: log, history: history)
        merger.finalState.forEachItemRun { span in
            let atEnd = !span.isDeletedAtEnd
            let atStart = span.state == ItemSpan.inserted
            switch (atStart, atEnd) {
            case (true, true): result.append(items: span.id, count: span.count, kind: .unchanged)
            case (false, true): result.append(items: span.id, count: span.count, kind: .inserted)
            case (true, false):
                // Find who deleted each item: a removal by an event not in `from`.
                var item = span.id
                while item < span.id + span.count {
                    var deleter: LV?
                    var runEnd = span.id + span.count
                    // The last removal starting at or before the item, then back while
                    // earlier removals still reach it.
                    var low = 0, high = removals.count
                    while low < high {
                        let mid = (low + high) >> 1
                        if removals[mid].target <= item { low = mid + 1 } else { high = mid }
                    }
                    var index = low - 1
                    while index >= 0, reach[index] > item {
                        let removal = removals[index]
                        if item < removal.target + removal.count {
                            let offset = item - removal.target
                            let event = removal.isForward ? removal.event + offset : removal.event + removal.count - 1 - offset
                            if !inOld.contains(event) {
                                deleter = event
                                runEnd = min(runEnd, removal.target + removal.count)
                                // ...and only as far as the same agent deleted them.
                                let agentRun = log.agents.runIndex(containing: event)
                                let sameAgent = removal.isForward
                                    ? log.agents.runEnd(agentRun) - event
                                    : event - log.agents.runs[agentRun].lvStart + 1
                                runEnd = min(runEnd, item + sameAgent)
                                break
                            }
                        }
                        index -= 1
                    }
                    let length = deleter == nil ? 1 : runEnd - item
                    result.append(items: item, count: length, kind: .deleted, author: deleter)
                    item += length
                }
            case (false, false): break
            }
        }
        return result.changes
    }

    /// An anchor at scalar `position` of text `id` (0...length): before the character
    /// there, or at the end.
    public func anchor(in id: ContainerID, at position: Int) throws(CRDTError) -> TextAnchor {
        try anchors(in: id, at: [position])[0]
    }

    /// Anchors at several scalar positions of text `id`, with one replay of its history.
    public func anchors(in id: ContainerID, at positions: [Int]) throws(CRDTError) -> [TextAnchor] {
        let length = textLength(id)
        for position in positions where position < 0 || position > length {
            throw CRDTError(.positionOutOfBounds, "cannot anchor at \(position) in \(id), which has \(length) characters")
        }
        let order = positions.indices.sorted { positions[$0] < positions[$1] }
        var result = [TextAnchor](repeating: TextAnchor(character: nil), count: positions.count)
        guard positions.contains(where: { $0 < length }) else { return result }
        let log = try historyLog()
        guard let history = try textHistory(id, in: log) else { return result }
        let merger = try fullOrder(history, upTo: log.graph.heads, log: log)
        var seen = 0
        var next = 0
        merger.finalState.forEachItemRun { span in
            guard next < order.count, !span.isDeletedAtEnd else { return }
            while next < order.count, positions[order[next]] < seen + span.count {
                let lv = span.id + (positions[order[next]] - seen)
                result[order[next]] = TextAnchor(character: log.agents.eventID(of: lv))
                next += 1
            }
            seen += span.count
        }
        return result
    }

    /// Where `anchor` is now in text `id` (a scalar position). An anchor whose character
    /// was deleted stays where that character was.
    public func position(of anchor: TextAnchor, in id: ContainerID) throws(CRDTError) -> Int {
        try positions(of: [anchor], in: id)[0]
    }

    /// Where each of `anchors` is now in text `id`, with one replay of its history.
    /// Throws ``CRDTError/Code-swift.struct/unknownItem`` if an anchor names a
    /// character this text does not have.
    public func positions(of anchors: [TextAnchor], in id: ContainerID) throws(CRDTError) -> [Int] {
        let length = textLength(id)
        guard anchors.contains(where: { $0.character != nil }) else { return anchors.map { _ in length } }
        let log = try historyLog()
        var wanted: [(lv: LV, index: Int)] = []
        for (index, anchor) in anchors.enumerated() {
            guard let character = anchor.character else { continue }
            guard let lv = log.agents.lv(of: character) else {
                throw CRDTError(.unknownItem, "\(id) has no character \(character)")
            }
            wanted.append((lv, index))
        }
        guard let history = try textHistory(id, in: log) else {
            let character = anchors[wanted[0].index].character.map(String.init(describing:)) ?? ""
            throw CRDTError(.unknownItem, "\(id) has no character \(character)")
        }
        wanted.sort { $0.lv < $1.lv }
        let merger = try fullOrder(history, upTo: log.graph.heads, log: log)
        var result = [Int?](repeating: nil, count: anchors.count)
        for (index, anchor) in anchors.enumerated() where anchor.character == nil { result[index] = length }
        var visibleBefore = 0
        merger.finalState.forEachItemRun { span in
            // The anchors inside this run: a binary search in the sorted LVs.
            var low = 0, high = wanted.count
            while low < high {
                let mid = (low + high) >> 1
                if wanted[mid].lv < span.id { low = mid + 1 } else { high = mid }
            }
            while low < wanted.count, wanted[low].lv < span.id + span.count {
                result[wanted[low].index] = visibleBefore + (span.isDeletedAtEnd ? 0 : wanted[low].lv - span.id)
                low += 1
            }
            if !span.isDeletedAtEnd { visibleBefore += span.count }
        }
        var positions: [Int] = []
        positions.reserveCapacity(anchors.count)
        for (index, position) in result.enumerated() {
            guard let position else {
                throw CRDTError(.unknownItem, "\(id) has no character \(anchors[index].character.map(String.init(describing:)) ?? "")")
            }
            positions.append(position)
        }
        return positions
    }

    /// A read-only view of every container as it was at `version`.
    public func view(at version: Version) throws(CRDTError) -> DocumentView {
        let log = try historyLog()
        let target = try log.localVersion(of: version)
        return DocumentView(document: self, log: log, target: target,
                            membership: try LVMembership(log: log, version: target))
    }
}

/// The events in a version, as sorted LV ranges: O(log ranges) per question.
struct LVMembership {
    private let ranges: [LVRange]

    init(log: OperationLog, version: [LV]) throws(CRDTError) {
        var walker = GraphWalker()
        walker.diff(log.graph, [], version)
        ranges = walker.onlyB.reversed()
    }

    func contains(_ lv: LV) -> Bool {
        var low = 0
        var high = ranges.count - 1
        while low <= high {
            let mid = (low + high) >> 1
            if ranges[mid].end <= lv { low = mid + 1 } else if ranges[mid].start > lv { high = mid - 1 } else { return true }
        }
        return false
    }
}

/// Builds attributed runs of text from item runs: content from the history, authors
/// from the agent assignment.
private struct AuthoredRuns {
    let log: OperationLog
    let history: TextHistory
    private(set) var authored: [Document.AuthoredText] = []
    private(set) var changes: [Document.TextChange] = []

    init(log: OperationLog, history: TextHistory) {
        self.log = log
        self.history = history
    }

    /// Appends items `id..<id+count` (split at agent boundaries). `kind` nil: an
    /// attribution run by the items' authors; otherwise a change, by `author` if given
    /// (deletions) or by the items' authors (insertions).
    mutating func append(items id: LV, count: Int, kind: Document.TextChange.Kind?, author: LV? = nil) {
        var start = id
        let end = id + count
        while start < end {
            let runIndex = log.agents.runIndex(containing: start)
            let runEnd = min(end, log.agents.runEnd(runIndex))
            let agent = log.agents.agents[Int(log.agents.runs[runIndex].agent)]
            let text = content(start..<runEnd)
            switch kind {
            case nil:
                if let last = authored.last, last.author == agent {
                    authored[authored.count - 1] = Document.AuthoredText(text: last.text + text, author: agent)
                } else {
                    authored.append(Document.AuthoredText(text: text, author: agent))
                }
            case let kind?:
                let who: AgentID? = switch kind {
                case .unchanged: nil
                case .inserted: agent
                case .deleted: author.map { log.agents.eventID(of: $0).agent }
                }
                if let last = changes.last, last.kind == kind, last.author == who {
                    changes[changes.count - 1] = Document.TextChange(kind: kind, text: last.text + text, author: who)
                } else {
                    changes.append(Document.TextChange(kind: kind, text: text, author: who))
                }
            }
            start = runEnd
        }
    }

    /// The text items `range` inserted.
    private func content(_ range: Range<LV>) -> String {
        var bytes: [UInt8] = []
        var index = history.firstOperation(endingAfter: range.lowerBound)
        while index < history.operations.count, history.operations[index].lvStart < range.upperBound {
            let operation = history.clip(history.operations[index], to: LVRange(range.lowerBound, range.upperBound))
            if operation.kind == .insert {
                bytes.append(contentsOf: history.content[operation.contentStart..<operation.contentStart + operation.contentByteCount])
            }
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A read-only view of a document's containers as they were at one version.
public struct DocumentView: Sendable {
    let document: Document
    let log: OperationLog
    let target: [LV]
    let membership: LVMembership

    /// The version this view shows.
    public var version: Version { log.version(of: target) }

    public func text(_ id: ContainerID) throws(CRDTError) -> String {
        try document.text(id, at: version)
    }

    /// The state of value container `id` at the view's version.
    private func state(_ id: ContainerID) throws(CRDTError) -> ValueState {
        guard let index = log.containerIndex(of: id) else { return ValueState(kind: id.kind) }
        var state = ValueState(kind: id.kind)
        let history = log.valueHistories[index]
        let context = log.causalContext
        for position in 0..<history.count where membership.contains(history.events[position]) {
            try state.apply(history.operations[position], at: history.events[position], context: context)
        }
        return state
    }

    public func register(_ id: ContainerID) throws(CRDTError) -> RegisterValue {
        guard case let .register(writes) = try state(id) else { return .empty }
        return RegisterValue(writes, context: log.causalContext)
    }

    public func mapEntry(_ key: String, in map: ContainerID) throws(CRDTError) -> RegisterValue {
        guard case let .map(entries) = try state(map), let kept = entries[key] else { return .empty }
        return RegisterValue(kept, context: log.causalContext)
    }

    public func map(_ id: ContainerID) throws(CRDTError) -> [(key: String, value: RegisterValue)] {
        guard case let .map(entries) = try state(id) else { return [] }
        let context = log.causalContext
        return entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap { key in
            let value = RegisterValue(entries[key] ?? [], context: context)
            return value.writes.isEmpty ? nil : (key, value)
        }
    }

    public func list(_ id: ContainerID) throws(CRDTError) -> [Document.ListItem] {
        guard case let .list(list) = try state(id) else { return [] }
        return list.visibleItems.map { Document.ListItem(id: ListItemID(log.agents.eventID(of: $0.id)), value: $0.value) }
    }

    public func set(_ id: ContainerID) throws(CRDTError) -> [Value] {
        guard case let .set(adds) = try state(id) else { return [] }
        return adds.keys.sorted(by: Value.precedes)
    }
}

extension Document {
    /// The version that `vector` names: the frontier of each agent's last event in it.
    /// Throws `unknownParent` if the document lacks an event the vector counts.
    /// For a vector that is causally closed (every replica's own is) the version's
    /// events are exactly the vector's; otherwise they include the ancestors too.
    public func version(of vector: VersionVector) throws(CRDTError) -> Version {
        let heads = vector.agents.compactMap { agent -> EventID? in
            let count = vector[agent]
            return count > 0 ? EventID(agent: agent, seq: count - 1) : nil
        }
        return log.version(of: try log.localVersion(of: Version(heads: heads)))
    }
}
