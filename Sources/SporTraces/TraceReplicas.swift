import SporCRDT

/// Replays a concurrent trace the way real replicas would: one document per agent,
/// each transaction made by its agent on the version its parents name, with missing
/// events pulled from other replicas as encoded change batches.
public struct TraceReplicas {
    public private(set) var replicas: [Document]
    /// The version after each transaction, as event ids.
    private var versionAfter: [[EventID]] = []
    private let trace: EditingTrace
    /// Change batches exchanged, and their total size.
    public private(set) var batchesExchanged = 0
    public private(set) var bytesExchanged = 0
    /// The most concurrent items one pull's merge scanned past to place insertions
    /// (what a server's placement budget bounds per push).
    public private(set) var mostPlacementScans = 0

    public init(trace: EditingTrace) throws {
        self.trace = trace
        replicas = try (0..<trace.agentCount).map { Document(agent: try EditingTrace.agentName($0)) }
    }

    /// Brings `replica` up to date with everything `source` has.
    public mutating func pull(into replica: Int, from source: Int) throws {
        let changes = try replicas[source].encodedChanges(since: replicas[replica].versionVector)
        batchesExchanged += 1
        bytesExchanged += changes.count
        try replicas[replica].merge(encodedChanges: changes)
        mostPlacementScans = max(mostPlacementScans, replicas[replica].placementScansOfLastMerge)
    }

    public mutating func replay() throws {
        for transaction in trace.transactions {
            let agent = transaction.agent
            var heads: [EventID] = []
            for parent in transaction.parents {
                for event in versionAfter[parent] where !replicas[agent].versionVector.includes(event) {
                    try pull(into: agent, from: trace.transactions[parent].agent)
                }
                heads.append(contentsOf: versionAfter[parent])
            }
            let edits = EditingTrace.edits(transaction.patches)
            if edits.isEmpty {
                versionAfter.append(heads)
                continue
            }
            try replicas[agent].apply(edits, at: Version(heads: heads))
            let agentID = try EditingTrace.agentName(agent)
            versionAfter.append([EventID(agent: agentID, seq: replicas[agent].versionVector[agentID] - 1)])
        }
    }
}
