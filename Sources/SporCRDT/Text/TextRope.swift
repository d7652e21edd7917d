/// One chunk of a ``TextRope``: a reference to a slot of the rope's byte arena.
struct TextChunk: TreeElement {
    /// The arena slot holding this chunk's bytes.
    var slot: Int32
    var byteCount: Int32
    var scalarCount: Int32

    struct Summary: TreeSummary {
        var scalars: Int
        var bytes: Int
        static let zero = Summary(scalars: 0, bytes: 0)
        static func + (lhs: Summary, rhs: Summary) -> Summary {
            Summary(scalars: lhs.scalars + rhs.scalars, bytes: lhs.bytes + rhs.bytes)
        }
        static func - (lhs: Summary, rhs: Summary) -> Summary {
            Summary(scalars: lhs.scalars - rhs.scalars, bytes: lhs.bytes - rhs.bytes)
        }
    }

    @inline(__always)
    var summary: Summary { Summary(scalars: Int(scalarCount), bytes: Int(byteCount)) }
    static let unusedSlot = TextChunk(slot: -1, byteCount: 0, scalarCount: 0)
    var isASCII: Bool { byteCount == scalarCount }
}

/// The current text of a document: UTF-8 in chunks of at most
/// ``chunkCapacity`` bytes, ordered by a ``SpanTree`` that counts Unicode scalars and
/// bytes.
///
/// Insert and delete at a scalar position cost O(log n + chunk size + edit size);
/// reading the whole text is one pass over the chunks. Chunk bytes live in one
/// contiguous arena; chunks only hold whole scalars, and every chunk in the tree is
/// non-empty.
///
/// The rope trusts its input to be valid UTF-8: callers validate text at the API
/// boundary (``Document``) and when decoding.
struct TextRope: Sendable {
    static let chunkCapacity = 256

    private var tree = SpanTree<TextChunk>()
    private var arena: [UInt8] = []
    private var freeSlots: [Int32] = []

    /// The chunk edited last and the scalar position where it starts. Editing inside
    /// a chunk never moves its start, and every edit elsewhere re-finds and replaces
    /// this, so it stays correct; structural changes (splits, removals) drop it.
    /// Typing hits it almost always, skipping the descent from the root.
    private var lastChunk: (cursor: TreeCursor, start: Int)?

    /// The chunk containing scalar `position` and `position`'s offset in it.
    @inline(__always)
    private mutating func chunk(containing position: Int) -> (cursor: TreeCursor, offset: Int)? {
        if let last = lastChunk, position >= last.start,
           position < last.start + Int(tree[last.cursor].scalarCount) {
            return (last.cursor, position - last.start)
        }
        guard let found = tree.findWithPrefix(position, by: \.scalars) else { return nil }
        lastChunk = (found.cursor, found.prefix.scalars)
        return (found.cursor, found.offset)
    }

    init() {}

    /// A rope holding `utf8`, which must be valid UTF-8.
    init(utf8: UnsafeBufferPointer<UInt8>) {
        var chunks: [TextChunk] = []
        chunks.reserveCapacity(utf8.count / (Self.chunkCapacity * 7 / 8) + 1)
        var start = 0
        // Leave room in every chunk so that typing does not split at once.
        let target = Self.chunkCapacity * 7 / 8
        while start < utf8.count {
            let rest = UnsafeBufferPointer(rebasing: utf8[start...])
            let cut = rest.count <= target ? rest.count : UTF8Scalars.boundary(atOrBefore: target, in: rest)
            let piece = UnsafeBufferPointer(rebasing: rest[..<cut])
            chunks.append(makeChunk(piece, scalars: UTF8Scalars.count(piece)))
            start += cut
        }
        tree.build(from: chunks, fill: 0.9) { _, _ in }
        lastChunk = nil
    }

    /// The length in Unicode scalars.
    var scalarCount: Int { tree.total.scalars }
    /// The length in UTF-8 bytes.
    var utf8Count: Int { tree.total.bytes }

    // MARK: - Arena

    private mutating func allocateSlot() -> Int32 {
        if let slot = freeSlots.popLast() { return slot }
        let slot = Int32(arena.count / Self.chunkCapacity)
        arena.append(contentsOf: repeatElement(0, count: Self.chunkCapacity))
        return slot
    }

    private mutating func makeChunk(_ bytes: UnsafeBufferPointer<UInt8>, scalars: Int) -> TextChunk {
        let slot = allocateSlot()
        arena.withUnsafeMutableBufferPointer { arena in
            let base = arena.baseAddress! + Int(slot) * Self.chunkCapacity
            base.update(from: bytes.baseAddress!, count: bytes.count)
        }
        return TextChunk(slot: slot, byteCount: Int32(bytes.count), scalarCount: Int32(scalars))
    }

