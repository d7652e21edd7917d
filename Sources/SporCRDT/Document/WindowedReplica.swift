/// A replica that only merges and keeps a bounded window of recent history: what a
/// sync server needs to check that pushed batches apply, with memory that does not
/// grow with the length of a document's history.
///
/// After merging, ``trim(whenHolding:keepingAtLeast:)`` drops the history before the
/// latest critical cut that leaves at least `keepingAtLeast` recent events (see
/// `OperationLog+Trimming.swift`). Batches that build on the kept window merge exactly
/// as into a full replica: same texts, same values, same errors for batches that do
/// not apply. A batch that needs dropped history — an offline branch that started
/// before the cut, a reference to a dropped list item — throws
/// ``CRDTError/Code/historyTrimmed`` and changes nothing; the owner then rebuilds the
/// replica from the full history (``init(merging:)``) and merges again.
///
/// Only merging is offered: encoding, versions and history reads need the whole
/// history, so a trimmed document never leaves this type.
package struct WindowedReplica: Sendable {
    private var document = Document()
    /// Events dropped by trims, net of the prefix chain standing for them.
    private var droppedEvents = 0
    /// After a trim found no critical cut: how many events must be held before the
    /// next try (history where partners never see each other's latest edits has none).
    private var nextTrimAttempt = 0

    package init() {}

    /// A full replica of the history in `batches` (stored in causal order); batches
    /// that do not merge are skipped, as they were when they arrived.
    package init(merging batches: [[UInt8]]) {
        if (try? document.merge(encodedChanges: batches)) == nil {
            for batch in batches { _ = try? document.merge(encodedChanges: batch) }
        }
    }

    /// A full replica that starts as `document` (with its whole history, as opened
    /// from a document file).
    package init(document: Document) {
        self.document = document
    }

    /// Every event merged so far, dropped ones included.
    package var eventCount: Int { document.eventCount + droppedEvents }

    /// The events whose history is held in memory (the window and the prefix chain).
    package var heldEventCount: Int { document.eventCount }

    /// The current content of text `id`.
    package func text(_ id: ContainerID = .text) -> String { document.text(id) }

    /// The ids of list `id`'s items as shown (trimming keeps every container's state).
    package func listItemIDs(_ id: ContainerID) -> [ListItemID] { document.list(id).map(\.id) }

    /// ``Document/merge(encodedChanges:placementBudget:)``, plus ``CRDTError/Code/historyTrimmed``.
    @discardableResult
    package mutating func merge(encodedChanges batches: [[UInt8]], placementBudget: Int? = nil) throws(CRDTError) -> Int {
        try document.merge(encodedChanges: batches, placementBudget: placementBudget)
    }

    /// ``Document/merge(encodedChanges:)-([UInt8])``, plus ``CRDTError/Code/historyTrimmed``.
    @discardableResult
    package mutating func merge(encodedChanges bytes: [UInt8]) throws(CRDTError) -> Int {
        try document.merge(encodedChanges: bytes)
    }

    /// Once more than `limit` events are held, drops the history before the latest
    /// critical cut that keeps at least `recent` events; returns whether it trimmed.
    /// Cost: O(events held) when it tries, which is at most every `(limit - recent) / 4`
    /// events: amortised O(1) per merged event. Where partners never all see each
    /// other's latest edits there is no critical cut, and the window grows until
    /// there is one.
    @discardableResult
    package mutating func trim(whenHolding limit: Int, keepingAtLeast recent: Int) -> Bool {
        guard isDueForTrim(whenHolding: limit) else { return false }
        guard let dropped = document.trimHistory(keepingAtLeast: recent) else {
            nextTrimAttempt = document.eventCount + max(1, (limit - recent) / 4)
            return false
        }
        droppedEvents += dropped
        nextTrimAttempt = 0
        return true
    }

    /// Whether ``trim(whenHolding:keepingAtLeast:)`` with this limit would try to trim.
    package func isDueForTrim(whenHolding limit: Int) -> Bool {
        document.eventCount > max(limit, nextTrimAttempt)
    }

    /// Tests: the document inside (trimmed or not).
    var documentForTesting: Document { document }
}

extension Document {
    /// Drops the history before the latest critical cut at least `recent` events
    /// back (see `OperationLog+Trimming.swift`); returns how many fewer events the log
    /// holds, or nil if there is no such cut among the few tried.
    ///
    /// Afterwards the document can merge and make local edits but not encode or read
    /// old versions: only ``WindowedReplica`` calls this.
    mutating func trimHistory(keepingAtLeast recent: Int) -> Int? {
        guard pending == nil else { return nil }
        guard let (cut, frontier) = log.latestCriticalCut(atOrBefore: log.eventCount - max(0, recent), attempts: 16) else {
            return nil
        }
        var referenced = Set<LV>()
        for state in values { state.referencedEvents(into: &referenced) }
        let before = log.eventCount
        let (trimmed, newLV) = log.trimmed(keepingFrom: cut, frontier: frontier, referenced: referenced)
        log = trimmed
        values = values.map { $0.renumbered(newLV) }
        keptMergers.removeAll()
        return before - log.eventCount
    }
}
