import SporCRDT

extension EditingTrace {
    /// The document with every branch appended but not yet merged (benchmarks).
    public func appendBranches(in id: ContainerID = .text) throws -> Document {
        var document = Document()
        let agents = try (0..<agentCount).map { try Self.agentName($0) }
        var versionAfter: [[Int]] = []
        versionAfter.reserveCapacity(transactions.count)
        for transaction in transactions {
            var parents: [Int] = []
            for parent in transaction.parents { parents.append(contentsOf: versionAfter[parent]) }
            let range = document.appendEdits(Self.edits(transaction.patches), in: id,
                                             by: agents[transaction.agent], parents: parents)
            versionAfter.append(range.isEmpty ? parents : [range.upperBound - 1])
        }
        return document
    }
}
