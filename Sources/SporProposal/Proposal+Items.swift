import SporCRDT

/// Participants, budget lines, milestones and extra sections: items of the proposal's
/// lists, each a map of fields. Concurrently added items are all kept; a removed item
/// stays removed even if someone edited it concurrently (removal wins in lists).
extension Proposal {
    typealias Key = ProposalSchema.Key

    /// Appends a new map item to `list` (a child of the proposal map under `key`).
    private mutating func appendItem(to list: ContainerID, key: String) throws(ProposalError) -> (ListItemID, ContainerID) {
        try ensureChild(.list, forKey: key, in: ProposalSchema.proposal)
        return try appendMapItem(to: list, field: key)
    }

    /// The map of item `id` of `list`; throws `unknownItem` if the list has no such item.
    private func itemMap(_ id: ListItemID, in list: ContainerID, name: String) throws(ProposalError) -> ContainerID {
        guard document.list(list).contains(where: { $0.id == id && $0.value == .child(.map) }) else {
            throw ProposalError(.unknownItem, field: "\(name)[\(id)]", "there is no \(name) item \(id)", danish: "der er ikke noget \(name)-punkt \(id)")
        }
        return try documentStep { () throws(CRDTError) in try list.child(id, .map) }
    }

    private mutating func removeItem(_ id: ListItemID, from list: ContainerID, name: String) throws(ProposalError) {
        try requireEditableContent(field: "\(name)[\(id)]")
        _ = try itemMap(id, in: list, name: name)
        try change { proposal throws(ProposalError) in
            try documentStep(field: "\(name)[\(id)]") { () throws(CRDTError) in try proposal.document.remove(id, from: list) }
        }
    }

    /// Checks a free-text field: at most `limit` characters, no control characters but
    /// line breaks and tabs.
    static func checkText(_ text: String, field: String, limit: Int = 2_000) throws(ProposalError) -> String {
        guard text.unicodeScalars.count <= limit else {
            throw ProposalError(.invalidValue, field: field, "at most \(limit) characters (this has \(text.unicodeScalars.count))", danish: "højst \(limit) tegn (her er \(text.unicodeScalars.count))")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) else {
            throw ProposalError(.invalidValue, field: field, "contains a control character", danish: "indeholder et kontroltegn")
        }
        return text
    }

    // MARK: - Participants

