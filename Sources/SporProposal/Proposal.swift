import Foundation
import SporCRDT

/// A klimaudviklingsspor proposal: a ``Document`` laid out by ``ProposalSchema``,
/// edited by one ``Actor`` on this replica.
///
/// Every field merges like the container it lives in: sections are collaborative
/// texts, scalar fields are multi-value registers (concurrent different values are a
/// conflict until rewritten, see ``ProposalContent/conflicts``), participants, budget
/// lines, milestones and comments are list items holding maps, so partners adding
/// lines concurrently keep all of them.
///
/// Every mutating method checks its input and the actor's role first and is one
/// all-or-nothing change: it either succeeds or throws a ``ProposalError`` naming
/// the field and leaves the proposal unchanged. No method reads the clock: times
/// are passed in (`at:`), so deadlines can be tested at any instant.
public struct Proposal: Sendable {
    public internal(set) var document: Document
    public let actor: Actor

    /// A proposal stored in `document`, edited as `actor`.
    public init(document: Document, actor: Actor) {
        self.document = document
        self.actor = actor
    }

    /// A new proposal titled `title` for round `roundID`, made on this replica by
    /// `agent`; a member organisation from the registry becomes its lead partner.
    public static func create(
        agent: AgentID, actor: Actor, title: String, roundID: String?, calendar: RoundCalendar = .builtIn
    ) throws(ProposalError) -> Proposal {
        var proposal = Proposal(document: Document(agent: agent), actor: actor)
        try proposal.change { proposal throws(ProposalError) in
            // An idea may start before its round opens: the round matters at submission
            // (`check` says `roundMissing` until one is set).
            if let roundID { try proposal.setRound(roundID, calendar: calendar) }
            try proposal.setSection(.title, to: title)
            if actor.role == .member, let organisation = Organisation.withCode(actor.organisation) {
                try proposal.addParticipant(ParticipantInput(organisation: .registered(organisation), role: .lead))
            }
        }
        return proposal
    }

    // MARK: - Reading

    /// The proposal as it is now.
    public func content() throws(ProposalError) -> ProposalContent {
        try documentStep { () throws(CRDTError) in try ProposalContent.read(from: document) }
    }

    /// The proposal as it was at `version` (e.g. a submitted version).
    public func content(at version: Version) throws(ProposalError) -> ProposalContent {
        try documentStep { () throws(CRDTError) in try ProposalContent.read(from: document.view(at: version)) }
    }

    // MARK: - Changing

    /// Runs `body` as one all-or-nothing change. (Who made it is the organisation of
    /// the document's agent: nothing about authorship is written as a value.)
    @discardableResult
    mutating func change<Result>(_ body: (inout Proposal) throws(ProposalError) -> Result) throws(ProposalError) -> Result {
        var copy = self
        let result = try body(&copy)
        self = copy
        return result
    }

    /// Refuses content changes by anyone but a member, and after a decision or a
    /// withdrawal.
    func requireEditableContent(field: String) throws(ProposalError) {
        guard actor.role == .member else {
            throw ProposalError(.notPermitted, field: field,
                                "only participating organisations edit a proposal; a \(actor.role.rawValue) comments instead", danish: "kun deltagende organisationer redigerer et forslag; en \(actor.role.rawValue) kommenterer i stedet")
        }
        // The server's members map says what this organisation is on the proposal.
        if case let .string(role)? = document.mapEntry(actor.organisation, in: ProposalSchema.members).value,
           role == ParticipantRole.observer.rawValue {
            throw ProposalError(.notPermitted, field: field, "an observer reads and comments; only the lead partner and partners edit the proposal", danish: "en observatør læser og kommenterer; kun tovholderen og partnerne redigerer forslaget")
        }
        let process = ProposalSchema.process
        if document.mapEntry(ProposalSchema.Key.withdrawnAt, in: process).value != nil {
            throw ProposalError(.stepNotAllowed, field: field, "the proposal has been withdrawn", danish: "forslaget er trukket tilbage")
        }
        if document.mapEntry(ProposalSchema.Key.decision, in: ProposalSchema.secretariat).value != nil {
            throw ProposalError(.stepNotAllowed, field: field, "the committee's decision is recorded; the proposal is closed", danish: "forretningsudvalgets afgørelse er registreret; forslaget er lukket")
        }
    }

