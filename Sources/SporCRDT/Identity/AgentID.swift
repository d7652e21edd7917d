/// The name of one replica: an organisation's device or process that makes edits.
///
/// Every event carries the agent that made it, so an agent name must be unique to one
/// replica; Spor's client derives it from the organisation and a per-workspace random
/// part. Names are 1...``maxUTF8Count`` bytes of UTF-8 without control characters.
///
/// Agents are ordered by the bytes of their UTF-8 names. The order is part of the
/// merge semantics (it breaks ties between concurrent insertions at the same place),
/// so it must be the same on every replica and in every implementation: plain
/// lexicographic byte order, independent of locale and Unicode normalisation.
public struct AgentID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The longest accepted name, in UTF-8 bytes.
    public static let maxUTF8Count = 64

    public let name: String

    /// Validates `name`; throws ``CRDTError/Code-swift.struct/invalidAgent`` if it is
    /// empty, longer than ``maxUTF8Count`` bytes or contains a control character.
    public init(_ name: String) throws(CRDTError) {
        guard let problem = AgentID.problem(with: name) else {
            self.name = name
            return
        }
        throw CRDTError(.invalidAgent, "agent name \(String(reflecting: name)) \(problem)")
    }

    /// For names already validated (decoders check ``problem(with:)`` first).
    init(unchecked name: String) { self.name = name }

    static func problem(with name: String) -> String? {
        let count = name.utf8.count
        if count == 0 { return "is empty" }
        if count > maxUTF8Count { return "is \(count) bytes long; at most \(maxUTF8Count) are allowed" }
        if UTF8Scalars.containsControlCharacter(name) {
            return "contains a control character"
        }
        return nil
    }

    public static func < (lhs: AgentID, rhs: AgentID) -> Bool {
        lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }

    public var description: String { name }
}
