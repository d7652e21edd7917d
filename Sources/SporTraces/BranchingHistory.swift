import SporCRDT

/// Generates the history of `width` partners who each draft on their own branch of one
/// text and pull each other's work again and again — the shape of offline drafting
/// that real traces have too little of: on average `width` branches are concurrent
/// at any moment, each forks from and merges with the others repeatedly, and none of
/// it is linear for long.
///
/// Every branch is a real ``Document`` replica with its own agent
/// (``EditingTrace/agentName(_:)``): it types word runs and backspaces near a cursor
/// that mostly stays where it was (as people write), sometimes jumps elsewhere, and
/// after a run now and then pulls everything another branch has (one change batch).
/// The result is an ``EditingTrace`` — each transaction one run on the version its
/// branch was at — whose `endContent` is the text after every branch has been pulled
/// into one, so the same history can be replayed, merged and benchmarked like the
/// recorded traces, by Spor and (written with ``EditingTrace/jsonBytes()``) by other
/// libraries. Deterministic for a given random generator state.
///
/// Cost: generation merges every pull with Spor itself, O(events · log n) in total
/// with kept merge state; the transactions' parents are found with one vector clock
/// per transaction (O(transactions · width) memory).
public struct BranchingHistory {
    /// Branches concurrent at once (2...64).
    public var width: Int
    /// Events to generate (at least; the last run may overshoot by a few).
    public var events: Int
    /// Mean events a branch types between two pulls from another branch.
    public var eventsBetweenPulls = 200

    public init(width: Int, events: Int) {
        self.width = width
        self.events = events
    }

    private static let words = [
        "klima", "spor", "kommune", "region", "vand", "skybrud", "tilpasning", "borgere", "og", "i",
        "at", "det", "for", "med", "på", "grøn", "omstilling", "partnerskab", "budget", "mål", "æble",
        "søer", "å", "øer", "byrådet", "energi", "varme", "kyst", "sikring", "data",
    ]

    /// Builds the history. Throws only if Spor refuses its own edits (a bug).
    public func generate(named name: String = "", using random: inout some RandomNumberGenerator) throws -> EditingTrace {
        precondition((2...64).contains(width), "width must be 2...64")
        let agents = try (0..<width).map { try EditingTrace.agentName($0) }
        var branches = agents.map { Document(agent: $0) }
        var cursors = [Int](repeating: 0, count: width)
        // The transactions each branch's version holds, as the last transaction of
        // each branch it contains (+1; 0: none) — and the same clock for every
        // transaction, to tell which of two heads is an ancestor of the other.
        var branchClock = [[Int32]](repeating: [Int32](repeating: 0, count: width), count: width)
        var heads = [[Int]](repeating: [], count: width)
        var transactionClock: [[Int32]] = []
        var transactionAgent: [Int] = []
        var transactionSeq: [Int32] = []
        var transactions: [EditingTrace.Transaction] = []
        var generated = 0
        let pullChance = max(1, eventsBetweenPulls / 7)  // runs are ~7 events long

        while generated < events {
            let branch = Int.random(in: 0..<width, using: &random)
            var document = branches[branch]
            let length = document.textLength()
            var cursor = min(cursors[branch], length)
            if Int.random(in: 0..<10, using: &random) == 0 { cursor = Int.random(in: 0...length, using: &random) }
            let patch: EditingTrace.Patch
            if cursor > 0, Int.random(in: 0..<5, using: &random) == 0 {
                let count = Int.random(in: 1...min(cursor, 8), using: &random)
                try document.delete(cursor - count..<cursor)
                patch = EditingTrace.Patch(position: cursor - count, deleteCount: count, insert: "")
                cursor -= count
            } else {
                var run = ""
                for _ in 0..<Int.random(in: 1...2, using: &random) {
                    run += (Self.words.randomElement(using: &random) ?? "x") + " "
                }
                try document.insert(run, at: cursor)
                patch = EditingTrace.Patch(position: cursor, deleteCount: 0, insert: run)
                cursor += run.unicodeScalars.count
            }
            generated += patch.deleteCount + patch.insert.unicodeScalars.count
            branches[branch] = document
            cursors[branch] = cursor

            let index = transactions.count
            transactions.append(EditingTrace.Transaction(parents: heads[branch], agent: branch, patches: [patch]))
            transactionSeq.append(branchClock[branch][branch])
            branchClock[branch][branch] += 1
            transactionClock.append(branchClock[branch])
            transactionAgent.append(branch)
            heads[branch] = [index]

            if Int.random(in: 0..<pullChance, using: &random) == 0 {
                var source = Int.random(in: 0..<(width - 1), using: &random)
                if source >= branch { source += 1 }
                try pull(into: &branches[branch], from: branches[source])
                for agent in 0..<width { branchClock[branch][agent] = max(branchClock[branch][agent], branchClock[source][agent]) }
                // The new heads: those of either side that the other side does not contain.
                let candidates = heads[branch] + heads[source].filter { !heads[branch].contains($0) }
                heads[branch] = candidates.filter { head in
                    !candidates.contains { other in
                        other != head && transactionClock[other][transactionAgent[head]] > transactionSeq[head]
                    }
                }
            }
        }
        var union = branches[0]
        for source in 1..<width { try pull(into: &union, from: branches[source]) }
        return EditingTrace(name: name.isEmpty ? "branches-\(width)" : name, endContent: union.text(),
                            agentCount: width, transactions: transactions)
    }

    private func pull(into document: inout Document, from source: Document) throws {
        try document.merge(encodedChanges: try source.encodedChanges(since: document.versionVector))
    }
}
