import Foundation
import SporCRDT
import Testing
@testable import SporProposal

@Suite("Process: submissions, deadlines, decisions")
struct ProcessTests {
    @Test("the autumn round from draft to approval, with the status derived at each point")
    func fullProcess() throws {
        var aarhus = try completeProposal()
        #expect(try aarhus.status(at: copenhagen("2024-09-01T12:00")) == .draft)

        let qualification = try aarhus.submit(.qualification, at: copenhagen("2024-10-07T08:59"))
        #expect(qualification.step == .qualification && qualification.roundID == "2024-autumn" && qualification.by == "0751")
        #expect(try aarhus.status(at: copenhagen("2024-10-07T10:00")) == .submittedForQualification)

        var secretariat = try replica(of: aarhus, agent: "sekretariatet/1", actor: Actors.secretariat)
        try secretariat.recordQualification(.qualified, note: "Fint.", at: copenhagen("2024-10-14T12:00"))
        try sync(&aarhus, from: secretariat)
        #expect(try aarhus.content().qualification?.result == .qualified)

        try aarhus.setSection(.risks, to: "Forsinket levering af sensorer; vejrforhold.")
        try aarhus.submit(.approval, at: copenhagen("2024-10-23T16:00"))
        #expect(try aarhus.status(at: copenhagen("2024-11-20T23:59")) == .inApprovalProcess)
        // The committee meets on Thursday 21 November (CET): treated from the start of that day.
        #expect(try aarhus.status(at: copenhagen("2024-11-21T00:00")) == .treatedByCommittee)

        try sync(&secretariat, from: aarhus)
        try secretariat.recordDecision(.approved, note: "Bevilget.", grantedAmount: 1_000_000, at: copenhagen("2024-11-21T15:00"))
        try sync(&aarhus, from: secretariat)
        #expect(try aarhus.status(at: copenhagen("2024-11-22T09:00")) == .approved)
        #expect(try aarhus.content().decision?.grantedAmount == 1_000_000)

        // Closed: no more content edits, submissions or withdrawal.
        let edit = #expect(throws: ProposalError.self) { try aarhus.setSection(.risks, to: "Ændret bagefter.") }
        #expect(edit?.code == .stepNotAllowed)
        #expect(throws: ProposalError.self) { try aarhus.withdraw(at: copenhagen("2024-11-22T09:00")) }
    }

    @Test("submitting at or after the deadline is refused, and nothing is recorded")
    func afterDeadline() throws {
        var proposal = try completeProposal()
        let before = proposal.document.encoded()
        let error = #expect(throws: ProposalError.self) { try proposal.submit(.qualification, at: copenhagen("2024-10-07T09:00")) }
        #expect(error?.code == .deadlinePassed)
        #expect(error?.message.contains("Monday 7 October 2024, 09:00") == true)
        #expect(proposal.document.encoded() == before)
    }

    @Test("submission order and rules: approval needs qualification first, rule breaches list their findings, only the lead submits")
    func refusals() throws {
        var proposal = try completeProposal()
        let early = try copenhagen("2024-09-01T12:00")
        let outOfOrder = #expect(throws: ProposalError.self) { try proposal.submit(.approval, at: early) }
        #expect(outOfOrder?.code == .stepNotAllowed)

        try proposal.setSection(.developmentElement, to: "")
        let invalid = #expect(throws: ProposalError.self) { try proposal.submit(.qualification, at: early) }
        #expect(invalid?.code == .validationFailed)
        #expect(invalid?.findings.map(\.code) == ["developmentElementMissing"])
        #expect(try proposal.content().submissions.isEmpty)

        var odense = try replica(of: try completeProposal(), agent: "0461/1", actor: Actors.odense)
        let notLead = #expect(throws: ProposalError.self) { try odense.submit(.qualification, at: early) }
        #expect(notLead?.code == .notPermitted)
    }

