import SporCRDT

/// Where each part of a proposal lives in its document, and which parts only the
/// secretariat may write — the contract between the proposal, the client and the
/// server (which enforces ``requiresSecretariat(_:)`` and ``isAppendOnly(_:)`` on
/// incoming changes).
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
///   comments (list)         items are maps: section, start, end, quote, author,
///                           authorRole, text, resolved, createdAt, replies (list of maps)
/// submissions (list)        append-only; items are maps: step, round, heads, hash, at, by
/// process (map)             withdrawnAt, withdrawnBy
/// secretariat (map)         secretariat only: qualification, qualificationNote,
///                           qualifiedAt, decision, decisionNote, grantedAmount, decidedAt
/// agents (map)              agent name → organisation code or name (who an agent is)
/// ```
public enum ProposalSchema {
    public static let proposal = schemaID { () throws(CRDTError) in try .root("proposal", .map) }
    public static let submissions = schemaID { () throws(CRDTError) in try .root("submissions", .list) }
    public static let process = schemaID { () throws(CRDTError) in try .root("process", .map) }
    public static let secretariat = schemaID { () throws(CRDTError) in try .root("secretariat", .map) }
    public static let agents = schemaID { () throws(CRDTError) in try .root("agents", .map) }

    public static let participants = proposalChild(Key.participants, .list)
    public static let budget = proposalChild(Key.budget, .list)
    public static let milestones = proposalChild(Key.milestones, .list)
    public static let extraSections = proposalChild(Key.extraSections, .list)
    public static let comments = proposalChild(Key.comments, .list)

    /// The text of `section`.
    public static func text(of section: Section) -> ContainerID { sectionTexts[section.rank] }
    private static let sectionTexts = Section.allCases.map { proposalChild($0.key, .text) }

    /// The containers only the secretariat may write (with everything beneath them).
    public static let secretariatOnly: [ContainerID] = [secretariat]
    /// The containers whose items, once written, are never changed or removed.
    public static let appendOnly: [ContainerID] = [submissions]

    /// Whether writing to `id` needs the secretariat role.
    public static func requiresSecretariat(_ id: ContainerID) -> Bool {
        isWithin(id, secretariatOnly)
    }

    /// Whether `id` is an append-only list or lies beneath one: only insertions of new
    /// items (and the writes that fill a new item) are allowed.
    public static func isAppendOnly(_ id: ContainerID) -> Bool {
        isWithin(id, appendOnly)
    }

    private static func isWithin(_ id: ContainerID, _ roots: [ContainerID]) -> Bool {
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
