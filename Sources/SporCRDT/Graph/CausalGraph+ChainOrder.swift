import HeapModule

extension CausalGraph {
    /// The events `ranges` (sorted, disjoint) in a topological order that keeps chains
    /// together: after a run of events comes, whenever it is ready, the run that
    /// continues it (whose only parent is its last event), else the ready run this
    /// replica learnt first. Returned as ranges, adjacent ones joined.
    ///
    /// Why: the local order of events is the order they arrived in, so partners typing
    /// at the same time leave their runs interleaved — each a graph entry of its own,
    /// whose parent is not the event before it. Sent in that order, every run costs a
    /// run header and an explicit parent; sent chain by chain, one agent's consecutive
    /// runs become one (``EventBatch``), and the receiver's graph has one entry per
    /// chain instead of one per run. Any topological order gives the same document;
    /// between chains this one keeps the sender's order, which is the order readers
    /// see concurrent saves in (``Proposal/saves()`` lists a replica's events in its
    /// order, and a reopened workspace has its file's order).
    ///
    /// O(p log p) for the p pieces the ranges make when cut at graph entries.
    func chainOrder(of ranges: [LVRange]) -> [LVRange] {
        // Pieces: the ranges cut at graph entries; each is a chain with the parents of
        // its first event.
        var pieces: [LVRange] = []
        for range in ranges {
            var start = range.start
            var entryIndex = self.entryIndex(containing: start)
            while start < range.end {
                while entries[entryIndex].end <= start { entryIndex += 1 }
                let end = min(range.end, entries[entryIndex].end)
                pieces.append(LVRange(start, end))
                start = end
            }
        }
        guard pieces.count > 1 else { return ranges }
        func pieceIndex(containing lv: LV) -> Int? {
            var low = 0, high = pieces.count - 1
            while low <= high {
                let mid = (low + high) >> 1
                if pieces[mid].end <= lv { low = mid + 1 } else if pieces[mid].start > lv { high = mid - 1 } else { return mid }
            }
            return nil
        }
        // In-set dependencies, as child lists (CSR) and counts of pending parents.
        var pending = [Int32](repeating: 0, count: pieces.count)
        var edges: [(parent: Int32, child: Int32)] = []
        var continuation = [Int32](repeating: -1, count: pieces.count)
        for (index, piece) in pieces.enumerated() {
            let parents: ArraySlice<LV>
            let entryIndex = self.entryIndex(containing: piece.start)
            if piece.start == entries[entryIndex].start {
                parents = self.parents(ofEntry: entryIndex)
            } else {
                parents = [piece.start - 1]
            }
            for parent in parents {
                guard let parentPiece = pieceIndex(containing: parent) else { continue }
                pending[index] += 1
                edges.append((Int32(parentPiece), Int32(index)))
                // Of several runs forking from the same last event, the first one
                // learnt continues it.
                if parents.count == 1, pieces[parentPiece].end - 1 == parent, continuation[parentPiece] < 0 {
                    continuation[parentPiece] = Int32(index)
                }
            }
        }
        var childStart = [Int32](repeating: 0, count: pieces.count + 1)
        for edge in edges { childStart[Int(edge.parent) + 1] += 1 }
        for index in 0..<pieces.count { childStart[index + 1] += childStart[index] }
        var children = [Int32](repeating: 0, count: edges.count)
        var next = childStart
        for edge in edges {
            children[Int(next[Int(edge.parent)])] = edge.child
            next[Int(edge.parent)] += 1
        }

        // Pieces are in local order, so the smallest ready index is the one learnt first.
        var readyPieces = Heap<Int32>()
        for index in pieces.indices where pending[index] == 0 { readyPieces.insert(Int32(index)) }
        var ordered: [LVRange] = []
        ordered.reserveCapacity(pieces.count)
        var continuing: Int32 = -1
        while true {
            let piece: Int32
            if continuing >= 0 {
                piece = continuing
                continuing = -1
            } else if let next = readyPieces.popMin() {
                piece = next
            } else {
                break
            }
            let range = pieces[Int(piece)]
            if let last = ordered.last, last.end == range.start {
                ordered[ordered.count - 1].end = range.end
            } else {
                ordered.append(range)
            }
            for slot in Int(childStart[Int(piece)])..<Int(childStart[Int(piece) + 1]) {
                let child = children[slot]
                pending[Int(child)] -= 1
                guard pending[Int(child)] == 0 else { continue }
                if child == continuation[Int(piece)] { continuing = child } else { readyPieces.insert(child) }
            }
        }
        return ordered
    }
}
