import Foundation
import SporCRDT
import Testing
import SporDocuments
import SporProposal

/// The proposal example in README.md, as written there.
@Suite("README proposal example")
struct ReadmeProposalExampleTests {
    @Test("the README's proposal example runs and finds what its comments say")
    func example() throws {
        let now = try CopenhagenTime.instant(of: LocalDateTime(parsing: "2024-09-02T10:00", field: "now"))
        var proposal = try Proposal.create(agent: try AgentID("0751/laptop"),
                                           actor: Actor(organisation: "0751", role: .member),
                                           title: "Skybrudssikring med grønne tage", roundID: "2024-autumn")
        try proposal.setSection(.developmentElement, to: "Vi tester tre typer tage med sensorer i to år.")
        try proposal.set("amountRequested", to: "1.000.000")
        let findings = ProposalRules.validate(try proposal.content(), at: now)
        let html = try proposal.content().html(ExportOptions(language: .danish, now: now))

        var copy = proposal
        #expect((#expect(throws: ProposalError.self) { try copy.set("amountRequested", to: "mange penge") })?.code == .invalidAmount)
        #expect(findings.contains { $0.code == "tooFewPublicParticipants" })
        #expect(findings.contains { $0.code == "budgetMismatch" })
        #expect(findings.allSatisfy { !$0.field.isEmpty && !$0.danish.isEmpty && !$0.english.isEmpty })
        #expect((#expect(throws: ProposalError.self) { try copy.submit(.qualification, at: now) })?.code == .validationFailed)
        #expect(html.contains("<h1>Skybrudssikring med grønne tage</h1>"))
    }
}
