import Crypto
import Foundation
import SporCRDT
import Testing
@testable import SporProposal

/// Instants written as Copenhagen wall-clock times, checked against UTC by hand in
/// ``RoundTests``.
func copenhagen(_ text: String) throws -> Date {
    try CopenhagenTime.instant(of: LocalDateTime(parsing: text, field: "test"))
}

/// Fixed actors: Aarhus (lead), Odense and Region Midtjylland (partners), a DGO and
/// the secretariat.
enum Actors {
    static let aarhus = Actor(organisation: "0751", role: .member)
    static let odense = Actor(organisation: "0461", role: .member)
    static let midtjylland = Actor(organisation: "1082", role: .member)
    static let dgo = Actor(organisation: "kl-midt", role: .dgo)
    static let secretariat = Actor(organisation: "sekretariatet", role: .secretariat)
}

/// A proposal that meets every rule of the autumn 2024 round, made by Aarhus.
func completeProposal(agent: String = "0751/1") throws -> Proposal {
    var proposal = try Proposal.create(agent: try AgentID(agent), actor: Actors.aarhus,
                                       title: "Skybrudssikring med grønne tage", roundID: "2024-autumn")
    try proposal.setSection(.summary, to: "Tre kommuner og en region tester grønne tage som skybrudssikring.")
    try proposal.setSection(.challenge, to: "Skybrud oversvømmer kældre i tætte byområder.")
    try proposal.setSection(.climatePlanLink, to: "Indsatsen står i Aarhus' og Odenses klimahandlingsplaner (tilpasning, spor 2).")
    try proposal.setSection(.developmentElement, to: "Vi tester tre typer tage med sensorer i to år.")
    try proposal.setSection(.notKnownSolution, to: "Effekten på skybrud i dansk klima er ikke dokumenteret.")
    try proposal.setSection(.activities, to: "Etablering, måling, evaluering.")
    try proposal.setSection(.organisation, to: "Aarhus er tovholder; styregruppe med alle parter.")
    try proposal.setSection(.expectedResults, to: "En vejledning og et datasæt.")
    try proposal.setSection(.climateEffect, to: "Mindre afstrømning ved skybrud.")
    try proposal.setSection(.knowledgeSharing, to: "Webinarer for alle kommuner og regioner; åbne data.")
    try proposal.setSection(.anchoring, to: "Resultaterne indgår i kommunernes spildevandsplaner.")
    try proposal.setSection(.risks, to: "Forsinket levering af sensorer.")
    let lead = try #require(proposal.content().participants.first?.id)
    try proposal.updateParticipant(lead, ParticipantInput(contactName: "Anne Holm", contactEmail: "anne@aarhus.dk",
                                                          cofinancingCash: 200_000, cofinancingHours: 400))
    try proposal.addParticipant(ParticipantInput(organisation: .registered(#require(Organisation.withCode("0461"))),
                                                 role: .partner, contactName: "Bo Lind", cofinancingHours: 300))
    try proposal.addParticipant(ParticipantInput(organisation: .registered(#require(Organisation.withCode("1082"))),
                                                 role: .partner, cofinancingCash: 100_000))
    try proposal.addParticipant(ParticipantInput(organisation: .other(name: "Grøn Tag ApS", kind: .company), role: .observer))
    try proposal.addBudgetLine(BudgetLineInput(item: "Sensorer", amount: 600_000, source: .klimaalliancen, year: 2025))
    try proposal.addBudgetLine(BudgetLineInput(item: "Projektledelse", amount: 400_000, source: .klimaalliancen, year: 2025))
    try proposal.addBudgetLine(BudgetLineInput(item: "Medarbejdertimer", amount: 300_000, source: .own, year: 2025))
    try proposal.setAmountRequested(1_000_000)
    try proposal.addMilestone(title: "Tage etableret", date: CalendarDate(year: 2025, month: 6, day: 1))
    try proposal.addMilestone(title: "Slutrapport", date: CalendarDate(year: 2026, month: 12, day: 1))
    return proposal
}

/// The same document, edited as another actor (another organisation's replica).
func replica(of proposal: Proposal, agent: String, actor: Actor) throws -> Proposal {
    var document = Document(agent: try AgentID(agent))
    try document.merge(encodedChanges: proposal.document.encodedChanges())
    return Proposal(document: document, actor: actor)
}

/// Brings `target` up to date with `source`.
func sync(_ target: inout Proposal, from source: Proposal) throws {
    var document = target.document
    try document.merge(encodedChanges: source.document.encodedChanges(since: document.versionVector))
    target = Proposal(document: document, actor: target.actor)
}

/// SHA-256 in lowercase hex.
func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
