/// Everything a document remembers about its history: the event graph, who made each
/// event, and the operations of every container. Append-only; rolled back as a
/// whole when a merge fails.
///
/// Containers are numbered in the order they first appeared; each has a text history
/// (texts) or a value history (registers, maps, lists, sets) at its number.
struct OperationLog: Sendable {
    var graph = CausalGraph()
    var agents = AgentAssignment()
    private(set) var containerIDs: [ContainerID] = []
    private var containerIndexByID: [ContainerID: Int] = [:]
    /// Per container; empty for non-texts.
    var textHistories: [TextHistory] = []
    /// Per container; empty for texts.
    var valueHistories: [ValueHistory] = []
    /// Incremented by every rollback, so that cached agent and container indices can
    /// tell they may be stale.
    var rollbackGeneration = 0
    /// In a trimmed log: how many events at the end of the prefix chain are the cut's
    /// frontier (see `OperationLog+Trimming.swift`); 0 otherwise.
    var trimmedFrontierCount = 0

    var eventCount: Int { graph.count }

    func containerIndex(of id: ContainerID) -> Int? { containerIndexByID[id] }

    mutating func containerIndex(registering id: ContainerID) -> Int {
        if let index = containerIndexByID[id] { return index }
        let index = containerIDs.count
        containerIDs.append(id)
        containerIndexByID[id] = index
        textHistories.append(TextHistory())
        valueHistories.append(ValueHistory())
        return index
    }

    /// The version (frontier) named by `lvs` as event ids.
    func version(of lvs: [LV]) -> Version {
        Version(heads: lvs.map { agents.eventID(of: $0) })
    }

    /// The LVs of `version`'s heads, reduced to a frontier, or an error naming the
    /// first unknown one.
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

    var causalContext: CausalContext { CausalContext(graph: graph, agents: agents) }

    struct Checkpoint {
        fileprivate let graph: CausalGraph.Checkpoint
        fileprivate let agents: AgentAssignment.Checkpoint
        fileprivate let containerCount: Int
        fileprivate let texts: [TextHistory.Checkpoint]
        fileprivate let values: [ValueHistory.Checkpoint]
    }

    func checkpoint() -> Checkpoint {
        Checkpoint(graph: graph.checkpoint(), agents: agents.checkpoint(), containerCount: containerIDs.count,
                   texts: textHistories.map { $0.checkpoint() }, values: valueHistories.map { $0.checkpoint() })
    }

    mutating func rollback(to checkpoint: Checkpoint) {
        rollbackGeneration += 1
        graph.rollback(to: checkpoint.graph)
        agents.rollback(to: checkpoint.agents)
        for id in containerIDs[checkpoint.containerCount...] { containerIndexByID[id] = nil }
        containerIDs.removeSubrange(checkpoint.containerCount...)
        textHistories.removeSubrange(checkpoint.containerCount...)
        valueHistories.removeSubrange(checkpoint.containerCount...)
        for index in textHistories.indices {
            textHistories[index].rollback(to: checkpoint.texts[index])
            valueHistories[index].rollback(to: checkpoint.values[index])
        }
    }
}
