import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporDocuments
import SporProposal
import SporWire

// The commands whose effect the server decides: process steps (submit, withdraw, the
// secretariat's qualification and decision) and who is on a proposal. Each is queued
// in the outbox; process steps are then sent at once when the server can be reached,
// because the server judges them by its own clock when they arrive.

/// Sends the outbox now, to have a queued process step judged. Returns the report, or
/// nil (with the reason) when the server could not be reached or another `spor sync`
/// holds the workspace — the step then waits in the outbox.
func sendNow(_ context: Context) async -> (report: SyncReport?, problem: String?) {
    guard (try? context.workspace.serverSettings()) != nil else { return (nil, "this workspace has no server (`spor setup`)") }
    let lock: SyncLock
    do {
        lock = try SyncLock(workspace: context.workspace)
    } catch {
        return (nil, "another `spor sync` is running; it sends the request")
    }
    defer { withExtendedLifetime(lock) {} }
    do {
        return (try await SyncEngine(workspace: context.workspace, clientName: SporRelease.name(of: "spor")).sync(), nil)
    } catch let error as SyncError {
        return (nil, error.message)
    } catch {
        return (nil, "\(error)")
    }
}

/// Queues `request` for `id`, sends it unless `queueOnly`, and reports what the
/// server did. Throws exit 1 when the server refused it, exit 3 when it could not be
/// asked (the request stays queued).
func takeStep(_ request: StepRequest, of id: String, context: Context, queueOnly: Bool, options: GlobalOptions,
              deadline: Date?, describe: (SyncReport.RecordedStep) -> String) async throws {
    try context.workspace.queueStep(request, of: id, now: context.now)
    let say = context.language.text
    let waiting = say("Det gælder først, når serveren har registreret det: serveren bedømmer det, når det når frem, efter sit eget ur"
                          + (deadline.map { " (fristen er \(Output.local($0)) dansk tid)" } ?? "") + ". Kør `spor sync`, når du er online.",
                      "It counts only when the server has recorded it: the server judges it when it arrives, by its own clock"
                          + (deadline.map { " (the deadline is \(Output.local($0)) Copenhagen time)" } ?? "") + ". Run `spor sync` when you are online.")
    if queueOnly {
        Output.emit(options, json: { StepJSON(id: id, queued: request.kind.rawValue) }, text: { say("Sat i kø til serveren. ", "Queued for the server. ") + waiting })
        return
    }
    let (report, problem) = await sendNow(context)
    guard let report else {
        Output.emit(options, json: { StepJSON(id: id, queued: request.kind.rawValue, problem: problem ?? "") }, text: {
            say("Ikke sendt: \(problem ?? "serveren kunne ikke nås"). Anmodningen venter i udbakken. \(waiting)",
                "Not sent: \(problem ?? "the server could not be reached"). The request waits in the outbox. \(waiting)")
        })
        throw CommandFailure(message: Help.text("anmodningen blev ikke sendt; den venter i udbakken", "the request was not sent; it waits in the outbox"), name: "notSent", exitCode: 3)
    }
    if let recorded = report.recordedSteps.last(where: { $0.document == id && $0.kind == request.kind }) {
        Output.emit(options, json: {
            StepJSON(id: id, recorded: request.kind.rawValue, at: SporJSON.iso(recorded.at),
                     submission: recorded.contentHash.isEmpty ? nil
                         : StepJSON.Submission(step: request.kind.rawValue, contentHash: recorded.contentHash, submittedAt: SporJSON.iso(recorded.at)))
        }, text: { describe(recorded) })
        return
    }
    let refusal = report.refusals.last { $0.document == id }?.message ?? say("serveren tog ikke trinnet", "the server did not take the step")
    Output.emit(options, json: { StepJSON(id: id, refused: request.kind.rawValue, message: refusal) }, text: { say("Afvist: ", "Refused: ") + refusal })
    throw CommandFailure(message: Help.text("serveren afviste trinnet; intet blev registreret", "the server refused the step; nothing was recorded"), name: "stepRefused", exitCode: 1)
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit",
        abstract: Help.text("Aflevér forslaget, som det er nu (tovholderen, før fristen).", "Submit the proposal as it is now (the lead partner, before the deadline)."),
        discussion: Help.text("""
            Serveren afleverer: den tjekker, at du er tovholder, fristen efter sit eget ur og \
            opslagets regler på den version, du har nu, og registrerer så versionen og dens \
            indholdshash. spor tjekker først det samme her og siger, hvad der ville blive afvist, \
            og sender så anmodningen med det samme. Offline (eller med --queue-only) venter \
            anmodningen i udbakken og bedømmes, når den når serveren: efter fristen afvises den.
            """, """
            The server submits: it checks that you lead the proposal, the deadline by its own \
            clock and the call's rules on the version you have now, then records the version \
            and its content hash. spor first checks the same here and says what would be \
            refused, then sends the request at once. Offline (or with --queue-only) the request \
            waits in the outbox and is judged when it reaches the server: after the deadline it \
            is refused.
            """))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("qualification (kvalificering) eller approval (godkendelse) (standard: den næste).", "qualification or approval (default: the next one)."))) var step: String?
    @Flag(help: ArgumentHelp(Help.text("Sæt kun anmodningen i kø; `spor sync` sender den.", "Only queue the request; `spor sync` sends it."))) var queueOnly = false
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let proposal = try context.workspace.proposal(id)
        let content = try proposal.content()
        let chosen = try step.map(parseStep) ?? nextStep(of: content)
        let (round, _) = try proposal.checkSubmission(chosen, at: context.now, calendar: context.calendar)
        var version: [String: Int] = [:]
        for agent in proposal.document.versionVector.agents { version[agent.name] = proposal.document.versionVector[agent] }
        let request = StepRequest(kind: chosen == .qualification ? .submitForQualification : .submitForApproval, version: version)
        try await takeStep(request, of: id, context: context, queueOnly: queueOnly, options: options,
                           deadline: try? round.deadlineInstant(for: chosen)) { recorded in
            context.language.text(
                "Afleverede \(id) til \(chosen.danishName) (\(round.danishName)) \(Output.local(recorded.at)), "
                    + "som serveren har registreret det; indholdshash \(recorded.contentHash.prefix(16))…",
                "Submitted \(id) for \(chosen.englishName.lowercased()) (\(round.englishName)) at \(Output.local(recorded.at)), "
                    + "as recorded by the server; content hash \(recorded.contentHash.prefix(16))…")
        }
    }
}

