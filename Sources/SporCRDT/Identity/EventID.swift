/// The globally unique name of one event: the agent that made it and its sequence
/// number among that agent's events (dense: 0, 1, 2, ...).
public struct EventID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let agent: AgentID
    public let seq: Int

    public init(agent: AgentID, seq: Int) {
        self.agent = agent
        self.seq = seq
    }

    public static func < (lhs: EventID, rhs: EventID) -> Bool {
        lhs.agent == rhs.agent ? lhs.seq < rhs.seq : lhs.agent < rhs.agent
    }

    public var description: String { "\(agent.name)@\(seq)" }
}

/// A version of a document named by its frontier: the events that no other event in
/// the version descends from (the "heads"). The version contains those events and all
/// their ancestors. The empty version is the empty document.
///
/// `heads` is sorted, without duplicates, and no head is an ancestor of another.
public struct Version: Hashable, Sendable, CustomStringConvertible {
    public let heads: [EventID]

    public init(heads: [EventID]) {
        self.heads = Array(Set(heads)).sorted()
    }

    public static let empty = Version(heads: [])

    public var description: String {
        "[" + heads.map(\.description).joined(separator: ", ") + "]"
    }
}

/// A version as a vector: for every agent, how many of its events are included
/// (its sequence numbers `0..<count`). Because a replica accepts an agent's events
/// only in sequence order and only after their parents, the events a vector names
/// are always causally closed.
///
/// Answers "what does a peer with this vector lack?" in time proportional to the
/// answer (see ``Document/changes(since:)``).
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    private(set) var counts: [AgentID: Int]

    public init(_ counts: [AgentID: Int] = [:]) {
        self.counts = counts.filter { $0.value > 0 }
    }

    /// The number of `agent`'s events included; 0 for an agent never seen.
    public subscript(agent: AgentID) -> Int {
        get { counts[agent] ?? 0 }
        set { counts[agent] = newValue > 0 ? newValue : nil }
    }

    /// The agents with at least one event included, in name order.
    public var agents: [AgentID] { counts.keys.sorted() }

    /// Whether every event `other` includes is also included here.
    public func includes(_ other: VersionVector) -> Bool {
        other.counts.allSatisfy { self[$0.key] >= $0.value }
    }

    /// Whether `event` is included.
    public func includes(_ event: EventID) -> Bool { self[event.agent] > event.seq }

    /// The union (pointwise maximum) of two vectors.
    public func union(_ other: VersionVector) -> VersionVector {
        var result = self
        for (agent, count) in other.counts where count > result[agent] { result[agent] = count }
        return result
    }

    /// The total number of events included.
    public var eventCount: Int { counts.values.reduce(0, +) }

    public var description: String {
        "{" + agents.map { "\($0.name): \(self[$0])" }.joined(separator: ", ") + "}"
    }
}
