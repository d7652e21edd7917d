import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporDocuments
import SporProposal

/// Finds item `number` (1-based, as the list commands print it) or id ("751/ab@3").
func item<T>(_ text: String, in items: [T], id: (T) -> ListItemID, kind: String, listCommand: String) throws -> T {
    if let number = Int(text), number >= 1, number <= items.count { return items[number - 1] }
    if let match = items.first(where: { id($0).description == text }) { return match }
    let range = items.isEmpty ? Help.text("der er ingen", "there are none") : Help.text("numrene er 1-\(items.count)", "numbers are 1-\(items.count)")
    throw CommandFailure(message: Help.text("der er ingen \(kind) \(String(reflecting: text)); \(range)",
                                            "there is no \(kind) \(String(reflecting: text)); \(range)"),
                         hint: Help.text("`\(listCommand)` viser dem.", "`\(listCommand)` lists them."), name: "unknownItem", exitCode: 2)
}

/// Runs `act` on the item `text` names (see ``item(_:in:id:kind:listCommand:)``) of
/// the list `items` reads, as one durable change of proposal `id`; returns the item.
func changeItem<T>(_ context: Context, _ id: String, _ text: String, kind: String, listCommand: String,
                   items: @escaping (ProposalContent) -> [T], id itemID: @escaping (T) -> ListItemID,
                   _ act: (inout Proposal, T) throws -> Void) throws -> T {
    try context.workspace.change(id, now: context.now) { proposal in
        let found = try item(text, in: items(try proposal.content()), id: itemID, kind: kind, listCommand: listCommand)
        try act(&proposal, found)
        return found
    }
}

func enumValue<T: RawRepresentable & CaseIterable>(_ text: String, _ type: T.Type, name: String) throws -> T where T.RawValue == String {
    if let value = T(rawValue: text) { return value }
    throw CommandFailure.badInput(Help.text("der er ingen \(name) \(String(reflecting: text))", "there is no \(name) \(String(reflecting: text))"),
                                  hint: Help.text("Mulige: \(T.allCases.map(\.rawValue).joined(separator: ", ")).", "\(name.prefix(1).uppercased() + name.dropFirst())s: \(T.allCases.map(\.rawValue).joined(separator: ", "))."))
}

// MARK: - Budget

struct Budget: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "budget", abstract: Help.text("Budgetlinjer: tilføj, fjern, vis.", "Budget lines: add, remove, list."),
                                                    subcommands: [BudgetList.self, BudgetAdd.self, BudgetRemove.self])
}

struct BudgetList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: Help.text("Vis budgetlinjerne med totaler pr. finansieringskilde.", "List the budget lines with totals per source."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let budget = try context.workspace.proposal(id).content().budget
        var totals: [FundingSource: Int64] = [:]
        for line in budget { if let source = line.source, let amount = line.amount { totals[source, default: 0] += amount } }
        Output.emit(options, json: {
            BudgetJSON(id: id, lines: budget.enumerated().map { BudgetLineJSON(number: $0.offset + 1, $0.element) },
                       totals: Dictionary(uniqueKeysWithValues: totals.map { ($0.key.rawValue, $0.value) }))
        }, text: {
            let language = context.language
            guard !budget.isEmpty else {
                return language.text("Ingen budgetlinjer: `spor budget add \(id) --item TEKST --amount BELØB --source KILDE --year ÅR`.",
                                     "No budget lines: `spor budget add \(id) --item TEXT --amount KR --source SOURCE --year YEAR`.")
            }
            var lines = budget.enumerated().map { number, line in
                let source = line.source.map { language.text($0.danishName, $0.englishName) } ?? "?"
                return "\(number + 1). \(line.item): \(language.kroner(line.amount)) (\(source), \(line.year.map(String.init) ?? "?"))"
            }
            for source in FundingSource.allCases where totals[source] != nil {
                lines.append(language.text("I alt, \(source.danishName): ", "Total, \(source.englishName): ") + language.kroner(totals[source]))
            }
            return lines.joined(separator: "\n")
        })
    }
}