struct Withdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "withdraw",
        abstract: Help.text("Træk forslaget tilbage (tovholderen; endeligt).", "Withdraw the proposal (the lead partner; final)."),
        discussion: Help.text("Serveren registrerer tilbagetrækningen med sit eget tidspunkt. Offline venter anmodningen i udbakken.", "The server records the withdrawal with its own time. Offline, the request waits in the outbox."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Flag(help: ArgumentHelp(Help.text("Sæt kun anmodningen i kø; `spor sync` sender den.", "Only queue the request; `spor sync` sends it."))) var queueOnly = false
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        var check = try context.workspace.proposal(id)
        try check.withdraw(at: context.now)   // the same checks as the server's, on a copy
        try await takeStep(StepRequest(kind: .withdraw), of: id, context: context, queueOnly: queueOnly, options: options,
                           deadline: nil) { recorded in
            context.language.text("Trak \(id) tilbage \(Output.local(recorded.at)), som serveren har registreret det.",
                                  "Withdrew \(id) at \(Output.local(recorded.at)), as recorded by the server.")
        }
    }
}

struct Decide: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decide",
        abstract: Help.text("Registrér sekretariatets kvalificering eller forretningsudvalgets afgørelse (kun sekretariatet).", "Record the secretariat's qualification or the committee's decision (secretariat only)."),
        discussion: Help.text("spor decide ID qualified|needsChanges|rejected --note TEKST  (kvalificering)\nspor decide ID approved|rejected --decision --note TEKST [--granted BELØB]\nServeren registrerer det med sit eget tidspunkt.", "spor decide ID qualified|needsChanges|rejected --note TEXT  (qualification)\nspor decide ID approved|rejected --decision --note TEXT [--granted AMOUNT]\nThe server records it, with its own time."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Resultatet eller afgørelsen.", "The result or outcome."))) var result: String
    @Flag(help: ArgumentHelp(Help.text("Registrér forretningsudvalgets afgørelse i stedet for kvalificeringen.", "Record the committee's decision instead of the qualification."))) var decision = false
    @Option(help: ArgumentHelp(Help.text("Bemærkningen, der skal registreres.", "The note to record."))) var note = ""
    @Option(parsing: .unconditional, help: ArgumentHelp(Help.text("Det bevilgede beløb (godkendelser).", "The amount granted (approvals)."))) var granted: String?
    @Flag(help: ArgumentHelp(Help.text("Bevilg mere end det ansøgte beløb.", "Grant more than the amount requested."))) var yes = false
    @Flag(help: ArgumentHelp(Help.text("Sæt kun anmodningen i kø; `spor sync` sender den.", "Only queue the request; `spor sync` sends it."))) var queueOnly = false
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        var check = try context.workspace.proposal(id)
        let request: StepRequest
        if decision {
            guard let outcome = Decision.Outcome(rawValue: result) else {
                throw CommandFailure.badInput(Help.text("ukendt afgørelse \(String(reflecting: result))", "unknown outcome \(String(reflecting: result))"), hint: Help.text("Afgørelser: \(Decision.Outcome.allCases.map(\.rawValue).joined(separator: ", ")).", "Outcomes: \(Decision.Outcome.allCases.map(\.rawValue).joined(separator: ", "))."))
            }
            let amount = try granted.map { text throws -> Int64 in try Kroner.parse(text, field: "grantedAmount") }
            // A grant above what was asked for is most often a typo (an extra zero).
            if let amount, let requested = try check.content().amountRequested, amount > requested, !yes {
                throw CommandFailure.badInput(Help.text("at bevilge \(Output.kroner(amount)) er mere end de ansøgte \(Output.kroner(requested))", "granting \(Output.kroner(amount)) is more than the \(Output.kroner(requested)) requested"),
                                              hint: Help.text("Tjek beløbet; tilføj --yes for at bevilge det alligevel.", "Check the amount; add --yes to grant it all the same."))
            }
            try check.recordDecision(outcome, note: note, grantedAmount: amount, at: context.now)
            request = StepRequest(kind: .recordDecision, outcome: outcome.rawValue, note: note, grantedAmount: amount)
        } else {
            guard let qualification = Qualification.Result(rawValue: result) else {
                throw CommandFailure.badInput(Help.text("ukendt resultat \(String(reflecting: result))", "unknown result \(String(reflecting: result))"), hint: Help.text("Resultater: \(Qualification.Result.allCases.map(\.rawValue).joined(separator: ", ")); tilføj --decision for forretningsudvalgets afgørelse.", "Results: \(Qualification.Result.allCases.map(\.rawValue).joined(separator: ", ")); add --decision for the committee's decision."))
            }
            try check.recordQualification(qualification, note: note, at: context.now)
            request = StepRequest(kind: .recordQualification, outcome: qualification.rawValue, note: note)
        }
        try await takeStep(request, of: id, context: context, queueOnly: queueOnly, options: options, deadline: nil) { recorded in
            context.language.text("Registrerede \(result) for \(id) \(Output.local(recorded.at)), som serveren har registreret det.",
                                  "Recorded \(result) for \(id) at \(Output.local(recorded.at)), as recorded by the server.")
        }
    }
}

