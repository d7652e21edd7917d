import SporCRDT

/// Where each part of a proposal lives in its document, and which parts only the
/// server writes — the contract between the proposal, the client and the server
/// (which refuses every client write to ``serverOnly`` containers and asks
/// ``ProposalPolicy`` about every other write, see `ProposalSchema+WriteRules.swift`).
///
/// ```
/// proposal (map)            title, sections: child texts under Section.key
///   amountRequested: int    requested from Klimaalliancen, DKK
///   round: string           the round id ("2024-autumn")
///   participants (list)     items are maps: organisation, kind, role, contactName,
///                           contactEmail, cofinancingCash, cofinancingHours
///   budget (list)           items are maps: item, amount, source, year
///   milestones (list)       items are maps: title, date ("2025-03-01")
///   extraSections (list)    items are maps: heading, body (child text)
///   comments (list)         items are maps: section, start, end, quote, text, resolved,
///                           createdAt, replies (list of maps: text, createdAt); the
///                           author is the organisation of the item's event
/// submissions (list)        server only; items are maps: step, round, heads, hash, at, by
/// process (map)             server only: withdrawnAt, withdrawnBy
/// secretariat (map)         server only: qualification, qualificationNote,
///                           qualifiedAt, decision, decisionNote, grantedAmount, decidedAt
/// members (map)             server only: organisation id → "lead" | "partner" | "observer"
/// secretariatRecords (list) server only; items are maps: kind ("qualification" |
///                           "decision"), result, note, grantedAmount, at, by — every
///                           record, oldest first (the secretariat map has the latest)
/// agents (map)              legacy (written by clients before protocol 2, read by nobody)
/// saves (map)               "agent@seq" of a save's first event → string "<Unix
///                           seconds> <events>": when the save was made by its
///                           author's clock, and how many events it has; each agent
///                           writes only its own saves' keys
/// versionNames (map)        a name a member gave a version ("til styregruppen") →
///                           string, its heads ("agent@seq,agent@seq")
/// ```
///
/// Authorship is never read from the document's values: the organisation that wrote
/// an event is the prefix of its agent's name up to the first "/" (the server ties
/// that prefix to the authenticated organisation), and the server's own events are
/// by ``serverAgent``, a name no organisation's agents can have.
public enum ProposalSchema {
    public static let proposal = schemaID { () throws(CRDTError) in try .root("proposal", .map) }
    public static let submissions = schemaID { () throws(CRDTError) in try .root("submissions", .list) }
    public static let process = schemaID { () throws(CRDTError) in try .root("process", .map) }
    public static let secretariat = schemaID { () throws(CRDTError) in try .root("secretariat", .map) }
    public static let agents = schemaID { () throws(CRDTError) in try .root("agents", .map) }
    public static let members = schemaID { () throws(CRDTError) in try .root("members", .map) }
    /// Every qualification and decision the server recorded, oldest first: a changed
    /// result is a new entry, the earlier ones stay.
    public static let secretariatRecords = schemaID { () throws(CRDTError) in try .root("secretariatRecords", .list) }
    /// When each save was made, by its author's clock (``Proposal/recordSave(from:at:)``).
    public static let saves = schemaID { () throws(CRDTError) in try .root("saves", .map) }
    /// Versions members named (``Proposal/nameVersion(_:_:)``).
    public static let versionNames = schemaID { () throws(CRDTError) in try .root("versionNames", .map) }

    /// The agent the server writes its records as. Organisation ids never start with
    /// ".", so no organisation's agent prefix (`"<id>/"`) matches it.
    public static let serverAgent: AgentID = {
        do { return try AgentID(".server") } catch { preconditionFailure("invalid server agent name: \(error)") }
    }()

    /// The organisation (its server id) that wrote events as `agent`; nil for the
    /// server's own agent and for names without an organisation prefix.
    public static func organisation(of agent: AgentID) -> String? {
        guard agent != serverAgent, let slash = agent.name.firstIndex(of: "/"), slash != agent.name.startIndex else { return nil }
        return String(agent.name[..<slash])
    }

    public static let participants = proposalChild(Key.participants, .list)
    public static let budget = proposalChild(Key.budget, .list)
    public static let milestones = proposalChild(Key.milestones, .list)
    public static let extraSections = proposalChild(Key.extraSections, .list)
    public static let comments = proposalChild(Key.comments, .list)

    /// The text of `section`.
    public static func text(of section: Section) -> ContainerID { sectionTexts[section.rank] }
    private static let sectionTexts = Section.allCases.map { proposalChild($0.key, .text) }

    /// The containers only the server writes (with everything beneath them): the
    /// process records and the members. A client asks the server to take a step; it
    /// never writes these itself.
    public static let serverOnly: [ContainerID] = [submissions, process, secretariat, members, secretariatRecords]

    /// Whether `id` is, or lies beneath, a container only the server writes.
    public static func isServerOnly(_ id: ContainerID) -> Bool {
        isWithin(id, serverOnly)
    }

    static func isWithin(_ id: ContainerID, _ roots: [ContainerID]) -> Bool {
        var current: ContainerID? = id
        while let container = current {
            if roots.contains(container) { return true }
            current = container.parent
        }
        return false
    }

    /// Map keys.
    public enum Key {
        public static let amountRequested = "amountRequested"
        public static let round = "round"
        public static let participants = "participants"
        public static let budget = "budget"
        public static let milestones = "milestones"
        public static let extraSections = "extraSections"
        public static let comments = "comments"

        public static let organisation = "organisation"
        public static let kind = "kind"
        public static let role = "role"
        public static let contactName = "contactName"
        public static let contactEmail = "contactEmail"
        public static let cofinancingCash = "cofinancingCash"
        public static let cofinancingHours = "cofinancingHours"

        public static let item = "item"
        public static let amount = "amount"
        public static let source = "source"
        public static let year = "year"

        public static let title = "title"
        public static let date = "date"
        public static let heading = "heading"
        public static let body = "body"

        public static let section = "section"
        public static let start = "start"
        public static let end = "end"
        public static let quote = "quote"
        public static let author = "author"
        public static let authorRole = "authorRole"
        public static let text = "text"
        public static let resolved = "resolved"
        public static let createdAt = "createdAt"
        public static let replies = "replies"

        public static let step = "step"
        public static let heads = "heads"
        public static let hash = "hash"
        public static let at = "at"
        public static let by = "by"

        public static let withdrawnAt = "withdrawnAt"
        public static let withdrawnBy = "withdrawnBy"

        public static let qualification = "qualification"
        public static let qualificationNote = "qualificationNote"
        public static let qualifiedAt = "qualifiedAt"
        public static let decision = "decision"
        public static let decisionNote = "decisionNote"
        public static let grantedAmount = "grantedAmount"
        public static let decidedAt = "decidedAt"
        public static let result = "result"
        public static let note = "note"
    }

    private static func proposalChild(_ key: String, _ kind: ContainerKind) -> ContainerID {
        schemaID { () throws(CRDTError) in try proposal.child(key, kind) }
    }
}

/// A container id of the schema: built from constant names, so a failure is a
/// programming error in this file, never a reaction to input.
private func schemaID(_ make: () throws(CRDTError) -> ContainerID) -> ContainerID {
    do {
        return try make()
    } catch {
        preconditionFailure("invalid schema container name: \(error)")
    }
}