    @Test("the submitted version reads back exactly, and its hash verifies, however the proposal changes afterwards")
    func submittedVersionReadsBack() throws {
        var aarhus = try completeProposal()
        let submitted = try aarhus.content()
        let submission = try aarhus.submit(.qualification, at: copenhagen("2024-10-01T12:00"))
        #expect(submission.contentHash == submitted.contentHash)

        // Later edits by the lead and a partner, merged.
        var odense = try replica(of: aarhus, agent: "0461/1", actor: Actors.odense)
        try odense.setSection(.challenge, to: "Noget helt andet.")
        try odense.addBudgetLine(BudgetLineInput(item: "Ekstra", amount: 10, source: .other, year: 2026))
        try aarhus.setAmountRequested(2)
        try sync(&aarhus, from: odense)

        let readBack = try aarhus.submittedContent(submission)
        #expect(readBack.text(.challenge) == submitted.text(.challenge))
        #expect(readBack.budget == submitted.budget)
        #expect(readBack.amountRequested == 1_000_000)
        #expect(readBack.contentHash == submission.contentHash)
        #expect(try aarhus.verify(submission))
        #expect(try aarhus.content().contentHash != submission.contentHash)

        // The record itself survives a round trip through the file format.
        let reopened = Proposal(document: try Document(decoding: aarhus.document.encoded()), actor: Actors.aarhus)
        #expect(try reopened.content().submissions == [submission])
        #expect(try reopened.verify(submission))
    }

    @Test("a withdrawn proposal is closed to submissions and edits")
    func withdrawal() throws {
        var proposal = try completeProposal()
        try proposal.withdraw(at: copenhagen("2024-09-15T12:00"))
        #expect(try proposal.status(at: copenhagen("2024-09-16T12:00")) == .withdrawn)
        #expect(try proposal.content().withdrawal?.by == "0751")
        let submit = #expect(throws: ProposalError.self) { try proposal.submit(.qualification, at: copenhagen("2024-09-16T12:00")) }
        #expect(submit?.code == .stepNotAllowed)
        #expect(throws: ProposalError.self) { try proposal.setSection(.risks, to: "x") }
    }

    @Test("the content hash is the SHA-256 of the documented canonical form")
    func contentHashFormat() throws {
        // An empty document: every field empty, built by hand from the documented form.
        let content = try Proposal(document: Document(), actor: Actors.aarhus).content()
        var bytes: [UInt8] = []
        func field(_ text: String) {
            let utf8 = Array(text.utf8)
            bytes += [0x01, 0, 0, UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)] + utf8
        }
        field("spor-proposal-v1")
        for section in Section.allCases { field(section.key); field("") }
        field("")
        field("")
        // The layout is checked here; SHA-256 itself against the FIPS 180-2 "abc" vector.
        #expect(content.contentHash == sha256Hex(bytes))
        #expect(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite("Who changed what")
struct SectionHistoryTests {
    @Test("what Region Midtjylland changed since the submission, and who wrote each character")
    func changesSinceSubmission() throws {
        var aarhus = try completeProposal()
        let submission = try aarhus.submit(.qualification, at: copenhagen("2024-10-01T12:00"))
        var region = try replica(of: aarhus, agent: "1082/pc", actor: Actors.midtjylland)
        // "Skybrud oversvømmer kældre i tætte byområder." → the region rewrites the end.
        try region.setSection(.challenge, to: "Skybrud oversvømmer kældre og veje.")
        try sync(&aarhus, from: region)

        let changes = try aarhus.changes(in: .challenge, from: submission.version)
        #expect(changes.filter { $0.kind != .unchanged }.allSatisfy { $0.organisation == "1082" })
        #expect(changes.filter { $0.kind == .inserted }.map(\.text).joined() == "og veje")
        #expect(changes.filter { $0.kind == .deleted }.map(\.text).joined() == "i tætte byområder")
        // Reassembling the redline gives both versions.
        #expect(changes.filter { $0.kind != .deleted }.map(\.text).joined() == "Skybrud oversvømmer kældre og veje.")
        #expect(changes.filter { $0.kind != .inserted }.map(\.text).joined() == "Skybrud oversvømmer kældre i tætte byområder.")

        let authorship = try aarhus.attribution(of: .challenge)
        #expect(authorship.map(\.text).joined() == "Skybrud oversvømmer kældre og veje.")
        #expect(authorship.contains { $0.organisation == "0751" && $0.text.hasPrefix("Skybrud") })
        #expect(authorship.contains { $0.organisation == "1082" && $0.text.contains("og veje") })
        #expect(Set(authorship.map(\.organisation)) == ["0751", "1082"])
        // The submitted version was all Aarhus'.
        #expect(try aarhus.attribution(of: .challenge, at: submission.version).map(\.organisation) == ["0751"])
    }
}
