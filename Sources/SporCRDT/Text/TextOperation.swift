/// A run of consecutive events of one text that are all inserts or all deletes.
///
/// Positions are Unicode-scalar offsets in the text *as it was at the run's parent
/// version* — the version each event was made on — which is what lets Eg-walker
/// store plain positions instead of CRDT identifiers.
///
/// - Insert run of `count` scalars: event `i` inserts at `position + i` (typing
///   forwards). The inserted text is `content` bytes of the text's content buffer.
/// - Delete run, forward (the Delete key): every event deletes at `position`.
/// - Delete run, backward (Backspace): event `i` deletes `position + count - 1 - i`.
///
/// Either way a delete run removes the `count` scalars `position..<position+count`
/// of the version it was made on; only which event names which scalar differs.
struct TextOperation: Sendable, Equatable {
    enum Kind: UInt8, Sendable {
        case insert = 0
        case delete = 1
    }

    var lvStart: LV
    var count: Int
    var position: Int
    var kind: Kind
    /// Delete runs only: `true` for forward deletes, `false` for backspaces.
    /// A run of one event is stored as forward.
    var isForward: Bool
    /// Insert runs only: the UTF-8 bytes of the inserted text in the content buffer.
    var contentStart: Int
    var contentByteCount: Int

    var lvEnd: LV { lvStart + count }
    var lvRange: LVRange { LVRange(lvStart, lvStart + count) }

    static func insert(lv: LV, position: Int, count: Int, contentStart: Int, contentByteCount: Int) -> TextOperation {
        TextOperation(lvStart: lv, count: count, position: position, kind: .insert, isForward: true,
                      contentStart: contentStart, contentByteCount: contentByteCount)
    }

    static func delete(lv: LV, position: Int, count: Int, isForward: Bool) -> TextOperation {
        TextOperation(lvStart: lv, count: count, position: position, kind: .delete, isForward: isForward || count == 1,
                      contentStart: 0, contentByteCount: 0)
    }

    /// Whether a decoded delete run `next` made by the events right after those of the
    /// delete run `last` joins it, and if so the joined run's position and direction:
    /// a forward run (or single delete) continues at the same position, a backspace
    /// run (or single delete) ends where the last one began.
    static func joinedDelete(
        last: (position: Int, count: Int, isForward: Bool), next: (position: Int, count: Int, isForward: Bool)
    ) -> (position: Int, isForward: Bool)? {
        let single = next.count == 1
        if last.isForward || last.count == 1, next.isForward || single, next.position == last.position {
            return (last.position, true)
        }
        if !last.isForward || last.count == 1, !next.isForward || single, next.position + next.count == last.position {
            return (next.position, false)
        }
        return nil
    }
}

/// The history of one text container: its operation runs in LV order plus the UTF-8
/// content of every insert, contiguous in the same order.
///
/// Runs are coalesced as they are appended: typing forwards, pressing Delete
/// repeatedly and holding Backspace each grow a single run.
struct TextHistory: Sendable {
    private(set) var operations: [TextOperation] = []
    private(set) var content: [UInt8] = []

    /// Appends an insert of `utf8` (holding `scalars` scalars) made by events
    /// `lv..<lv+scalars` at `position`.
    mutating func appendInsert(lv: LV, position: Int, utf8: UnsafeBufferPointer<UInt8>, scalars: Int) {
        let contentStart = content.count
        content.append(contentsOf: utf8)
        if let last = operations.last, last.kind == .insert, last.lvEnd == lv,
           last.position + last.count == position, last.contentStart + last.contentByteCount == contentStart {
            operations[operations.count - 1].count += scalars
            operations[operations.count - 1].contentByteCount += utf8.count
            return
        }
        operations.append(.insert(lv: lv, position: position, count: scalars,
                                  contentStart: contentStart, contentByteCount: utf8.count))
    }