    @inline(__always)
    private func withChunkBytes<R>(_ chunk: TextChunk, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        arena.withUnsafeBufferPointer { arena in
            body(UnsafeBufferPointer(rebasing: arena[Int(chunk.slot) * Self.chunkCapacity..<Int(chunk.slot) * Self.chunkCapacity + Int(chunk.byteCount)]))
        }
    }

    @inline(__always)
    private func byteOffset(ofScalar scalar: Int, in chunk: TextChunk) -> Int {
        if chunk.isASCII { return scalar }
        return withChunkBytes(chunk) { UTF8Scalars.byteOffset(ofScalar: scalar, in: $0) }
    }

    // MARK: - Editing

    /// Inserts `utf8` (valid UTF-8 holding `scalars` scalars) before scalar `position`.
    /// - Precondition: `0 <= position <= scalarCount`.
    mutating func insert(utf8: UnsafeBufferPointer<UInt8>, scalars: Int, at position: Int) {
        if utf8.isEmpty { return }
        // Insert at the end of the chunk holding the scalar before `position`, so that
        // typing extends one chunk; at position 0 use the start of the first chunk.
        let cursor: TreeCursor
        let scalarOffset: Int
        if position == 0 {
            if tree.isEmpty {
                appendChunks(utf8, at: tree.startCursor)
                return
            }
            cursor = tree.startCursor
            scalarOffset = 0
            lastChunk = (cursor, 0)
        } else {
            guard let found = chunk(containing: position - 1) else {
                preconditionFailure("insert position \(position) beyond \(scalarCount)")
            }
            cursor = found.cursor
            scalarOffset = found.offset + 1
        }
        let chunk = tree[cursor]
        let byteOffset = byteOffset(ofScalar: scalarOffset, in: chunk)
        let oldCount = Int(chunk.byteCount)
        if oldCount + utf8.count <= Self.chunkCapacity {
            arena.withUnsafeMutableBufferPointer { arena in
                let base = arena.baseAddress! + Int(chunk.slot) * Self.chunkCapacity
                (base + byteOffset + utf8.count).update(from: base + byteOffset, count: oldCount - byteOffset)
                (base + byteOffset).update(from: utf8.baseAddress!, count: utf8.count)
            }
            tree.update(at: cursor) { chunk in
                chunk.byteCount += Int32(utf8.count)
                chunk.scalarCount += Int32(scalars)
            }
            return
        }
        if byteOffset == 0 {
            appendChunks(utf8, at: cursor)
            return
        }
        if byteOffset == oldCount {
            appendChunks(utf8, at: TreeCursor(leaf: cursor.leaf, index: cursor.index + 1))
            return
        }
        // Split: the chunk keeps its head, the inserted text follows in new chunks, and
        // the old tail becomes a chunk of its own.
        lastChunk = nil
        let tail: [UInt8] = withChunkBytes(chunk) { Array($0[byteOffset...]) }
        let tailScalars = Int(chunk.scalarCount) - scalarOffset
        tree.update(at: cursor) { chunk in
            chunk.byteCount = Int32(byteOffset)
            chunk.scalarCount = Int32(scalarOffset)
        }
        let afterInserted = appendChunks(utf8, at: TreeCursor(leaf: cursor.leaf, index: cursor.index + 1))
        let tailChunk = tail.withUnsafeBufferPointer { makeChunk($0, scalars: tailScalars) }
        tree.insert(tailChunk, at: afterInserted) { _, _ in }
    }

    /// Removes the chunk at `cursor` (which must be empty of bytes) from the tree.
    private mutating func releaseChunk(at cursor: TreeCursor) {
        lastChunk = nil
        freeSlots.append(tree[cursor].slot)
        tree.remove(at: cursor, count: 1) { _, _ in }
    }

    /// Inserts `utf8` as new chunks before `cursor`; returns the cursor after them.
    @discardableResult
    private mutating func appendChunks(_ utf8: UnsafeBufferPointer<UInt8>, at cursor: TreeCursor) -> TreeCursor {
        lastChunk = nil
        var position = cursor
        var start = 0
        while start < utf8.count {
            let rest = UnsafeBufferPointer(rebasing: utf8[start...])
            let cut = UTF8Scalars.boundary(atOrBefore: Self.chunkCapacity, in: rest)
            let piece = UnsafeBufferPointer(rebasing: rest[..<cut])
            let chunk = makeChunk(piece, scalars: UTF8Scalars.count(piece))
            let placed = tree.insert(chunk, at: position) { _, _ in }
            position = TreeCursor(leaf: placed.leaf, index: placed.index + 1)
            start += cut
        }
        return position
    }

