import Foundation
import SporCRDT
import SporTestSupport
import Testing
@testable import SporProposal

/// Who may do what: the policy as a table, membership changes, and which writes of a
/// change batch each role may make. No I/O: the server is given exactly these.
@Suite("Access and process policy")
struct PolicyTests {
    typealias Action = ProposalPolicy.Action

    /// The table from the server-authority issue, written by hand: Y allowed, F refused
    /// as forbidden, N refused as notFound (the proposal does not exist for it).
    /// Columns: secretariat, lead, partner, observer, outsider.
    static let expected: [(Action, String)] = [
        (.read, "YYYYN"),
        (.editContent, "FYYFN"),
        (.comment, "YYYYN"),
        (.editOwnComment, "YYYYN"),
        (.editOthersComment, "FFFFN"),
        (.addMember, "YYFFN"),
        (.removeMember, "YYFFN"),
        (.changeRole, "YYFFN"),
        (.handOverLead, "YYFFN"),
        (.submit, "FYFFN"),
        (.withdraw, "FYFFN"),
        (.recordQualification, "YFFFN"),
        (.recordDecision, "YFFFN"),
        (.writeProcessRecords, "FFFFN"),
        (.recordSave, "YYYYN"),
        (.writeOthersSaveTime, "FFFFN"),
        (.nameVersion, "YYYFN"),
    ]
    static let standings: [ProposalPolicy.Standing] = [.secretariat, .member(.lead), .member(.partner), .member(.observer), .outsider]

    @Test("every (role, action) pair is allowed or refused exactly as the table says, with a reason")
    func table() {
        #expect(Set(Self.expected.map(\.0)) == Set(Action.allCases), "the table covers every action")
        for (action, row) in Self.expected {
            for (standing, cell) in zip(Self.standings, row) {
                let refusal = ProposalPolicy.refusal(of: action, by: standing)
                switch cell {
                case "Y": #expect(refusal == nil, "\(standing) may \(action)")
                case "F":
                    #expect(refusal?.code == .forbidden, "\(standing) may not \(action)")
                    #expect(refusal.map { !$0.message.isEmpty } == true)
                default: #expect(refusal?.code == .notFound, "\(action) by an outsider answers as for an unknown proposal")
                }
            }
        }
    }

    // MARK: - Membership

    static let roles: [String: ParticipantRole] = ["0751": .lead, "0461": .partner, "kl-midt": .observer]

