import Foundation
import SporCRDT
import Testing
@testable import SporProposal

@Suite("Editing a proposal")
struct ProposalEditingTests {
    @Test("a new proposal has its title, round and its creator as lead partner")
    func create() throws {
        let proposal = try Proposal.create(agent: try AgentID("0751/1"), actor: Actors.aarhus, title: "Grønne tage", roundID: "2024-autumn")
        let content = try proposal.content()
        #expect(content.title == "Grønne tage")
        #expect(content.roundID == "2024-autumn")
        #expect(content.participants.count == 1)
        #expect(content.participants[0].organisation == .registered(try #require(Organisation.withCode("0751"))))
        #expect(content.participants[0].role == .lead)
        #expect(content.members.isEmpty, "members are written by the server only")
        #expect(content.lead == "0751", "until the server records members, the listed lead")
        #expect(content.conflicts.isEmpty && content.unreadable.isEmpty)
    }

    @Test("fields set by name from text, as the command line does; bad input is a typed error naming the field and changes nothing")
    func setByName() throws {
        var proposal = try completeProposal()
        try proposal.set("amountRequested", to: "1.250.000")
        #expect(try proposal.content().amountRequested == 1_250_000)
        try proposal.set("risks", to: "Ingen kendte.")
        #expect(try proposal.content().text(.risks) == "Ingen kendte.")
        try proposal.set("round", to: "2024-spring")
        #expect(try proposal.content().roundID == "2024-spring")

        let before = proposal.document.encoded()
        let cases: [(String, String, ProposalError.Code, String)] = [
            ("budgetTotal", "5", .unknownField, "budgetTotal"),
            ("amountRequested", "mange penge", .invalidAmount, "amountRequested"),
            ("amountRequested", "-100", .negativeAmount, "amountRequested"),
            ("round", "2019-spring", .unknownRound, "round"),
        ]
        for (field, text, code, named) in cases {
            let error = #expect(throws: ProposalError.self) { try proposal.set(field, to: text) }
            #expect(error?.code == code, "\(field) = \(text)")
            #expect(error?.field == named)
        }
        #expect(proposal.document.encoded() == before)
    }