    /// Appends a delete of the scalars `position..<position+count` made by events
    /// `lv..<lv+count`.
    mutating func appendDelete(lv: LV, position: Int, count: Int) {
        if let last = operations.last, last.kind == .delete, last.lvEnd == lv {
            if (last.isForward || last.count == 1), position == last.position {
                operations[operations.count - 1].count += count
                operations[operations.count - 1].isForward = true
                return
            }
            if (!last.isForward || last.count == 1), position + count == last.position {
                operations[operations.count - 1].position = position
                operations[operations.count - 1].count += count
                operations[operations.count - 1].isForward = false
                return
            }
        }
        operations.append(.delete(lv: lv, position: position, count: count, isForward: true))
    }

    /// Appends a decoded run whose content is `utf8` (inserts) — used when merging.
    ///
    /// Unlike a local multi-character delete, whose events' order Spor chooses when it
    /// creates them, a decoded delete run's direction is fixed: forward runs only
    /// continue forward runs and backspace runs backspace runs, or versions holding
    /// part of the run would differ between replicas.
    mutating func append(_ operation: TextOperation, utf8: UnsafeBufferPointer<UInt8>) {
        switch operation.kind {
        case .insert:
            appendInsert(lv: operation.lvStart, position: operation.position, utf8: utf8, scalars: operation.count)
        case .delete:
            if let last = operations.last, last.kind == .delete, last.lvEnd == operation.lvStart,
               let joined = TextOperation.joinedDelete(last: (last.position, last.count, last.isForward),
                                                       next: (operation.position, operation.count, operation.isForward)) {
                operations[operations.count - 1].position = joined.position
                operations[operations.count - 1].count += operation.count
                operations[operations.count - 1].isForward = joined.isForward
                return
            }
            operations.append(.delete(lv: operation.lvStart, position: operation.position, count: operation.count,
                                      isForward: operation.isForward))
        }
    }

    /// The index of the first run that ends after `lv` (`operations.count` if none).
    func firstOperation(endingAfter lv: LV) -> Int {
        var low = 0
        var high = operations.count
        while low < high {
            let mid = (low + high) >> 1
            if operations[mid].lvEnd <= lv { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Calls `body` with each run, clipped to `range`, that overlaps `range`, in LV
    /// order.
    @inline(__always)
    func forEachOperation(in range: LVRange, _ body: (TextOperation) throws -> Void) rethrows {
        if range.isEmpty { return }
        var index = firstOperation(endingAfter: range.start)
        while index < operations.count {
            let operation = operations[index]
            if operation.lvStart >= range.end { break }
            try body(clip(operation, to: range))
            index += 1
        }
    }

    /// The part of `operation` inside `range` (which must overlap it).
    func clip(_ operation: TextOperation, to range: LVRange) -> TextOperation {
        var result = operation
        let skip = max(0, range.start - operation.lvStart)
        let keep = min(operation.lvEnd, range.end) - operation.lvStart - skip
        if skip == 0, keep == operation.count { return operation }
        result.lvStart += skip
        result.count = keep
        switch operation.kind {
        case .insert:
            result.position += skip
            let (from, to) = content.withUnsafeBufferPointer { content -> (Int, Int) in
                let bytes = UnsafeBufferPointer(rebasing: content[operation.contentStart..<operation.contentStart + operation.contentByteCount])
                if operation.contentByteCount == operation.count { return (skip, skip + keep) }
                return (UTF8Scalars.byteOffset(ofScalar: skip, in: bytes), UTF8Scalars.byteOffset(ofScalar: skip + keep, in: bytes))
            }
            result.contentStart = operation.contentStart + from
            result.contentByteCount = to - from
        case .delete:
            if !operation.isForward {
                // Backward: event i deletes position + count - 1 - i.
                result.position = operation.position + operation.count - skip - keep
            }
            if keep == 1 { result.isForward = true }
        }
        return result
    }

    // MARK: - Rollback

    struct Checkpoint {
        fileprivate let operationCount: Int
        fileprivate let lastOperation: TextOperation?
        fileprivate let contentCount: Int
    }

    func checkpoint() -> Checkpoint {
        Checkpoint(operationCount: operations.count, lastOperation: operations.last, contentCount: content.count)
    }

    mutating func rollback(to checkpoint: Checkpoint) {
        operations.removeSubrange(checkpoint.operationCount...)
        if let last = checkpoint.lastOperation { operations[operations.count - 1] = last }
        content.removeSubrange(checkpoint.contentCount...)
    }
}