// MARK: - Members

struct Members: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "member",
        abstract: Help.text("Hvem der har adgang til et forslag på serveren, og deres roller: vis, tilføj, fjern, rolle.", "Who has access to a proposal on the server, and their roles: list, add, remove, role."),
        discussion: Help.text("""
            Roller: lead (tovholder, én; afleverer), partner (skriver forslaget), observer (læser og \
            kommenterer — fx et DGO eller en rådgiver). Tovholderen og sekretariatet ændrer \
            medlemmer; serveren afgør. Ændringer sendes ved næste `spor sync`.
            """, """
            Roles: lead (one; submits), partner (writes the proposal), observer (reads and \
            comments — a DGO or an advisor). The lead and the secretariat change members; the \
            server decides. Changes are sent at the next `spor sync`.
            """),
        subcommands: [MemberList.self, MemberAdd.self, MemberRemove.self, MemberRole.self])
}

/// An organisation as typed: a municipality's or region's code or name, else a
/// server id as the secretariat gave it.
func organisationID(_ text: String) throws -> String {
    if let organisation = Organisation.lookup(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return organisation.code }
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, trimmed.utf8.count <= 64,
          trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), !trimmed.hasPrefix(".") else {
        throw CommandFailure.badInput(Help.text("\(String(reflecting: text)) er hverken en dansk kommune eller region eller et organisations-id", "\(String(reflecting: text)) is neither a Danish municipality or region nor an organisation id"),
                                      hint: Help.text("Giv en kode (»0751«), et navn (»Aarhus«) eller det id, sekretariatet har givet organisationen.", "Give a code (\"0751\"), a name (\"Aarhus\") or the id the secretariat gave the organisation."))
    }
    return trimmed
}

