/// Everything a document remembers about its history: the event graph, who made each
/// event, and the operations of every text. Append-only; rolled back as a whole
/// when a merge fails.
struct OperationLog: Sendable {
    var graph = CausalGraph()
    var agents = AgentAssignment()
    /// The texts in the order they first appeared; events refer to them by index.
    var textIDs: [ContainerID] = []
    var textHistories: [TextHistory] = []
    /// Incremented by every rollback, so that cached agent and text indices can tell
    /// they may be stale.
    private(set) var rollbackGeneration = 0

    var eventCount: Int { graph.count }

    func textIndex(of id: ContainerID) -> Int? { textIDs.firstIndex(of: id) }

    mutating func textIndex(registering id: ContainerID) -> Int {
        if let index = textIndex(of: id) { return index }
        textIDs.append(id)
        textHistories.append(TextHistory())
        return textIDs.count - 1
    }

    /// The version (frontier) named by `lvs` as event ids.
    func version(of lvs: [LV]) -> Version {
        Version(heads: lvs.map { agents.eventID(of: $0) })
    }

    /// The LVs of `version`'s heads, or an error naming the first unknown one.
    func localVersion(of version: Version) throws(CRDTError) -> [LV] {
        var lvs: [LV] = []
        for head in version.heads {
            guard let lv = agents.lv(of: head) else {
                throw CRDTError(.unknownParent, "version names event \(head), which this replica does not have")
            }
            lvs.append(lv)
        }
        return graph.frontier(reducing: lvs)
    }

    struct Checkpoint {
        fileprivate let graph: CausalGraph.Checkpoint
        fileprivate let agents: AgentAssignment.Checkpoint
        fileprivate let textCount: Int
        fileprivate let texts: [TextHistory.Checkpoint]
    }

    func checkpoint() -> Checkpoint {
        Checkpoint(graph: graph.checkpoint(), agents: agents.checkpoint(), textCount: textIDs.count,
                   texts: textHistories.map { $0.checkpoint() })
    }

    mutating func rollback(to checkpoint: Checkpoint) {
        rollbackGeneration += 1
        graph.rollback(to: checkpoint.graph)
        agents.rollback(to: checkpoint.agents)
        textIDs.removeSubrange(checkpoint.textCount...)
        textHistories.removeSubrange(checkpoint.textCount...)
        for index in textHistories.indices { textHistories[index].rollback(to: checkpoint.texts[index]) }
    }
}
