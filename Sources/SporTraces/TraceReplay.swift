import SporCRDT

extension EditingTrace {
    /// The agent name used for trace agent `index`; names sort in index order.
    public static func agentName(_ index: Int) throws -> AgentID {
        let digits = String(index)
        return try AgentID("agent-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits)
    }

    /// The trace's patches as ``TextEdit``s (a delete, then an insert, per patch).
    public static func edits(_ patches: [Patch]) -> [TextEdit] {
        var edits: [TextEdit] = []
        edits.reserveCapacity(patches.count * 2)
        for patch in patches {
            if patch.deleteCount > 0 { edits.append(.delete(at: patch.position, count: patch.deleteCount)) }
            if !patch.insert.isEmpty { edits.append(.insert(at: patch.position, patch.insert)) }
        }
        return edits
    }

    /// Replays a sequential trace as local edits of one author.
    public func replayLocally(in id: ContainerID = .text) throws -> Document {
        var document = Document(agent: try Self.agentName(0))
        for transaction in transactions {
            for patch in transaction.patches {
                if patch.deleteCount > 0 {
                    try document.delete(patch.position..<patch.position + patch.deleteCount, in: id)
                }
                if !patch.insert.isEmpty { try document.insert(patch.insert, at: patch.position, in: id) }
            }
        }
        return document
    }

    /// Builds every branch of a trace — each transaction appended by its agent on the
    /// version its parents name — and then merges them into the text (Eg-walker's
    /// "local" replay of concurrent history). Works for sequential traces too.
    public func replayBranchesAndMerge(in id: ContainerID = .text) throws -> Document {
        var document = try appendBranches(in: id)
        try document.mergePendingEvents(since: [])
        return document
    }

    /// The document with every branch appended but not yet merged (benchmarks).
    public func appendBranches(in id: ContainerID = .text) throws -> Document {
        var document = Document()
        let agents = try (0..<agentCount).map { try Self.agentName($0) }
        // The version after each transaction: its last event, or (for a transaction
        // without events) the parents it was made on.
        var lastEvent = [Int](repeating: -1, count: transactions.count)
        var emptyVersions: [Int: [Int]] = [:]
        var parents: [Int] = []
        for (index, transaction) in transactions.enumerated() {
            parents.removeAll(keepingCapacity: true)
            for parent in transaction.parents {
                if lastEvent[parent] >= 0 { parents.append(lastEvent[parent]) } else { parents.append(contentsOf: emptyVersions[parent] ?? []) }
            }
            let range = document.appendEdits(Self.edits(transaction.patches), in: id,
                                             by: agents[transaction.agent], parents: parents)
            if range.isEmpty { emptyVersions[index] = parents } else { lastEvent[index] = range.upperBound - 1 }
        }
        return document
    }
}