/// Refuses, before queueing, what the server would refuse for this workspace's
/// organisation (as far as the local copy knows its role).
func checkMembershipChange(_ change: MembershipChange, _ context: Context, _ content: ProposalContent) throws {
    let identity = try context.workspace.identity()
    var roles: [String: ParticipantRole] = [:]
    for member in content.members { roles[member.organisation] = member.role }
    guard !roles.isEmpty else { return }  // not on the server yet: the server decides
    let standing: ProposalPolicy.Standing = identity.isSecretariat ? .secretariat
        : roles[identity.organisation].map { .member($0) } ?? .outsider
    do {
        _ = try change.apply(to: roles, by: standing)
    } catch {
        throw CommandFailure(message: error.message, hint: "`spor member list ID` shows the members and roles.",
                             name: "notPermitted", exitCode: 1)
    }
}

struct MemberList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: Help.text("Vis medlemmerne og deres roller.", "List the members and their roles."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let content = try context.workspace.proposal(id).content()
        let waiting = try context.workspace.outbox().filter { $0.document == id }.compactMap { entry -> MembershipChange? in
            if case let .member(request) = entry.kind { return request }
            return nil
        }
        let ended = try context.workspace.proposals().first { $0.id == id }?.accessEndedAt
        Output.emit(options, json: {
            MembersJSON(id: id, members: content.members.map(MemberJSON.init), waiting: waiting.map(MembershipChange.describe),
                        accessEndedAt: SporJSON.iso(ended))
        }, text: {
            var lines: [String] = []
            let say = context.language.text
            if let ended {
                lines.append(say("Forslaget deles ikke længere med din organisation (siden \(Output.local(ended))); dette er din lokale kopi.",
                                 "This proposal is no longer shared with your organisation (since \(Output.local(ended))); this is your local copy."))
            }
            if content.members.isEmpty {
                lines.append(say("Ingen medlemmer registreret endnu: serveren registrerer dem, når forslaget oprettes der (`spor sync`).",
                                 "No members recorded yet: the server records them when the proposal is created there (`spor sync`)."))
            }
            for member in content.members {
                let role = context.language == .danish ? member.role.danishName : member.role.englishName
                lines.append("\(displayName(member.organisation)) (\(member.organisation)) — \(role)")
            }
            for request in waiting {
                lines.append(context.language.text("venter på synkronisering: ", "waiting to sync: ")
                             + MembershipChange.describe(request, in: context.language))
            }
            return lines.joined(separator: "\n")
        })
    }
}

