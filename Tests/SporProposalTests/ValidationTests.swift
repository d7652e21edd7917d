import Foundation
import SporCRDT
import Testing
@testable import SporProposal

@Suite("Rules of the call")
struct ValidationTests {
    /// Before the autumn qualification deadline (2024-10-07 09:00), more than 7 days ahead.
    static let early = Date(timeIntervalSince1970: 1_725_000_000)  // 2024-08-30 08:40 CEST

    static func codes(_ proposal: Proposal, at now: Date = early, attempting step: Step? = nil) throws -> [String] {
        ProposalRules.validate(try proposal.content(), at: now, attempting: step).map(\.code)
    }

    @Test("a complete proposal has no findings")
    func complete() throws {
        let findings = ProposalRules.validate(try completeProposal().content(), at: Self.early)
        #expect(findings == [])
    }

    /// Each rule: one change to the complete proposal, and the finding it must cause.
    static let breaks: [(String, String, Finding.Severity, String, @Sendable (inout Proposal) throws -> Void)] = [
        ("two partners only", "tooFewPublicParticipants", .error, "participants", { proposal in
            let region = try proposal.content().participants.first { $0.organisation?.storedName == "1082" }
            try proposal.removeParticipant(try #require(region).id)
        }),
        ("a partner becomes observer", "tooFewPublicParticipants", .error, "participants", { proposal in
            let region = try proposal.content().participants.first { $0.organisation?.storedName == "1082" }
            try proposal.updateParticipant(try #require(region).id, ParticipantInput(role: .observer))
        }),
        ("no lead", "noLeadPartner", .error, "participants", { proposal in
            try proposal.updateParticipant(try proposal.content().participants[0].id, ParticipantInput(role: .partner))
        }),
        ("two leads", "severalLeadPartners", .error, "participants", { proposal in
            // A local edit refuses a second lead; two partners handing the lead to two
            // different participants offline still make two.
            let participants = try proposal.content().participants
            try ValidationTests.concurrently(&proposal, { first in
                try first.updateParticipant(participants[0].id, ParticipantInput(role: .partner))
                try first.updateParticipant(participants[1].id, ParticipantInput(role: .lead))
            }, { second in
                try second.updateParticipant(participants[0].id, ParticipantInput(role: .partner))
                try second.updateParticipant(participants[2].id, ParticipantInput(role: .lead))
            })
        }),
        ("no development element", "developmentElementMissing", .error, "developmentElement", { try $0.setSection(.developmentElement, to: " \n ") }),
        ("not linked to a climate plan", "challengeNotLinkedToClimatePlan", .error, "climatePlanLink", { try $0.setSection(.climatePlanLink, to: "") }),
        ("no knowledge sharing", "knowledgeSharingMissing", .error, "knowledgeSharing", { try $0.setSection(.knowledgeSharing, to: "") }),
        ("known solution not argued", "notKnownSolutionMissing", .error, "notKnownSolution", { try $0.setSection(.notKnownSolution, to: "") }),
        ("no title", "titleMissing", .error, "title", { try $0.setSection(.title, to: "") }),
        ("no summary", "summaryMissing", .error, "summary", { try $0.setSection(.summary, to: "") }),
        ("no challenge", "challengeMissing", .error, "challenge", { try $0.setSection(.challenge, to: "") }),
        ("co-financing not addressed", "cofinancingNotAddressed", .error, "cofinancing", { proposal in
            for participant in try proposal.content().participants {
                try proposal.updateParticipant(participant.id, ParticipantInput(cofinancingCash: 0, cofinancingHours: 0))
            }
            for line in try proposal.content().budget where line.source == .own { try proposal.removeBudgetLine(line.id) }
        }),
        ("budget does not add up", "budgetMismatch", .error, "budget", { try $0.setAmountRequested(1_200_000) }),
        ("an own line does not count towards the request", "budgetMismatch", .error, "budget", { proposal in
            let line = try proposal.content().budget[0]
            try proposal.updateBudgetLine(line.id, BudgetLineInput(source: .own))
        }),
        ("no milestones", "noMilestones", .warning, "milestones", { proposal in
            for milestone in try proposal.content().milestones { try proposal.removeMilestone(milestone.id) }
        }),
        ("a milestone after the partnership", "milestoneOutsidePartnership", .warning, "milestones", { proposal in
            try proposal.addMilestone(title: "Opfølgning", date: CalendarDate(year: 2029, month: 1, day: 1))
        }),
        ("an optional section empty", "sectionEmpty", .warning, "risks", { try $0.setSection(.risks, to: "") }),
        ("the same partner twice", "duplicateParticipant", .warning, "participants", { proposal in
            // Refused locally; two partners adding Vejle offline at once still make two.
            let vejle = ParticipantInput(organisation: .registered(try #require(Organisation.withCode("0630"))), role: .partner)
            try ValidationTests.concurrently(&proposal, { _ = try $0.addParticipant(vejle) }, { _ = try $0.addParticipant(vejle) })
        }),
        ("an open comment", "openComments", .warning, "comments", { proposal in
            try proposal.addComment(on: .risks, range: 0..<3, text: "Uddyb.", at: ValidationTests.early)
        }),
    ]

    /// `proposal` after two partners made `first` and `second` on it without seeing each
    /// other, merged: states a local edit refuses but concurrent edits can reach.
    static func concurrently(_ proposal: inout Proposal, _ first: (inout Proposal) throws -> Void,
                             _ second: (inout Proposal) throws -> Void) throws {
        var other = Proposal(document: Document(agent: try AgentID("0461/2")), actor: Actors.odense)
        try other.document.merge(encodedChanges: try proposal.document.encodedChanges())
        let shared = proposal.document.versionVector
        try first(&proposal)
        try second(&other)
        try proposal.document.merge(encodedChanges: try other.document.encodedChanges(since: shared))
    }

    @Test("each rule finds exactly its own problem, with the field and a message in both languages",
          arguments: breaks.indices)
    func eachRule(index: Int) throws {
        let (name, code, severity, field, breakIt) = Self.breaks[index]
        var proposal = try completeProposal()
        try breakIt(&proposal)
        let findings = ProposalRules.validate(try proposal.content(), at: Self.early)
        let matching = findings.filter { $0.code == code }
        #expect(!matching.isEmpty, "\(name): \(findings)")
        #expect(matching.allSatisfy { $0.severity == severity && $0.field.hasPrefix(field) }, "\(name)")
        #expect(matching.allSatisfy { !$0.danish.isEmpty && !$0.english.isEmpty && $0.danish != $0.english }, "\(name)")
        #expect(Set(findings.map(\.code)) == [code], "\(name) caused other findings: \(findings)")
    }

    @Test("the budget message gives both sums")
    func budgetMessage() throws {
        var proposal = try completeProposal()
        try proposal.setAmountRequested(1_250_000)
        let finding = try #require(ProposalRules.validate(try proposal.content(), at: Self.early).first)
        #expect(finding.danish.contains("1.000.000 kr.") && finding.danish.contains("1.250.000 kr."))
        // One format in the editor, both languages: the way amounts are typed.
        #expect(finding.english.contains("1.000.000 kr.") && finding.english.contains("1.250.000 kr."))
    }

    @Test("deadlines: a warning within 7 days, an error from the deadline itself, for the step the status leads to")
    func deadlines() throws {
        let proposal = try completeProposal()
        // Autumn qualification deadline: Monday 7 October 2024 09:00 CEST.
        #expect(try Self.codes(proposal, at: copenhagen("2024-09-30T08:59")) == [])
        #expect(try Self.codes(proposal, at: copenhagen("2024-09-30T09:00")) == ["deadlineSoon"])
        #expect(try Self.codes(proposal, at: copenhagen("2024-10-07T08:59")) == ["deadlineSoon"])
        #expect(try Self.codes(proposal, at: copenhagen("2024-10-07T09:00")) == ["deadlinePassed"])
        // The approval step has its own, later deadline.
        #expect(try Self.codes(proposal, at: copenhagen("2024-10-07T09:00"), attempting: .approval) == [])
        #expect(try Self.codes(proposal, at: copenhagen("2024-10-17T09:00"), attempting: .approval) == ["deadlineSoon"])
        #expect(try Self.codes(proposal, at: copenhagen("2024-10-24T09:00"), attempting: .approval) == ["deadlinePassed"])
        let finding = try #require(ProposalRules.validate(try proposal.content(), at: copenhagen("2024-10-08T12:00")).first)
        #expect(finding.danish.contains("mandag 7. oktober 2024 kl. 09:00"))
        #expect(finding.english.contains("Monday 7 October 2024, 09:00"))
    }

    @Test("a proposal without a round, or for a round the calendar does not know")
    func rounds() throws {
        var proposal = try completeProposal()
        var document = proposal.document
        try document.set(.string("1999-spring"), forKey: "round", in: ProposalSchema.proposal)
        proposal = Proposal(document: document, actor: Actors.aarhus)
        #expect(try Self.codes(proposal) == ["roundUnknown"])
        try document.set(.null, forKey: "round", in: ProposalSchema.proposal)
        proposal = Proposal(document: document, actor: Actors.aarhus)
        #expect(try Self.codes(proposal) == ["roundMissing"])
    }
}