struct BudgetAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: Help.text("Tilføj en budgetlinje.", "Add a budget line."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("Hvad pengene går til.", "What the money is for."))) var item: String
    // Unconditional: "--amount -5" reaches Kroner.parse, which says why it is refused.
    @Option(parsing: .unconditional, help: ArgumentHelp(Help.text("Beløb i kr. (»1.250.000« virker).", "Amount in DKK (\"1.250.000\" works)."))) var amount: String
    @Option(help: ArgumentHelp(Help.text("klimaalliancen, own (egen) eller other (anden).", "klimaalliancen, own or other."))) var source: String
    @Option(help: ArgumentHelp(Help.text("Året (2024-2030).", "The year (2024-2030)."))) var year: Int
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let input = BudgetLineInput(item: item, amount: try Kroner.parse(amount, field: "budget.amount"),
                                    source: try enumValue(source, FundingSource.self, name: Help.text("kilde", "source")), year: year)
        let line = try context.workspace.change(id, now: context.now) { proposal in try proposal.addBudgetLine(input) }
        Output.emit(options, json: { ItemChangedJSON(id: id, key: "line", item: line.description) }, text: {
            context.language.text("Budgetlinjen »\(item)« er tilføjet.", "Added the budget line \"\(item)\".")
        })
    }
}

struct BudgetRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: Help.text("Fjern en budgetlinje (dens nummer fra `spor budget list`).", "Remove a budget line (its number from `spor budget list`)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Linjens nummer eller id.", "The line's number or id."))) var line: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let removed = try changeItem(context, id, line, kind: Help.text("budgetlinje", "budget line"), listCommand: "spor budget list \(id)",
                                     items: \.budget, id: \.id) { try $0.removeBudgetLine($1.id) }
        Output.emit(options, json: { ItemChangedJSON(id: id, key: "removed", item: removed.id.description) }, text: {
            context.language.text("Budgetlinjen »\(removed.item)« er fjernet.", "Removed the budget line \"\(removed.item)\".")
        })
    }
}

// MARK: - Participants

struct Participants: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "participant", abstract: Help.text("Deltagere: tilføj, ret, fjern, vis.", "Participants: add, edit, remove, list."),
                                                    subcommands: [ParticipantList.self, ParticipantAdd.self, ParticipantEdit.self, ParticipantRemove.self])
}

struct ParticipantList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: Help.text("Vis deltagerne.", "List the participants."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let participants = try context.workspace.proposal(id).content().participants
        Output.emit(options, json: {
            ParticipantsJSON(id: id, participants: participants.enumerated().map { ParticipantJSON(number: $0.offset + 1, $0.element) })
        }, text: {
            let language = context.language
            guard !participants.isEmpty else {
                return language.text("Ingen deltagere: `spor participant add \(id) --org KOMMUNE --role partner`.",
                                     "No participants: `spor participant add \(id) --org MUNICIPALITY --role partner`.")
            }
            return participants.enumerated().map { number, participant in
                let organisation = participant.organisation
                let kind = organisation.map { language.text($0.danishKind, $0.englishKind) } ?? "?"
                let role = participant.role.map { language.text($0.danishName, $0.englishName) } ?? language.text("ingen rolle", "no role")
                var line = "\(number + 1). \(organisation?.name ?? "?") (\(kind)) — \(role)"
                if !participant.contactName.isEmpty { line += language.text(", kontakt ", ", contact ") + participant.contactName }
                if participant.cofinancingCash > 0 {
                    line += language.text(", medfinansiering ", ", co-financing ") + language.kroner(participant.cofinancingCash)
                }
                if participant.cofinancingHours > 0 {
                    line += language.text(", \(participant.cofinancingHours) timer", ", \(participant.cofinancingHours) hours")
                }
                return line
            }.joined(separator: "\n")
        })
    }
}