    /// Deletes `count` scalars starting at scalar `position`.
    /// - Precondition: `position + count <= scalarCount`.
    mutating func delete(at position: Int, count: Int) {
        var remaining = count
        while remaining > 0 {
            guard let (cursor, offset) = chunk(containing: position) else {
                preconditionFailure("delete range beyond \(scalarCount)")
            }
            let chunk = tree[cursor]
            let deleteScalars = min(remaining, Int(chunk.scalarCount) - offset)
            if offset == 0, deleteScalars == Int(chunk.scalarCount) {
                releaseChunk(at: cursor)
                remaining -= deleteScalars
                continue
            }
            let startByte = byteOffset(ofScalar: offset, in: chunk)
            let endByte = chunk.isASCII
                ? startByte + deleteScalars
                : withChunkBytes(chunk) { UTF8Scalars.byteOffset(ofScalar: offset + deleteScalars, in: $0) }
            let oldCount = Int(chunk.byteCount)
            arena.withUnsafeMutableBufferPointer { arena in
                let base = arena.baseAddress! + Int(chunk.slot) * Self.chunkCapacity
                (base + startByte).update(from: base + endByte, count: oldCount - endByte)
            }
            tree.update(at: cursor) { chunk in
                chunk.byteCount -= Int32(endByte - startByte)
                chunk.scalarCount -= Int32(deleteScalars)
            }
            remaining -= deleteScalars
            mergeSmallChunk(at: cursor)
        }
    }

    /// Merges the chunk at `cursor` with its successor in the same leaf when both fit
    /// in one chunk, so that deletions do not leave the rope fragmented.
    private mutating func mergeSmallChunk(at cursor: TreeCursor) {
        let chunk = tree[cursor]
        guard Int(cursor.index) + 1 < tree.count(ofLeaf: cursor.leaf) else { return }
        let nextCursor = TreeCursor(leaf: cursor.leaf, index: cursor.index + 1)
        let next = tree[nextCursor]
        guard Int(chunk.byteCount) + Int(next.byteCount) <= Self.chunkCapacity / 2 else { return }
        arena.withUnsafeMutableBufferPointer { arena in
            let base = arena.baseAddress!
            (base + Int(chunk.slot) * Self.chunkCapacity + Int(chunk.byteCount))
                .update(from: base + Int(next.slot) * Self.chunkCapacity, count: Int(next.byteCount))
        }
        tree.update(at: nextCursor) { $0.byteCount = 0; $0.scalarCount = 0 }
        tree.update(at: cursor) { chunk in
            chunk.byteCount += next.byteCount
            chunk.scalarCount += next.scalarCount
        }
        releaseChunk(at: nextCursor)
    }

    // MARK: - Reading

    /// The whole text as UTF-8 bytes.
    var utf8: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(utf8Count)
        arena.withUnsafeBufferPointer { arena in
            tree.forEach { chunk in
                let start = Int(chunk.slot) * Self.chunkCapacity
                result.append(contentsOf: arena[start..<start + Int(chunk.byteCount)])
            }
        }
        return result
    }

    /// The whole text.
    var string: String {
        String(unsafeUninitializedCapacity: utf8Count) { buffer in
            var written = 0
            arena.withUnsafeBufferPointer { arena in
                tree.forEach { chunk in
                    let start = Int(chunk.slot) * Self.chunkCapacity
                    let count = Int(chunk.byteCount)
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[written..<written + count])
                        .initialize(from: arena[start..<start + count])
                    written += count
                }
            }
            return written
        }
    }

    /// The scalars `range` of the text as UTF-8.
    func utf8(scalars range: Range<Int>) -> [UInt8] {
        var result: [UInt8] = []
        guard !range.isEmpty, let (startCursor, startOffset) = tree.find(range.lowerBound, by: \.scalars) else { return result }
        var cursor: TreeCursor? = startCursor
        var offset = startOffset
        var remaining = range.count
        while remaining > 0, let current = cursor {
            let chunk = tree[current]
            let take = min(remaining, Int(chunk.scalarCount) - offset)
            withChunkBytes(chunk) { bytes in
                let from = UTF8Scalars.byteOffset(ofScalar: offset, in: bytes)
                let to = UTF8Scalars.byteOffset(ofScalar: offset + take, in: bytes)
                result.append(contentsOf: bytes[from..<to])
            }
            remaining -= take
            offset = 0
            cursor = tree.cursor(after: current)
        }
        return result
    }

    /// Describes the first broken invariant, or nil (tests only).
    func checkInvariants() -> String? {
        if let problem = tree.checkInvariants() { return problem }
        var problem: String?
        tree.forEach { chunk in
            if problem != nil { return }
            if chunk.byteCount <= 0 { problem = "empty chunk in the tree"; return }
            let scalars = withChunkBytes(chunk) { UTF8Scalars.count($0) }
            if scalars != Int(chunk.scalarCount) { problem = "chunk scalar count \(chunk.scalarCount) != \(scalars)" }
        }
        return problem
    }
}
