import Foundation
import SporCRDT
import SporTestSupport
import Testing
@testable import SporProposal

/// Saves and named versions in the document: what each replica reads back, and which
/// writes of them the server lets through.
@Suite("Saves and named versions")
struct SaveHistoryTests {
    static func at(_ seconds: Int) -> Date { Date(timeIntervalSince1970: TimeInterval(1_725_000_000 + seconds)) }

    /// Makes `body` one save of `proposal`, recorded as the workspace does.
    static func save(_ proposal: inout Proposal, at time: Date, _ body: (inout Proposal) throws -> Void) throws {
        let agent = try #require(proposal.document.agent)
        let first = proposal.document.versionVector[agent]
        try body(&proposal)
        try proposal.recordSave(from: first, at: time)
    }

    @Test("consecutive saves of one agent are told apart by their recorded times; partners read the same saves; saves without a time have none")
    func savesSplitAndMerge() throws {
        var aarhus = try completeProposal()              // made without save times, like data from before them
        try Self.save(&aarhus, at: Self.at(60)) { try $0.setSection(.risks, to: "Første udgave.") }
        try Self.save(&aarhus, at: Self.at(120)) { try $0.setAmountRequested(1_200_000) }
        // A change without a recorded time right after (an older client's): not part of the save before it.
        try aarhus.setSection(.summary, to: "Uden tid.")
        var odense = try replica(of: aarhus, agent: "0461/1", actor: Actors.odense)
        try Self.save(&odense, at: Self.at(90)) { try $0.setSection(.challenge, to: "Odenses udfordring.") }
        try sync(&aarhus, from: odense)

        let saves = try aarhus.saves()
        let aarhusAgent = try AgentID("0751/1")
        let aarhusSaves = saves.filter { $0.agent == aarhusAgent }
        #expect(aarhusSaves.count == 4, "the events without a time, two timed saves, the change without one: \(aarhusSaves)")
        #expect(aarhusSaves.map(\.savedAt) == [nil, Self.at(60), Self.at(120), nil])
        #expect(zip(aarhusSaves, aarhusSaves.dropFirst()).allSatisfy { $0.seqs.upperBound == $1.seqs.lowerBound }, "no event lost or shared")
        #expect(aarhusSaves.last?.seqs.upperBound == aarhus.document.versionVector[aarhusAgent])
        #expect(saves.filter { $0.organisation == "0461" }.map(\.savedAt) == [Self.at(90)])
        // Odense reads the same saves once it has the same events.
        try sync(&odense, from: aarhus)
        #expect(Set(try odense.saves()) == Set(saves))
        #expect(aarhus.lastSaveTime() == Self.at(120) && aarhus.lastSaveTime() == saves.compactMap(\.savedAt).max(),
                "the overview's last change is the latest save, read without grouping events")
        // Each save's version shows the proposal just after it.
        let second = aarhusSaves[1]
        #expect(try aarhus.content(at: second.version).text(.risks) == "Første udgave.")
        #expect(try aarhus.content(at: second.version).amountRequested == 1_000_000)
        #expect(try aarhus.content(at: aarhus.document.version(before: aarhusSaves[2].first)).amountRequested == 1_000_000)
        #expect(try aarhus.content(at: aarhusSaves[2].version).amountRequested == 1_200_000)
    }

    @Test("re-issued under a new agent (a restored copy), a save keeps its time under its new first event, one straddling the cut too; the server accepts it")
    func reissuedSaves() throws {
        var proposal = try completeProposal()
        let agent = try AgentID("0751/1"), newAgent = try AgentID("0751/2")
        let first = proposal.document.versionVector[agent]
        try Self.save(&proposal, at: Self.at(10)) { try $0.setSection(.risks, to: "Risici.") }
        try Self.save(&proposal, at: Self.at(20)) { try $0.setAmountRequested(900_000) }
        for cut in [first, first + 3] {
            let before = proposal.document.versionVector
            let (copy, reissued) = try proposal.document.reissuing(eventsOf: agent, from: cut, as: newAgent,
                                                                   rewriteMapEntry: Proposal.reissuedSaveRecord) { _ in true }
            #expect(reissued == before[agent] - cut)
            let saves = try Proposal(document: copy, actor: Actors.aarhus).saves().filter { $0.agent == newAgent }
            #expect(saves.map(\.savedAt) == [Self.at(10), Self.at(20)], "cut at \(cut - first): \(saves)")
            #expect(saves.map(\.seqs.count).reduce(0, +) == reissued, "every re-issued event in a timed save")
            // What the server judges: each re-issued save record is the new agent's own.
            let writes = try ChangeSummary(encodedChanges: try copy.encodedChanges(since: VersionVector())).writes
                .filter { $0.container == ProposalSchema.saves && $0.author == newAgent }
            #expect(writes.count == 2 && writes.allSatisfy { ProposalSchema.action(of: $0, writer: "0751") == .recordSave })
        }
    }

    @Test("an unreadable save time (a broken client's) is left out, not guessed")
    func unreadableTime() throws {
        var proposal = try completeProposal()
        for (key, value) in [("0751/1@0", Value.string("i går")), ("0751/1@1", .int(5)), ("0751/1@2", .string("5 -1")),
                             ("0751/1@3", .string("9 \(Int.max)")), ("not-an-event", .string("5 1"))] {
            try proposal.document.set(value, forKey: key, in: ProposalSchema.saves)
        }
        #expect(try proposal.saves().allSatisfy { $0.savedAt == nil })
        #expect(proposal.lastSaveTime() == nil, "unreadable records give no time")
    }

    @Test("named versions: set, moved, removed, read by every replica; bad names and observers refused")
    func namedVersions() throws {
        var aarhus = try completeProposal()
        let first = aarhus.document.version
        try aarhus.nameVersion("til styregruppen")
        try aarhus.setSection(.risks, to: "Ændret.")
        try aarhus.nameVersion("efter møde")
        #expect(aarhus.namedVersions().map(\.name) == ["efter møde", "til styregruppen"])
        #expect(aarhus.namedVersions().first { $0.name == "til styregruppen" }?.version == first)
        #expect(try aarhus.content().versionNames == ["efter møde", "til styregruppen"])
        try aarhus.nameVersion("til styregruppen", first)
        try aarhus.removeVersionName("efter møde")
        #expect(aarhus.namedVersions().map(\.name) == ["til styregruppen"])
        #expect(throws: ProposalError.self) { try aarhus.removeVersionName("findes ikke") }
        for bad in ["", "   ", "to\nlinjer", String(repeating: "x", count: 81)] {
            #expect(throws: ProposalError.self, "\(bad.debugDescription)") { try aarhus.nameVersion(bad) }
        }
        // Naming does not change the content hash: a submission's hash stays true.
        var renamed = aarhus
        let hash = try aarhus.content().contentHash
        try renamed.nameVersion("endnu et navn")
        #expect(try renamed.content().contentHash == hash)
        // An observer (by the server's members map) may not.
        try aarhus.document.set(.string("observer"), forKey: "kl-midt", in: ProposalSchema.members)
        var dgo = try replica(of: aarhus, agent: "kl-midt/1", actor: Actors.dgo)
        #expect(throws: ProposalError.self) { try dgo.nameVersion("observatørens navn") }
    }

    @Test("the server's view: an agent's own save times are `recordSave`; another agent's, a removal or a stray key is `writeOthersSaveTime`; names are `nameVersion`")
    func writeRules() throws {
        let proposal = try completeProposal()
        let agent = try AgentID("0461/1")
        var odense = try replica(of: proposal, agent: "0461/1", actor: Actors.odense)
        let before = odense.document.versionVector
        try odense.document.set(.string("1 1"), forKey: "0461/1@\(before[agent])", in: ProposalSchema.saves)
        try odense.document.set(.string("1 1"), forKey: "0751/1@0", in: ProposalSchema.saves)
        try odense.document.set(.string("1 1"), forKey: "0461/1", in: ProposalSchema.saves)
        try odense.document.removeValue(forKey: "0461/1@\(before[agent])", in: ProposalSchema.saves)
        try odense.document.set(.string("0751/1@3"), forKey: "navn", in: ProposalSchema.versionNames)
        let writes = try ChangeSummary(encodedChanges: try odense.document.encodedChanges(since: before)).writes
        #expect(writes.map { ProposalSchema.action(of: $0, writer: "0461") }
                == [.recordSave, .writeOthersSaveTime, .writeOthersSaveTime, .writeOthersSaveTime, .nameVersion])
        // What the server answers an observer and a partner for these.
        #expect(ProposalPolicy.refusal(of: .recordSave, by: .member(.observer)) == nil)
        #expect(ProposalPolicy.refusal(of: .writeOthersSaveTime, by: .secretariat)?.code == .forbidden)
        #expect(ProposalPolicy.refusal(of: .nameVersion, by: .member(.observer))?.code == .forbidden)
        #expect(ProposalPolicy.refusal(of: .nameVersion, by: .member(.partner)) == nil)
    }
}