struct ParticipantAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: Help.text("Tilføj en deltager.", "Add a participant."),
        discussion: Help.text("""
            --org tager en kommunes eller regions kode eller navn fra referencelisten; den bliver \
            også bedt om at blive medlem på serveren (tovholderen og sekretariatet må), så den ser \
            forslaget ved sin næste synkronisering, når den har en konto. \
            Andre partnere: --name NAVN --kind company|association|knowledgeInstitution|other, og \
            --member ID for at give deres serverkonto adgang.
            """, """
            --org takes a municipality's or region's code or name from the reference data; it is also \
            asked to become a member on the server (the lead and the secretariat may), so it sees the \
            proposal at its next sync once it has an account. \
            Other partners: --name NAME --kind company|association|knowledgeInstitution|other, and \
            --member ID to give their server account access.
            """))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("En kommune eller region: kode (»0751«) eller navn (»Aarhus«).", "A municipality or region: code (\"0751\") or name (\"Aarhus\")."))) var org: String?
    @Option(help: ArgumentHelp(Help.text("En anden organisations navn (med --kind).", "Another organisation's name (with --kind)."))) var name: String?
    @Option(help: ArgumentHelp(Help.text("company, association, knowledgeInstitution eller other (med --name).", "company, association, knowledgeInstitution or other (with --name)."))) var kind: String?
    @Option(help: ArgumentHelp(Help.text("lead (tovholder), partner eller observer.", "lead, partner or observer."))) var role: String
    @Option(help: ArgumentHelp(Help.text("Den serverkonto, der skal gøres til medlem (standard: --org-koden).", "The server account to make a member (default: the --org code)."))) var member: String?
    @OptionGroup var details: ParticipantDetails
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let organisation: ParticipantOrganisation
        switch (org, name) {
        case let (org?, nil):
            organisation = try ParticipantOrganisation(parsing: org, field: "participants.organisation")
        case let (nil, name?):
            guard let kind else { throw CommandFailure.badInput(Help.text("--name kræver --kind", "--name needs --kind"), hint: Help.text("Typer: \(ParticipantOrganisation.OtherKind.allCases.map(\.rawValue).joined(separator: ", ")).", "Kinds: \(ParticipantOrganisation.OtherKind.allCases.map(\.rawValue).joined(separator: ", ")).")) }
            organisation = try ParticipantOrganisation(parsing: name, kind: try enumValue(kind, ParticipantOrganisation.OtherKind.self, name: Help.text("type", "kind")),
                                                       field: "participants.organisation")
        default:
            throw CommandFailure.badInput(Help.text("giv enten --org KODE|NAVN eller --name NAVN --kind TYPE", "give either --org CODE|NAME or --name NAME --kind KIND"))
        }
        let role = try enumValue(role, ParticipantRole.self, name: Help.text("rolle", "role"))
        let hasServerLead = try context.workspace.proposal(id).content().members.contains { $0.role == .lead }
        if role == .lead, hasServerLead {
            throw CommandFailure.badInput(Help.text("forslaget har allerede en tovholder", "the proposal has a lead partner already"),
                                          hint: Help.text("Tilføj den som partner; `spor member role \(id) ORG lead` overdrager rollen som tovholder.", "Add it as partner; `spor member role \(id) ORG lead` hands the lead over."))
        }
        let input = try details.input(organisation: organisation, role: role)
        let added = try context.workspace.change(id, now: context.now) { proposal in try proposal.addParticipant(input) }
        var account = member
        if account == nil, case let .registered(registered) = organisation { account = registered.code }
        let identity = try context.workspace.identity()
        if let account, account != identity.organisation {
            try context.workspace.queueMember(.add(account, role == .observer ? .observer : .partner), of: id, now: context.now)
        }
        Output.emit(options, json: { ParticipantAddedJSON(id: id, participant: added.description, member: account) }, text: {
            context.language.text(
                "\(organisation.name) er tilføjet som \(input.role?.danishName.lowercased() ?? "deltager")"
                    + (account.map { " (\(displayName($0)) får adgang, når serveren godtager det ved næste `spor sync`: tovholderen og sekretariatet giver adgang)" } ?? "") + ".",
                "Added \(organisation.name) as \(input.role?.englishName.lowercased() ?? "participant")"
                    + (account.map { " (\(displayName($0)) gets access when the server accepts it at the next `spor sync`: the lead and the secretariat give access)" } ?? "") + ".")
        })
    }
}