    @Test("adding, removing and changing roles: who may, and what changes")
    func membershipChanges() throws {
        let lead = ProposalPolicy.Standing.member(.lead)
        #expect(try MembershipChange.add("1082", .partner).apply(to: Self.roles, by: lead) == ["1082": .partner])
        #expect(try MembershipChange.add("0461", .partner).apply(to: Self.roles, by: lead).isEmpty, "already a partner: nothing changes")
        #expect(try MembershipChange.add("0461", .observer).apply(to: Self.roles, by: .secretariat) == ["0461": .observer])
        #expect(try MembershipChange.remove("0461").apply(to: Self.roles, by: lead) == ["0461": ParticipantRole?.none])
        #expect(try MembershipChange.remove("0101").apply(to: Self.roles, by: lead).isEmpty, "not a member: nothing to remove")
        #expect(try MembershipChange.setRole("kl-midt", .partner).apply(to: Self.roles, by: lead) == ["kl-midt": .partner])
        // Handing over: the new lead and the old one change together.
        #expect(try MembershipChange.setRole("0461", .lead).apply(to: Self.roles, by: lead) == ["0461": .lead, "0751": .partner])
        #expect(try MembershipChange.setRole("0751", .lead).apply(to: Self.roles, by: .secretariat).isEmpty)

        func refusal(_ change: MembershipChange, by standing: ProposalPolicy.Standing) -> ProposalPolicy.Refusal.Code? {
            do {
                _ = try change.apply(to: Self.roles, by: standing)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(refusal(.add("1082", .partner), by: .member(.partner)) == .forbidden)
        #expect(refusal(.add("1082", .partner), by: .member(.observer)) == .forbidden)
        #expect(refusal(.add("1082", .partner), by: .outsider) == .notFound)
        #expect(refusal(.add("1082", .lead), by: lead) == .invalidArgument, "a second lead is never added")
        #expect(refusal(.remove("0751"), by: .secretariat) == .invalidArgument, "the lead is handed over, not removed")
        #expect(refusal(.setRole("0751", .partner), by: lead) == .invalidArgument, "the lead is not demoted directly")
        #expect(refusal(.setRole("0101", .lead), by: lead) == .invalidArgument, "only a member can become lead")
        #expect(refusal(.setRole("0461", .lead), by: .member(.partner)) == .forbidden, "a partner cannot take the lead")
        #expect(refusal(.add("0751", .partner), by: .secretariat) == .invalidArgument, "the lead is not made a partner by adding it")
    }

    @Test("any sequence of membership changes by anyone keeps exactly one lead", arguments: propertySeeds(20, base: 0x1ead))
    func exactlyOneLead(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let organisations = ["0751", "0461", "1082", "0740", "kl-midt"]
        var roles: [String: ParticipantRole] = ["0751": .lead]
        var applied = 0
        for _ in 0..<200 {
            let organisation = organisations.randomElement(using: &random) ?? "0751"
            let role = ParticipantRole.allCases.randomElement(using: &random) ?? .partner
            let change: MembershipChange = switch Int.random(in: 0..<3, using: &random) {
            case 0: .add(organisation, role)
            case 1: .remove(organisation)
            default: .setRole(organisation, role)
            }
            let requester = organisations.randomElement(using: &random) ?? "0751"
            let standing: ProposalPolicy.Standing = Bool.random(using: &random) ? .secretariat
                : roles[requester].map { .member($0) } ?? .outsider
            guard let changes = try? change.apply(to: roles, by: standing) else { continue }
            for (organisation, role) in changes { roles[organisation] = role }
            applied += 1
            #expect(roles.values.filter { $0 == .lead }.count == 1, "seed \(seed): after \(change) by \(standing): \(roles)")
        }
        #expect(applied > 20, "seed \(seed): the sequence did change members (\(applied))")
    }

    // MARK: - Writes of a change batch

    /// Aarhus's proposal with a comment by Odense, as the server would hold it.
    static func proposalWithComment() throws -> (base: Proposal, comment: ListItemID) {
        var aarhus = try completeProposal()
        var odense = try replica(of: aarhus, agent: "0461/1", actor: Actors.odense)
        let comment = try odense.addComment(on: .challenge, range: 0..<7, text: "Hvor mange kældre?", at: Date(timeIntervalSince1970: 1_725_000_000))
        try sync(&aarhus, from: odense)
        return (aarhus, comment)
    }

    /// The writes `edit` makes on `base`'s document, as agent `agent`, summarised as the
    /// server reads them, and the policy's answer for `standing`.
    static func refusal(_ base: Proposal, agent: String, actor: Actor, standing: ProposalPolicy.Standing,
                        _ edit: (inout Proposal) throws -> Void) throws -> ProposalPolicy.Refusal? {
        var writer = try replica(of: base, agent: agent, actor: actor)
        let before = writer.document.versionVector
        try edit(&writer)
        let summary = try ChangeSummary(encodedChanges: try writer.document.encodedChanges(since: before))
        #expect(!summary.writes.isEmpty, "the edit wrote something")
        return ProposalSchema.writeRefusal(in: summary, writer: ProposalSchema.organisation(of: try AgentID(agent)) ?? agent,
                                           standing: standing, isNew: { _ in true })
    }

    @Test("observers comment but do not edit; only a comment's author changes or deletes it; resolving and replying stay open")
    func commentsAndObservers() throws {
        let (base, odensesComment) = try Self.proposalWithComment()
        let observer = ProposalPolicy.Standing.member(.observer), partner = ProposalPolicy.Standing.member(.partner)
        let dgo = Actor(organisation: "kl-midt", role: .member)
        let now = Date(timeIntervalSince1970: 1_725_100_000)

        #expect(try Self.refusal(base, agent: "kl-midt/1", actor: dgo, standing: observer) {
            try $0.setSection(.risks, to: "Observatøren skriver i forslaget")
        }?.code == .forbidden)
        #expect(try Self.refusal(base, agent: "kl-midt/1", actor: dgo, standing: observer) {
            _ = try $0.addComment(on: .risks, range: 0..<3, text: "Sparring", at: now)
        } == nil)
        // The first comment of a proposal also creates the comments list: still a comment.
        var fresh = try completeProposal()
        fresh = try replica(of: fresh, agent: "0751/1", actor: Actors.aarhus)
        #expect(try Self.refusal(fresh, agent: "kl-midt/1", actor: dgo, standing: observer) {
            _ = try $0.addComment(on: .risks, range: 0..<3, text: "Første kommentar", at: now)
        } == nil)
        #expect(try Self.refusal(base, agent: "kl-midt/1", actor: dgo, standing: observer) {
            _ = try $0.reply(to: odensesComment, text: "Enig", at: now)
        } == nil)
        #expect(try Self.refusal(base, agent: "0751/1", actor: Actors.aarhus, standing: .member(.lead)) {
            try $0.setResolved(odensesComment, true)
        } == nil)
        // Rewriting another organisation's comment: refused for everyone, the secretariat too.
        for (agent, standing) in [("0751/1", ProposalPolicy.Standing.member(.lead)), ("1082/1", partner), ("sek/1", .secretariat)] {
            let refusal = try Self.refusal(base, agent: agent, actor: Actors.aarhus, standing: standing) { proposal in
                let map = try ProposalSchema.comments.child(odensesComment, .map)
                try proposal.document.set(.string("Ingen kældre"), forKey: ProposalSchema.Key.text, in: map)
            }
            #expect(refusal?.code == .forbidden, "\(agent)")
            let removal = try Self.refusal(base, agent: agent, actor: Actors.aarhus, standing: standing) { proposal in
                try proposal.document.remove(odensesComment, from: ProposalSchema.comments)
            }
            #expect(removal?.code == .forbidden, "\(agent) deletes Odense's comment")
        }
        // Its author may.
        #expect(try Self.refusal(base, agent: "0461/2", actor: Actors.odense, standing: partner) { proposal in
            try proposal.document.set(.string("Hvor mange kældre i 2023?"), forKey: ProposalSchema.Key.text,
                                      in: try ProposalSchema.comments.child(odensesComment, .map))
        } == nil)
        #expect(try Self.refusal(base, agent: "0461/2", actor: Actors.odense, standing: partner) { proposal in
            try proposal.document.remove(odensesComment, from: ProposalSchema.comments)
        } == nil)
        // Removing the whole comments list deletes everyone's: nobody may.
        #expect(try Self.refusal(base, agent: "0751/1", actor: Actors.aarhus, standing: .member(.lead)) { proposal in
            try proposal.document.removeValue(forKey: ProposalSchema.Key.comments, in: ProposalSchema.proposal)
        }?.code == .forbidden)
    }

    @Test("the server's records are written by nobody else: members, submissions, withdrawal, the secretariat's records")
    func serverOnlyRecords() throws {
        let base = try completeProposal()
        let writes: [(String, (inout Proposal) throws -> Void)] = [
            ("members", { try $0.document.set(.string("lead"), forKey: "0461", in: ProposalSchema.members) }),
            ("submission", { _ = try $0.document.insert(.child(.map), at: 0, in: ProposalSchema.submissions) }),
            ("withdrawal", { try $0.document.set(.int(1), forKey: ProposalSchema.Key.withdrawnAt, in: ProposalSchema.process) }),
            ("decision", { try $0.document.set(.string("approved"), forKey: ProposalSchema.Key.decision, in: ProposalSchema.secretariat) }),
            ("a decision record", { _ = try $0.document.insert(.child(.map), at: 0, in: ProposalSchema.secretariatRecords) }),
        ]
        for (name, write) in writes {
            for (agent, standing) in [("0751/1", ProposalPolicy.Standing.member(.lead)), ("sek/1", .secretariat)] {
                let refusal = try Self.refusal(base, agent: agent, actor: Actors.aarhus, standing: standing, write)
                #expect(refusal?.code == .forbidden, "\(name) by \(agent)")
                #expect(refusal?.message.contains("server only") == true, "\(refusal?.message ?? "")")
            }
        }
    }

    @Test("only events the server does not have are judged: passing on stored events is allowed")
    func onlyNewEventsJudged() throws {
        let base = try completeProposal()
        var writer = try replica(of: base, agent: "0751/1", actor: Actors.aarhus)
        let before = writer.document.versionVector
        try writer.document.set(.string("lead"), forKey: "0461", in: ProposalSchema.members)
        let summary = try ChangeSummary(encodedChanges: try writer.document.encodedChanges(since: before))
        let refusal = ProposalSchema.writeRefusal(in: summary, writer: "0751", standing: .member(.lead)) { _ in false }
        #expect(refusal == nil, "nothing new: nothing to refuse")
        #expect(ProposalSchema.writeRefusal(in: summary, writer: "0751", standing: .member(.lead)) { _ in true } != nil)
    }

    @Test("authorship comes from the event's agent; the server's lead overrides a listed lead")
    func authorshipAndLead() throws {
        let (base, comment) = try Self.proposalWithComment()
        let content = try base.content()
        #expect(content.comments.first { $0.id == comment }?.author == "0461")
        #expect(ProposalSchema.organisation(of: try AgentID("0461/laptop")) == "0461")
        #expect(ProposalSchema.organisation(of: ProposalSchema.serverAgent) == nil)
        #expect(ProposalSchema.organisation(of: try AgentID("no-slash")) == nil)
        #expect(content.lead == "0751", "before the server records members: the listed lead")

        // The server (its own agent) records Odense as lead: the content follows it.
        var server = Proposal(document: Document(agent: ProposalSchema.serverAgent), actor: Actors.aarhus)
        try server.document.merge(encodedChanges: try base.document.encodedChanges())
        try server.writeMembers(["0461": .lead, "0751": .partner, "1082": .partner])
        let after = try server.content()
        #expect(after.lead == "0461")
        #expect(after.participants.filter { $0.role == .lead }.compactMap { $0.organisation?.name } == ["Odense Kommune"])
        #expect(after.participants.first { $0.organisation?.name == "Aarhus Kommune" }?.role == .partner)
        // A participant listed as lead without being the server's lead reads as a partner.
        try server.writeMembers(["0740": .lead, "0461": .partner])
        let silkeborgLeads = try server.content()
        #expect(silkeborgLeads.lead == "0740")
        #expect(!silkeborgLeads.participants.contains { $0.role == .lead })
        #expect(ProposalRules.validate(silkeborgLeads, at: Date(timeIntervalSince1970: 1_720_000_000)).contains { $0.code == "leadNotParticipant" })
    }
}
