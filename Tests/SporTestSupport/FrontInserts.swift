import SporCRDT

extension Document {
    /// `count` insertions by `agent`, each at the front of the text (or of `list`): no
    /// two make a run, and each of another writer's concurrent insertions at the front
    /// is placed past all of them — the costliest shape for YjsMod placement.
    public static func frontInserts(by agent: String, count: Int, list: ContainerID? = nil) throws -> Document {
        var document = Document(agent: try AgentID(agent))
        for index in 0..<count {
            if let list { _ = try document.insert(.int(Int64(index)), at: 0, in: list) } else { try document.insert("x", at: 0) }
        }
        return document
    }
}