/// The parts of a participant's entry `participant add` and `participant edit` take.
struct ParticipantDetails: ParsableArguments {
    @Option(help: ArgumentHelp(Help.text("Kontaktperson.", "Contact person."))) var contactName: String?
    @Option(help: ArgumentHelp(Help.text("Kontaktens e-mail.", "Contact e-mail."))) var contactEmail: String?
    // Unconditional: "--cash -5" reaches Kroner.parse, which says why it is refused.
    @Option(parsing: .unconditional, help: ArgumentHelp(Help.text("Medfinansiering i kontanter, kr.", "Co-financing in cash, DKK."))) var cash: String?
    @Option(help: ArgumentHelp(Help.text("Medfinansiering i timer.", "Co-financing in hours."))) var hours: Int64?

    var isEmpty: Bool { contactName == nil && contactEmail == nil && cash == nil && hours == nil }

    func input(organisation: ParticipantOrganisation?, role: ParticipantRole?) throws -> ParticipantInput {
        ParticipantInput(organisation: organisation, role: role, contactName: contactName, contactEmail: contactEmail,
                         cofinancingCash: try cash.map { text throws -> Int64 in try Kroner.parse(text, field: "participants.cofinancingCash") },
                         cofinancingHours: hours)
    }
}

struct ParticipantEdit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edit",
        abstract: Help.text("Ret en deltagers rolle, kontakt eller medfinansiering (dens nummer fra `spor participant list`).", "Change a participant's role, contact or co-financing (its number from `spor participant list`)."),
        discussion: Help.text("Kun de angivne tilvalg ændres. Rollen som tovholder overdrages med `spor member role ID ORG lead`.", "Only the options given change. The lead is handed over with `spor member role ID ORG lead`."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Deltagerens nummer eller id.", "The participant's number or id."))) var participant: String
    @Option(help: ArgumentHelp(Help.text("lead (tovholder), partner eller observer.", "lead, partner or observer."))) var role: String?
    @OptionGroup var details: ParticipantDetails
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        guard role != nil || !details.isEmpty else {
            throw CommandFailure.badInput(Help.text("intet at ændre", "nothing to change"), hint: Help.text("Giv --role, --contact-name, --contact-email, --cash eller --hours.", "Give --role, --contact-name, --contact-email, --cash or --hours."))
        }
        let input = try details.input(organisation: nil, role: try role.map { try enumValue($0, ParticipantRole.self, name: Help.text("rolle", "role")) })
        let changed = try changeItem(context, id, participant, kind: Help.text("deltager", "participant"), listCommand: "spor participant list \(id)",
                                     items: \.participants, id: \.id) { try $0.updateParticipant($1.id, input) }
        let name = changed.organisation?.name ?? "the participant"
        Output.emit(options, json: { ParticipantSavedJSON(id: id, participant: changed.id.description, saved: true) }, text: {
            context.language.text("Gemt: \(name).", "Saved \(name).")
        })
    }
}

struct ParticipantRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: Help.text("Fjern en deltager (dens nummer fra `spor participant list`).", "Remove a participant (its number from `spor participant list`)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Deltagerens nummer eller id.", "The participant's number or id."))) var participant: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let removed = try changeItem(context, id, participant, kind: Help.text("deltager", "participant"), listCommand: "spor participant list \(id)",
                                     items: \.participants, id: \.id) { try $0.removeParticipant($1.id) }
        Output.emit(options, json: { ItemChangedJSON(id: id, key: "removed", item: removed.id.description) }, text: {
            let name = removed.organisation?.name
            return context.language.text("\(name ?? "Deltageren") er fjernet.", "Removed \(name ?? "the participant").")
        })
    }
}