    @Test("participants, budget lines and milestones refuse bad values, naming the field, and keep the proposal as it was")
    func badItemInput() throws {
        let proposal = try completeProposal()
        let before = proposal.document.encoded()
        let lead = try proposal.content().participants[0].id
        let line = try proposal.content().budget[0].id
        let attempts: [(String, ProposalError.Code, String, (inout Proposal) throws -> Void)] = [
            ("negative co-financing", .negativeAmount, "participants[\(lead)].cofinancingCash",
             { try $0.updateParticipant(lead, ParticipantInput(cofinancingCash: -1)) }),
            ("negative hours", .negativeAmount, "participants[\(lead)].cofinancingHours",
             { try $0.updateParticipant(lead, ParticipantInput(cofinancingHours: -3)) }),
            ("bad e-mail", .invalidValue, "participants[\(lead)].contactEmail",
             { try $0.updateParticipant(lead, ParticipantInput(contactEmail: "anne at aarhus")) }),
            ("no role", .invalidValue, "participants.role",
             { try $0.addParticipant(ParticipantInput(organisation: .registered(#require(Organisation.withCode("0101"))))) }),
            ("negative line", .negativeAmount, "budget[\(line)].amount",
             { try $0.updateBudgetLine(line, BudgetLineInput(amount: -5)) }),
            ("year outside", .invalidValue, "budget.year",
             { try $0.addBudgetLine(BudgetLineInput(item: "x", amount: 1, source: .own, year: 2040)) }),
            ("no source", .invalidValue, "budget.source", { try $0.addBudgetLine(BudgetLineInput(item: "x", amount: 1)) }),
            ("huge amount", .invalidAmount, "amountRequested", { try $0.setAmountRequested(Kroner.maximum + 1) }),
            ("unknown participant", .unknownItem, "participants[nobody@1]",
             { try $0.updateParticipant(ListItemID(EventID(agent: AgentID("nobody"), seq: 1)), ParticipantInput(role: .partner)) }),
            ("control character", .invalidValue, "budget[\(line)].item",
             { try $0.updateBudgetLine(line, BudgetLineInput(item: "a\u{7}b")) }),
            ("empty milestone", .invalidValue, "milestones.title",
             { try $0.addMilestone(title: " ", date: CalendarDate(year: 2025, month: 1, day: 1)) }),
            ("comment outside the text", .invalidValue, "comments.range",
             { try $0.addComment(on: .risks, range: 0..<10_000, text: "?", at: Date(timeIntervalSince1970: 0)) }),
        ]
        for (name, code, field, attempt) in attempts {
            var copy = proposal
            let error = #expect(throws: ProposalError.self, "\(name)") { try attempt(&copy) }
            #expect(error?.code == code, "\(name): \(String(describing: error))")
            #expect(error?.field == field, "\(name)")
            #expect(copy.document.encoded() == before, "\(name) changed the proposal")
        }
    }

    @Test("only members edit content; the secretariat's records are refused to members; DGOs comment")
    func roles() throws {
        let proposal = try completeProposal()
        var dgo = try replica(of: proposal, agent: "kl-midt/1", actor: Actors.dgo)
        let refused = #expect(throws: ProposalError.self) { try dgo.setSection(.risks, to: "Mange.") }
        #expect(refused?.code == .notPermitted)
        let comment = try dgo.addComment(on: .challenge, range: 0..<7, text: "Hvor mange kældre?", at: copenhagen("2024-09-02T10:00"))
        #expect(try dgo.content().comments.map(\.id) == [comment])

        var member = proposal
        let decision = #expect(throws: ProposalError.self) {
            try member.recordDecision(.approved, note: "", at: copenhagen("2024-11-21T12:00"))
        }
        #expect(decision?.code == .notPermitted)
        #expect(decision?.field == "secretariat.decision")

        var secretariat = try replica(of: proposal, agent: "sekretariatet/1", actor: Actors.secretariat)
        #expect(throws: ProposalError.self) { try secretariat.setAmountRequested(5) }
        // The schema marks what only the server writes.
        #expect(ProposalSchema.isServerOnly(ProposalSchema.secretariat))
        #expect(ProposalSchema.isServerOnly(ProposalSchema.members))
        #expect(!ProposalSchema.isServerOnly(ProposalSchema.participants))
        #expect(!ProposalSchema.isServerOnly(ProposalSchema.text(of: .risks)))
        #expect(ProposalSchema.isServerOnly(try ProposalSchema.submissions.child(ListItemID(EventID(agent: AgentID("a"), seq: 0)), .map)))
    }

    @Test("concurrent different values are a conflict with both authors until rewritten; concurrent additions are all kept")
    func concurrentEdits() throws {
        let base = try completeProposal()
        var aarhus = base
        var odense = try replica(of: base, agent: "0461/1", actor: Actors.odense)
        try aarhus.setAmountRequested(1_100_000)
        try odense.setAmountRequested(900_000)
        try aarhus.addBudgetLine(BudgetLineInput(item: "Workshops", amount: 50_000, source: .klimaalliancen, year: 2026))
        try odense.addBudgetLine(BudgetLineInput(item: "Rejser", amount: 20_000, source: .own, year: 2026))
        try sync(&aarhus, from: odense)
        try sync(&odense, from: aarhus)

        let content = try aarhus.content()
        #expect(content == (try odense.content()))
        #expect(content.budget.map(\.item).filter { ["Workshops", "Rejser"].contains($0) }.count == 2)
        let conflict = try #require(content.conflicts.first { $0.field == "amountRequested" })
        #expect(Set(conflict.candidates.map(\.value)) == ["1100000", "900000"])
        #expect(Set(conflict.candidates.map(\.author.name)) == ["0751/1", "0461/1"])
        #expect(ProposalRules.validate(content, at: try copenhagen("2024-09-01T12:00")).contains { $0.code == "fieldConflict" })

        try odense.setAmountRequested(1_050_000)
        try sync(&aarhus, from: odense)
        #expect(try aarhus.content().conflicts.isEmpty)
        #expect(try aarhus.content().amountRequested == 1_050_000)
    }

    @Test("values of the wrong type written by another implementation are reported, never dropped")
    func unreadableValues() throws {
        var proposal = try completeProposal()
        var document = proposal.document
        try document.set(.string("en million"), forKey: "amountRequested", in: ProposalSchema.proposal)
        let line = try proposal.content().budget[0].id
        try document.set(.int(-7), forKey: "amount", in: ProposalSchema.budget.child(line, .map))
        try document.insert(.string("not a participant"), at: 0, in: ProposalSchema.participants)
        proposal = Proposal(document: document, actor: Actors.aarhus)

        let content = try proposal.content()
        #expect(content.amountRequested == nil)
        let fields = Set(content.unreadable.map(\.field))
        #expect(fields.contains("amountRequested"))
        #expect(fields.contains("budget[\(line)].amount"))
        #expect(content.unreadable.contains { $0.field.hasPrefix("participants[") && $0.stored == "\"not a participant\"" })
        let findings = ProposalRules.validate(content, at: try copenhagen("2024-09-01T12:00"))
        #expect(findings.filter { $0.code == "unreadableValue" }.count == 3)
    }

    @Test("a section saved from an editor keeps a partner's concurrent typing; comments follow their text")
    func sectionsMergeAndCommentsFollow() throws {
        let base = try completeProposal()
        var aarhus = base
        var odense = try replica(of: base, agent: "0461/1", actor: Actors.odense)
        let original = try base.content().text(.challenge)  // "Skybrud oversvømmer kældre i tætte byområder."
        let comment = try odense.addComment(on: .challenge, range: 20..<26, text: "Også i Odense?", at: copenhagen("2024-09-02T10:00"))
        try odense.setSection(.challenge, to: "Store skybrud" + original.dropFirst("Skybrud".count))
        try aarhus.setSection(.challenge, to: original.replacingOccurrences(of: "byområder.", with: "byområder og langs åer."))
        try sync(&aarhus, from: odense)
        try sync(&odense, from: aarhus)
        let merged = try aarhus.content().text(.challenge)
        #expect(merged == "Store skybrud oversvømmer kældre i tætte byområder og langs åer.")
        #expect(merged == (try odense.content().text(.challenge)))

        let stored = try #require(try aarhus.content().comments.first { $0.id == comment })
        #expect(stored.quote == "kældre")
        let range = try #require(try aarhus.currentRange(of: stored))
        #expect(String(merged.unicodeScalars.dropFirst(range.lowerBound).prefix(range.count)) == "kældre")

        try aarhus.reply(to: comment, text: "Ja, også Odense.", at: copenhagen("2024-09-03T08:00"))
        try aarhus.setResolved(comment, true)
        let resolved = try #require(try aarhus.content().comments.first { $0.id == comment })
        #expect(resolved.resolved)
        #expect(resolved.replies.map(\.text) == ["Ja, også Odense."])
        #expect(resolved.replies.first?.author == "0751")
    }

    @Test("removing an item while a partner edits it removes it on every replica")
    func removalWins() throws {
        let base = try completeProposal()
        var aarhus = base
        var odense = try replica(of: base, agent: "0461/1", actor: Actors.odense)
        let line = try base.content().budget[0].id
        try aarhus.removeBudgetLine(line)
        try odense.updateBudgetLine(line, BudgetLineInput(amount: 650_000))
        try sync(&aarhus, from: odense)
        try sync(&odense, from: aarhus)
        #expect(try !aarhus.content().budget.contains { $0.id == line })
        #expect(try aarhus.content() == odense.content())
    }
}
