import SporCRDT

/// The agent a Spor server writes its own records as (members, process steps):
/// `ProposalSchema.serverAgent`, named here so that tests of any target can leave its
/// events out when they compare what clients wrote.
public let serverAgentName = ".server"

extension Document {
    /// The events written by clients: all but the server's own.
    public var clientEventCount: Int {
        guard let server = try? AgentID(serverAgentName) else { return eventCount }
        return eventCount - versionVector[server]
    }
}

extension VersionVector {
    /// This version without the server's own events.
    public var withoutServer: VersionVector {
        var counts: [AgentID: Int] = [:]
        for agent in agents where agent.name != serverAgentName { counts[agent] = self[agent] }
        return VersionVector(counts)
    }
}