// MARK: - Comments

struct Comments: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "comment", abstract: Help.text("Kommentarer til afsnit: tilføj, svar, vis, løs.", "Comments on sections: add, reply, list, resolve."),
                                                    subcommands: [CommentList.self, CommentAdd.self, CommentReply.self, CommentResolve.self])
}

struct CommentList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: Help.text("Vis åbne kommentarer (--all: også løste).", "List open comments (--all: resolved too)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Flag(help: ArgumentHelp(Help.text("Medtag løste kommentarer.", "Include resolved comments."))) var all = false
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let comments = try context.workspace.proposal(id).content().comments.enumerated().filter { all || !$0.element.resolved }
        Output.emit(options, json: { CommentsJSON(id: id, comments: comments.map { CommentJSON(number: $0.offset + 1, $0.element) }) }, text: {
            let language = context.language
            guard !comments.isEmpty else {
                return all ? language.text("Ingen kommentarer.", "No comments.") : language.text("Ingen åbne kommentarer.", "No open comments.")
            }
            return comments.map { number, comment in
                let section = comment.section.map { language.title(of: $0) } ?? "?"
                let resolved = comment.resolved ? language.text(" (løst)", " (resolved)") : ""
                // Authors by name: comments carry the organisation's id ("0461").
                var lines = ["\(number + 1). [\(section)] \(displayName(comment.author))\(resolved): \(comment.text)",
                             language.text("   om: »\(comment.quote)«", "   on: \"\(comment.quote)\"")]
                for reply in comment.replies { lines.append("   ↳ \(displayName(reply.author)): \(reply.text)") }
                return lines.joined(separator: "\n")
            }.joined(separator: "\n")
        })
    }
}

struct CommentAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: Help.text("Kommentér et afsnit eller et citeret stykke af det.", "Comment on a section, or on a quoted passage of it."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Afsnittet.", "The section."))) var section: String
    @Option(help: ArgumentHelp(Help.text("Kommentaren.", "The comment."))) var text: String
    @Option(help: ArgumentHelp(Help.text("Det kommenterede stykke (dets første forekomst); standard: hele afsnittet.", "The passage commented on (its first occurrence); default: the whole section."))) var quote: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let section = try context.section(section)
        let (quote, text, now) = (quote, text, context.now)
        let comment = try context.workspace.change(id, now: now) { proposal in
            let sectionText = proposal.document.text(ProposalSchema.text(of: section))
            let scalars = Array(sectionText.unicodeScalars)
            var range = 0..<scalars.count
            if let quote {
                let needle = Array(quote.unicodeScalars)
                guard !needle.isEmpty, let start = (0...max(0, scalars.count - needle.count)).first(where: { start in
                    start + needle.count <= scalars.count && Array(scalars[start..<start + needle.count]) == needle
                }) else {
                    throw CommandFailure.badInput(Help.text("\(section.danishKey) indeholder ikke \(String(reflecting: quote))", "\(section.key) does not contain \(String(reflecting: quote))"))
                }
                range = start..<start + needle.count
            }
            return try proposal.addComment(on: section, range: range, text: text, at: now)
        }
        Output.emit(options, json: { ItemChangedJSON(id: id, key: "comment", item: comment.description) }, text: {
            context.language.text("Kommentaren er tilføjet til \(context.language.title(of: section)).",
                                  "Added a comment to \(context.language.title(of: section)).")
        })
    }
}

struct CommentReply: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reply", abstract: Help.text("Svar på en kommentar.", "Reply to a comment."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Kommentarens nummer eller id.", "The comment's number or id."))) var comment: String
    @Option(help: ArgumentHelp(Help.text("Svaret.", "The reply."))) var text: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let (text, now) = (text, context.now)
        _ = try changeItem(context, id, comment, kind: Help.text("kommentar", "comment"), listCommand: "spor comment list \(id) --all",
                           items: \.comments, id: \.id) { _ = try $0.reply(to: $1.id, text: text, at: now) }
        Output.emit(options, json: { ItemChangedJSON(id: id, key: "replied", item: comment) }, text: { context.language.text("Svaret.", "Replied.") })
    }
}

