import SporCRDT

/// Replays a concurrent trace the way real replicas would: one document per agent,
/// each transaction made by its agent on the version its parents name, with missing
/// events pulled from other replicas as encoded change batches.
public struct TraceReplicas {
    public private(set) var replicas: [Document]
    /// The version after each transaction, as event ids.
    private var versionAfter: [[EventID]] = []
    private let trace: EditingTrace
    /// Put before every agent's name (a server takes only "<organisation>/…" agents).
    private let agentPrefix: String
    /// Change batches exchanged, and their total size.
    public private(set) var batchesExchanged = 0
    public private(set) var bytesExchanged = 0
    /// The most concurrent items one pull's merge scanned past to place insertions
    /// (what a server's placement budget bounds per push).
    public private(set) var mostPlacementScans = 0

    /// `agentPrefix` goes before every agent's name ("0751/" for agents a server takes
    /// from organisation 0751).
    public init(trace: EditingTrace, agentPrefix: String = "") throws {
        self.trace = trace
        self.agentPrefix = agentPrefix
        replicas = try (0..<trace.agentCount).map { Document(agent: try Self.agentName($0, prefix: agentPrefix)) }
    }

    private static func agentName(_ index: Int, prefix: String) throws -> AgentID {
        try AgentID(prefix + EditingTrace.agentName(index).name)
    }

    /// Brings `replica` up to date with everything `source` has.
    public mutating func pull(into replica: Int, from source: Int) throws {
        let changes = try replicas[source].encodedChanges(since: replicas[replica].versionVector)
        batchesExchanged += 1
        bytesExchanged += changes.count
        try replicas[replica].merge(encodedChanges: changes)
        mostPlacementScans = max(mostPlacementScans, replicas[replica].placementScansOfLastMerge)
    }

    /// Replays the trace; with `pushingEvery`, also returns the change batches a
    /// server would store if each agent pushed what it has and the server lacks after
    /// every that many of its own transactions (and everything at the end): the
    /// history as stored batches, in an order a server accepts them.
    @discardableResult
    public mutating func replay(pushingEvery transactionsPerPush: Int? = nil) throws -> [[UInt8]] {
        var batches: [[UInt8]] = []
        var stored = VersionVector()
        var unpushed = Array(repeating: 0, count: replicas.count)
        func push(_ agent: Int) throws {
            let changes = try replicas[agent].encodedChanges(since: stored)
            if try ChangeSummary(encodedChanges: changes).eventCount > 0 {
                batches.append(changes)
                stored = stored.union(replicas[agent].versionVector)
            }
            unpushed[agent] = 0
        }
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
            let agentID = try Self.agentName(agent, prefix: agentPrefix)
            versionAfter.append([EventID(agent: agentID, seq: replicas[agent].versionVector[agentID] - 1)])
            if let transactionsPerPush {
                unpushed[agent] += 1
                if unpushed[agent] >= transactionsPerPush { try push(agent) }
            }
        }
        if transactionsPerPush != nil {
            for agent in replicas.indices { try push(agent) }
        }
        return batches
    }
}
