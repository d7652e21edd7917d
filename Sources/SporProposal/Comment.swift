import Foundation
import SporCRDT

/// Who is acting on a proposal: an organisation, in a role that decides what it may
/// do. The server checks the role against the authenticated token; locally it keeps a
/// user from taking steps that the server would refuse anyway.
public struct Actor: Hashable, Sendable {
    public enum Role: String, CaseIterable, Hashable, Sendable {
        /// A participating organisation: writes the proposal.
        case member
        /// A local geographic organisation (DGO): comments, gives sparring.
        case dgo
        /// Klimaalliancen's secretariat: qualifies and records decisions.
        case secretariat
    }

    /// The organisation's code ("0751") or name ("Sekretariatet").
    public let organisation: String
    public let role: Role

    public init(organisation: String, role: Role) {
        self.organisation = organisation
        self.role = role
    }

    /// How to show the organisation: the registry's official name, or the name given.
    public var displayName: String { Organisation.withCode(organisation)?.officialName ?? organisation }
}

/// A comment on a place in a section: anchored to characters, so it stays on the text
/// it was made on while the text around it is edited.
public struct Comment: Hashable, Sendable {
    public struct Reply: Hashable, Sendable {
        public let id: ListItemID
        /// The organisation (server id) whose agent created the reply.
        public let author: String
        public let text: String
        public let createdAt: Date?
    }

    public let id: ListItemID
    public let section: Section?
    /// The commented range's ends as anchors (``Document/TextAnchor``).
    public let start: Document.TextAnchor
    public let end: Document.TextAnchor
    /// The commented text when the comment was made.
    public let quote: String
    /// The organisation (server id) whose agent created the comment: derived from the
    /// event, never from a value anyone wrote.
    public let author: String
    public let text: String
    public let resolved: Bool
    public let createdAt: Date?
    public let replies: [Reply]
}

/// Anchors are stored as "agent@seq" ("" for the end of the text). Agent names
/// contain no control characters but may contain "@": the last "@" separates.
enum AnchorCoding {
    static func encode(_ anchor: Document.TextAnchor) -> String {
        guard let character = anchor.character else { return "" }
        return "\(character.agent.name)@\(character.seq)"
    }

    static func decode(_ text: String) -> Document.TextAnchor? {
        if text.isEmpty { return Document.TextAnchor(character: nil) }
        guard let event = EventIDCoding.decode(text) else { return nil }
        return Document.TextAnchor(character: event)
    }
}

/// Event ids as "agent@seq", as submissions store their version's heads.
enum EventIDCoding {
    static func encode(_ event: EventID) -> String { "\(event.agent.name)@\(event.seq)" }

    static func decode(_ text: String) -> EventID? {
        guard let at = text.lastIndex(of: "@"), let seq = Int(text[text.index(after: at)...]), seq >= 0,
              let agent = try? AgentID(String(text[..<at])) else { return nil }
        return EventID(agent: agent, seq: seq)
    }
}