struct CommentResolve: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resolve", abstract: Help.text("Markér en kommentar som løst (--reopen: åbn igen).", "Mark a comment resolved (--reopen: open again)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Kommentarens nummer eller id.", "The comment's number or id."))) var comment: String
    @Flag(help: ArgumentHelp(Help.text("Åbn kommentaren igen.", "Open the comment again."))) var reopen = false
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let resolved = !reopen
        _ = try changeItem(context, id, comment, kind: Help.text("kommentar", "comment"), listCommand: "spor comment list \(id) --all",
                           items: \.comments, id: \.id) { try $0.setResolved($1.id, resolved) }
        Output.emit(options, json: { CommentResolvedJSON(id: id, comment: comment, resolved: resolved) }, text: {
            resolved ? context.language.text("Kommentaren er løst.", "Resolved.") : context.language.text("Kommentaren er åbnet igen.", "Reopened.")
        })
    }
}

// MARK: - Milestones

struct Milestones: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "milestone", abstract: Help.text("Tidsplanens milepæle: tilføj, fjern, vis.", "The timeline's milestones: add, remove, list."),
                                                    subcommands: [MilestoneList.self, MilestoneAdd.self, MilestoneRemove.self])
}

struct MilestoneList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: Help.text("Vis milepælene.", "List the milestones."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let milestones = try context.workspace.proposal(id).content().milestones
        Output.emit(options, json: {
            MilestonesJSON(id: id, milestones: milestones.enumerated().map {
                MilestonesJSON.Milestone(number: $0.offset + 1, id: $0.element.id.description, title: $0.element.title, date: $0.element.date?.description)
            })
        }, text: {
            guard !milestones.isEmpty else {
                return context.language.text("Ingen milepæle: `spor milestone add \(id) --title TEKST --date ÅÅÅÅ-MM-DD`.",
                                             "No milestones: `spor milestone add \(id) --title TEXT --date YYYY-MM-DD`.")
            }
            return milestones.enumerated().map { index, milestone in
                let date = milestone.date.map { context.language == .danish ? Wording.danishShort($0) : Wording.englishShort($0) } ?? "?"
                return "\(index + 1). \(date)  \(milestone.title)"
            }
                .joined(separator: "\n")
        })
    }
}

struct MilestoneAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: Help.text("Tilføj en milepæl.", "Add a milestone."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("Hvad der er nået.", "What is reached."))) var title: String
    @Option(help: ArgumentHelp(Help.text("Hvornår, ÅÅÅÅ-MM-DD.", "When, YYYY-MM-DD."))) var date: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let day = try CalendarDate(parsing: date, field: "milestones.date")
        let title = title
        let added = try context.workspace.change(id, now: context.now) { proposal in try proposal.addMilestone(title: title, date: day) }
        Output.emit(options, json: { ItemChangedJSON(id: id, key: "milestone", item: added.description) }, text: {
            context.language.text("Milepælen \(day) »\(title)« er tilføjet.", "Added the milestone \(day) \"\(title)\".")
        })
    }
}

struct MilestoneRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: Help.text("Fjern en milepæl (dens nummer fra `spor milestone list`).", "Remove a milestone (its number from `spor milestone list`)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Milepælens nummer eller id.", "The milestone's number or id."))) var milestone: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let removed = try changeItem(context, id, milestone, kind: Help.text("milepæl", "milestone"), listCommand: "spor milestone list \(id)",
                                     items: \.milestones, id: \.id) { try $0.removeMilestone($1.id) }
        Output.emit(options, json: { ItemChangedJSON(id: id, key: "removed", item: removed.id.description) }, text: {
            context.language.text("Milepælen »\(removed.title)« er fjernet.", "Removed the milestone \"\(removed.title)\".")
        })
    }
}