struct MemberAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: Help.text("Giv en organisation adgang (tovholderen eller sekretariatet).", "Give an organisation access (the lead or the secretariat)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Organisationen: kode, navn eller dens id på serveren.", "The organisation: code, name, or its id on the server."))) var organisation: String
    @Option(help: ArgumentHelp(Help.text("partner eller observer.", "partner or observer."))) var role = "partner"
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let organisation = try organisationID(organisation)
        let role = try enumValue(role, ParticipantRole.self, name: "role")
        guard role != .lead else {
            throw CommandFailure.badInput(Help.text("et forslag har én tovholder", "a proposal has one lead"), hint: Help.text("Tilføj organisationen som partner; så overdrager `spor member role \(id) \(organisation) lead` rollen som tovholder.", "Add the organisation as partner, then `spor member role \(id) \(organisation) lead` hands the lead over."))
        }
        try checkMembershipChange(.add(organisation, role), context, try context.workspace.proposal(id).content())
        try context.workspace.queueMember(.add(organisation, role), of: id, now: context.now)
        Output.emit(options, json: { MembershipQueuedJSON(id: id, queued: MembershipChange.describe(.add(organisation, role))) }, text: {
            Help.text("\(displayName(organisation)) får adgang som \(role.danishName.lowercased()), når serveren godtager det ved næste `spor sync`.",
                      "\(displayName(organisation)) gets access as \(role.englishName.lowercased()) when the server accepts it at the next `spor sync`.")
        })
    }
}

struct MemberRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: Help.text("Fjern en organisations adgang (tovholderen eller sekretariatet).", "End an organisation's access (the lead or the secretariat)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Organisationen: kode, navn eller dens id på serveren.", "The organisation: code, name, or its id on the server."))) var organisation: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let organisation = try organisationID(organisation)
        try checkMembershipChange(.remove(organisation), context, try context.workspace.proposal(id).content())
        try context.workspace.queueMember(.remove(organisation), of: id, now: context.now)
        Output.emit(options, json: { MembershipQueuedJSON(id: id, queued: MembershipChange.describe(.remove(organisation))) }, text: {
            Help.text("\(displayName(organisation)) mister adgangen, når serveren godtager det ved næste `spor sync`.",
                      "\(displayName(organisation)) loses access when the server accepts it at the next `spor sync`.")
        })
    }
}

struct MemberRole: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "role",
        abstract: Help.text("Skift et medlems rolle; `lead` overdrager rollen som tovholder (du bliver partner).", "Change a member's role; `lead` hands the lead over (you become a partner)."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Organisationen: kode, navn eller dens id på serveren.", "The organisation: code, name, or its id on the server."))) var organisation: String
    @Argument(help: ArgumentHelp(Help.text("lead (tovholder), partner eller observer.", "lead, partner or observer."))) var role: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let organisation = try organisationID(organisation)
        let role = try enumValue(role, ParticipantRole.self, name: "role")
        try checkMembershipChange(.setRole(organisation, role), context, try context.workspace.proposal(id).content())
        try context.workspace.queueMember(.setRole(organisation, role), of: id, now: context.now)
        Output.emit(options, json: { MembershipQueuedJSON(id: id, queued: MembershipChange.describe(.setRole(organisation, role))) }, text: {
            Help.text("\(displayName(organisation)) bliver \(role.danishName.lowercased()), når serveren godtager det ved næste `spor sync`.",
                      "\(displayName(organisation)) becomes \(role.englishName.lowercased()) when the server accepts it at the next `spor sync`.")
        })
    }
}

extension MembershipChange {
    static func describe(_ request: MembershipChange) -> String {
        switch request {
        case let .add(organisation, role): "add \(organisation) as \(role.rawValue)"
        case let .remove(organisation): "remove \(organisation)"
        case let .setRole(organisation, role): "make \(organisation) \(role.rawValue)"
        }
    }

    /// For people, in `language` (the JSON keeps ``describe(_:)``'s stable words).
    static func describe(_ request: MembershipChange, in language: Language) -> String {
        guard language == .danish else { return describe(request) }
        return switch request {
        case let .add(organisation, role): "tilføj \(displayName(organisation)) som \(role.danishName.lowercased())"
        case let .remove(organisation): "fjern \(displayName(organisation))"
        case let .setRole(organisation, role): "gør \(displayName(organisation)) til \(role.danishName.lowercased())"
        }
    }
}