    /// Writes `value` under `key` of `map` as field `field` (skipped if unchanged, so
    /// that an unchanged save makes no event and cannot raise a conflict).
    mutating func write(_ value: Value, forKey key: String, in map: ContainerID, field: String) throws(ProposalError) {
        let current = document.mapEntry(key, in: map)
        guard current.value != value || current.isConflict else { return }
        try documentStep(field: field) { () throws(CRDTError) in try document.set(value, forKey: key, in: map) }
    }

    /// Makes sure `map` lists its child container under `key` (the schema's lists).
    mutating func ensureChild(_ kind: ContainerKind, forKey key: String, in map: ContainerID) throws(ProposalError) {
        try documentStep { () throws(CRDTError) in _ = try document.createChild(kind, forKey: key, in: map) }
    }

    /// Appends a new item holding a map to the end of `list` and returns the item and
    /// its map (list items of the schema are maps of fields).
    mutating func appendMapItem(to list: ContainerID, field: String) throws(ProposalError) -> (item: ListItemID, map: ContainerID) {
        try documentStep(field: field) { () throws(CRDTError) in
            let item = try document.insert(.child(.map), at: document.list(list).count, in: list)
            return (item, try list.child(item, .map))
        }
    }

    // MARK: - Sections and scalar fields

    /// Makes `section` read `text`, as the few edits that produce it (so partners'
    /// concurrent edits elsewhere in the section survive).
    public mutating func setSection(_ section: Section, to text: String) throws(ProposalError) {
        try requireEditableContent(field: section.key)
        try change { proposal throws(ProposalError) in
            let id = ProposalSchema.text(of: section)
            try proposal.ensureChild(.text, forKey: section.key, in: ProposalSchema.proposal)
            try documentStep(field: section.key) { () throws(CRDTError) in try proposal.document.setText(text, in: id) }
        }
    }

    /// Makes `section` go from what it read at `base` to `text` — the save of an
    /// editor session that started at `base` — merged with every change that
    /// arrived since, so partners' edits made meanwhile are kept, not undone.
    public mutating func setSection(_ section: Section, to text: String, editedFrom base: Version) throws(ProposalError) {
        try requireEditableContent(field: section.key)
        try change { proposal throws(ProposalError) in
            let id = ProposalSchema.text(of: section)
            try proposal.ensureChild(.text, forKey: section.key, in: ProposalSchema.proposal)
            try documentStep(field: section.key) { () throws(CRDTError) in
                try proposal.document.setText(text, editedFrom: base, in: id)
            }
        }
    }

    /// Sets the amount requested from Klimaalliancen, in DKK.
    public mutating func setAmountRequested(_ kroner: Int64) throws(ProposalError) {
        let field = ProposalSchema.Key.amountRequested
        try requireEditableContent(field: field)
        let amount = try Kroner.check(kroner, field: field)
        try change { proposal throws(ProposalError) in
            try proposal.write(.int(amount), forKey: field, in: ProposalSchema.proposal, field: field)
        }
    }

    /// Sets the round the proposal is for; throws `unknownRound` if `calendar` has no
    /// such round.
    public mutating func setRound(_ roundID: String, calendar: RoundCalendar) throws(ProposalError) {
        let field = ProposalSchema.Key.round
        try requireEditableContent(field: field)
        let round = try calendar.round(id: roundID, field: field)
        try change { proposal throws(ProposalError) in
            try proposal.write(.string(round.id), forKey: field, in: ProposalSchema.proposal, field: field)
        }
    }

    /// The fields ``set(_:to:calendar:)`` accepts: every section's key, then
    /// `amountRequested` and `round`.
    public static let settableFields: [String] = Section.allCases.map(\.key) + [ProposalSchema.Key.amountRequested, ProposalSchema.Key.round]

    /// Sets a field by name from text, as a command line gives it: a section's text (by
    /// any name ``Section/named(_:)`` knows), an amount ("1.250.000") or a round id.
    /// Throws `unknownField` naming the known fields.
    public mutating func set(_ field: String, to text: String, calendar: RoundCalendar = .builtIn) throws(ProposalError) {
        if let section = Section.named(field) {
            try setSection(section, to: text)
        } else if field == ProposalSchema.Key.amountRequested {
            try setAmountRequested(try Kroner.parse(text, field: field))
        } else if field == ProposalSchema.Key.round {
            try setRound(text.trimmingWhitespace(), calendar: calendar)
        } else {
            throw ProposalError(.unknownField, field: field,
                                "there is no field \(String(reflecting: field)); fields are \(Self.settableFields.joined(separator: ", "))", danish: "der er intet felt \(String(reflecting: field)); felterne er \(Self.settableFields.joined(separator: ", "))")
        }
    }
}