    /// Adds a participant; `organisation` and `role` are required.
    @discardableResult
    public mutating func addParticipant(_ input: ParticipantInput) throws(ProposalError) -> ListItemID {
        let field = Key.participants
        try requireEditableContent(field: field)
        guard input.organisation != nil else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.organisation)", "a participant needs an organisation", danish: "en deltager skal have en organisation")
        }
        guard input.role != nil else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.role)", "a participant needs a role (lead, partner or observer)", danish: "en deltager skal have en rolle (lead, partner eller observer)")
        }
        try Self.check(input, field: field)
        // One entry per organisation and one lead. (Partners adding the same
        // organisation offline at once still can: `check` warns of the duplicate.)
        let existing = try content().participants
        if let organisation = input.organisation, existing.contains(where: { $0.organisation == organisation }) {
            throw ProposalError(.duplicateParticipant, field: field,
                                "\(organisation.name) is a participant already; `spor participant edit` changes its entry", danish: "\(organisation.name) er allerede deltager; `spor participant edit` ændrer oplysningerne")
        }
        if input.role == .lead, let lead = existing.first(where: { $0.role == .lead }) {
            throw ProposalError(.duplicateParticipant, field: "\(field).\(Key.role)",
                                "\(lead.organisation?.name ?? "another participant") is the lead partner already; a proposal has one", danish: "\(lead.organisation?.name ?? "en anden deltager") er allerede tovholder; et forslag har én")
        }
        return try change { proposal throws(ProposalError) in
            let (item, map) = try proposal.appendItem(to: ProposalSchema.participants, key: field)
            try proposal.write(input, to: map, field: "\(field)[\(item)]")
            return item
        }
    }

    /// Changes the fields of participant `id` that `input` gives.
    public mutating func updateParticipant(_ id: ListItemID, _ input: ParticipantInput) throws(ProposalError) {
        let field = "\(Key.participants)[\(id)]"
        try requireEditableContent(field: field)
        try Self.check(input, field: field)
        if input.role == .lead, let lead = try content().participants.first(where: { $0.role == .lead && $0.id != id }) {
            throw ProposalError(.duplicateParticipant, field: "\(field).\(Key.role)",
                                "\(lead.organisation?.name ?? "another participant") is the lead partner already; a proposal has one", danish: "\(lead.organisation?.name ?? "en anden deltager") er allerede tovholder; et forslag har én")
        }
        let map = try itemMap(id, in: ProposalSchema.participants, name: Key.participants)
        try change { proposal throws(ProposalError) in try proposal.write(input, to: map, field: field) }
    }

    public mutating func removeParticipant(_ id: ListItemID) throws(ProposalError) {
        try removeItem(id, from: ProposalSchema.participants, name: Key.participants)
    }

    private static func check(_ input: ParticipantInput, field: String) throws(ProposalError) {
        if let cash = input.cofinancingCash { _ = try Kroner.check(cash, field: "\(field).\(Key.cofinancingCash)") }
        if let hours = input.cofinancingHours {
            guard hours >= 0, hours <= 10_000_000 else {
                throw ProposalError(hours < 0 ? .negativeAmount : .invalidValue, field: "\(field).\(Key.cofinancingHours)",
                                    "hours must be between 0 and 10.000.000 (got \(hours))")
            }
        }
        if let name = input.contactName { _ = try checkText(name, field: "\(field).\(Key.contactName)", limit: 200) }
        if let email = input.contactEmail {
            _ = try checkText(email, field: "\(field).\(Key.contactEmail)", limit: 254)
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            guard email.isEmpty || (parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
                                    && !email.contains(where: \.isWhitespace)) else {
                throw ProposalError(.invalidValue, field: "\(field).\(Key.contactEmail)", "\(String(reflecting: email)) is not an e-mail address", danish: "\(String(reflecting: email)) er ikke en e-mailadresse")
            }
        }
    }

    private mutating func write(_ input: ParticipantInput, to map: ContainerID, field: String) throws(ProposalError) {
        if let organisation = input.organisation {
            try write(.string(organisation.storedName), forKey: Key.organisation, in: map, field: "\(field).\(Key.organisation)")
            try write(.string(organisation.storedKind), forKey: Key.kind, in: map, field: "\(field).\(Key.kind)")
        }
        if let role = input.role { try write(.string(role.rawValue), forKey: Key.role, in: map, field: "\(field).\(Key.role)") }
        if let name = input.contactName { try write(.string(name), forKey: Key.contactName, in: map, field: "\(field).\(Key.contactName)") }
        if let email = input.contactEmail { try write(.string(email), forKey: Key.contactEmail, in: map, field: "\(field).\(Key.contactEmail)") }
        if let cash = input.cofinancingCash { try write(.int(cash), forKey: Key.cofinancingCash, in: map, field: "\(field).\(Key.cofinancingCash)") }
        if let hours = input.cofinancingHours { try write(.int(hours), forKey: Key.cofinancingHours, in: map, field: "\(field).\(Key.cofinancingHours)") }
    }

    // MARK: - Budget lines

    /// Adds a budget line; `item`, `amount` and `source` are required.
    @discardableResult
    public mutating func addBudgetLine(_ input: BudgetLineInput) throws(ProposalError) -> ListItemID {
        let field = Key.budget
        try requireEditableContent(field: field)
        guard let item = input.item, !item.trimmingWhitespace().isEmpty else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.item)", "a budget line needs a description", danish: "en budgetlinje skal have en beskrivelse")
        }
        guard input.amount != nil else { throw ProposalError(.invalidAmount, field: "\(field).\(Key.amount)", "a budget line needs an amount", danish: "en budgetlinje skal have et beløb") }
        guard input.source != nil else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.source)", "a budget line needs a funding source (klimaalliancen, own, other)", danish: "en budgetlinje skal have en finansieringskilde (klimaalliancen, own, other)")
        }
        try Self.check(input, field: field)
        return try change { proposal throws(ProposalError) in
            let (line, map) = try proposal.appendItem(to: ProposalSchema.budget, key: field)
            try proposal.write(input, to: map, field: "\(field)[\(line)]")
            return line
        }
    }

    public mutating func updateBudgetLine(_ id: ListItemID, _ input: BudgetLineInput) throws(ProposalError) {
        let field = "\(Key.budget)[\(id)]"
        try requireEditableContent(field: field)
        try Self.check(input, field: field)
        let map = try itemMap(id, in: ProposalSchema.budget, name: Key.budget)
        try change { proposal throws(ProposalError) in try proposal.write(input, to: map, field: field) }
    }

    public mutating func removeBudgetLine(_ id: ListItemID) throws(ProposalError) {
        try removeItem(id, from: ProposalSchema.budget, name: Key.budget)
    }

    /// Budget years run while the partnership does.
    public static let budgetYears = 2024...2030

    private static func check(_ input: BudgetLineInput, field: String) throws(ProposalError) {
        if let item = input.item { _ = try checkText(item, field: "\(field).\(Key.item)", limit: 500) }
        if let amount = input.amount { _ = try Kroner.check(amount, field: "\(field).\(Key.amount)") }
        if let year = input.year, !budgetYears.contains(year) {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.year)",
                                "\(year) is outside the partnership's years \(budgetYears.lowerBound)–\(budgetYears.upperBound)",
                                danish: "\(year) ligger uden for partnerskabets år \(budgetYears.lowerBound)–\(budgetYears.upperBound)")
        }
    }

    private mutating func write(_ input: BudgetLineInput, to map: ContainerID, field: String) throws(ProposalError) {
        if let item = input.item { try write(.string(item), forKey: Key.item, in: map, field: "\(field).\(Key.item)") }
        if let amount = input.amount { try write(.int(amount), forKey: Key.amount, in: map, field: "\(field).\(Key.amount)") }
        if let source = input.source { try write(.string(source.rawValue), forKey: Key.source, in: map, field: "\(field).\(Key.source)") }
        if let year = input.year { try write(.int(Int64(year)), forKey: Key.year, in: map, field: "\(field).\(Key.year)") }
    }

    // MARK: - Milestones

    @discardableResult
    public mutating func addMilestone(title: String, date: CalendarDate) throws(ProposalError) -> ListItemID {
        let field = Key.milestones
        try requireEditableContent(field: field)
        let title = try Self.checkText(title, field: "\(field).\(Key.title)", limit: 500)
        guard !title.trimmingWhitespace().isEmpty else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.title)", "a milestone needs a title", danish: "en milepæl skal have en titel")
        }
        return try change { proposal throws(ProposalError) in
            let (item, map) = try proposal.appendItem(to: ProposalSchema.milestones, key: field)
            try proposal.write(.string(title), forKey: Key.title, in: map, field: "\(field)[\(item)].\(Key.title)")
            try proposal.write(.string(date.description), forKey: Key.date, in: map, field: "\(field)[\(item)].\(Key.date)")
            return item
        }
    }

    public mutating func removeMilestone(_ id: ListItemID) throws(ProposalError) {
        try removeItem(id, from: ProposalSchema.milestones, name: Key.milestones)
    }

    // MARK: - Extra sections

    /// Adds a section beyond the standard ones, with a heading and a body text.
    @discardableResult
    public mutating func addExtraSection(heading: String, body: String = "") throws(ProposalError) -> ListItemID {
        let field = Key.extraSections
        try requireEditableContent(field: field)
        let heading = try Self.checkText(heading, field: "\(field).\(Key.heading)", limit: 200)
        guard !heading.trimmingWhitespace().isEmpty else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.heading)", "a section needs a heading", danish: "et afsnit skal have en overskrift")
        }
        return try change { proposal throws(ProposalError) in
            let (item, map) = try proposal.appendItem(to: ProposalSchema.extraSections, key: field)
            try proposal.write(.string(heading), forKey: Key.heading, in: map, field: "\(field)[\(item)].\(Key.heading)")
            try proposal.setExtraSectionBody(item, map: map, to: body)
            return item
        }
    }

    /// Makes extra section `id`'s body read `text` (as a diff, like ``setSection(_:to:)``).
    public mutating func setExtraSectionBody(_ id: ListItemID, to text: String) throws(ProposalError) {
        try requireEditableContent(field: "\(Key.extraSections)[\(id)]")
        let map = try itemMap(id, in: ProposalSchema.extraSections, name: Key.extraSections)
        try change { proposal throws(ProposalError) in try proposal.setExtraSectionBody(id, map: map, to: text) }
    }

    private mutating func setExtraSectionBody(_ id: ListItemID, map: ContainerID, to text: String) throws(ProposalError) {
        let field = "\(Key.extraSections)[\(id)].\(Key.body)"
        try ensureChild(.text, forKey: Key.body, in: map)
        try documentStep(field: field) { () throws(CRDTError) in try document.setText(text, in: try map.child(Key.body, .text)) }
    }

    public mutating func removeExtraSection(_ id: ListItemID) throws(ProposalError) {
        try removeItem(id, from: ProposalSchema.extraSections, name: Key.extraSections)
    }
}
