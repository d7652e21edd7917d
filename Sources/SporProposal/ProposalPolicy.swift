/// Who may do what on a proposal: one pure table, given the requester's standing on
/// the proposal as the server knows it (never as a client claims it).
///
/// The sync server asks it for every request and for every write of every event it
/// does not have yet; the client asks it only to explain early, offline, what the
/// server would refuse. Process rules that depend on the proposal's state (deadlines,
/// order of steps, a withdrawn or decided proposal, the call's rules) are not here:
/// they live in ``Proposal`` and are applied by the server on its own replica.
///
/// | action | secretariat | lead | partner | observer | outsider |
/// |---|---|---|---|---|---|
/// | read | yes | yes | yes | yes | no (notFound) |
/// | editContent | no | yes | yes | no | no (notFound) |
/// | comment (add, reply, resolve) | yes | yes | yes | yes | no (notFound) |
/// | editOwnComment | yes | yes | yes | yes | no (notFound) |
/// | editOthersComment | no | no | no | no | no (notFound) |
/// | addMember, removeMember, changeRole, handOverLead | yes | yes | no | no | no (notFound) |
/// | submit, withdraw | no | yes | no | no | no (notFound) |
/// | recordQualification, recordDecision | yes | no | no | no | no (notFound) |
/// | writeProcessRecords | no | no | no | no | no (notFound) |
///
/// An outsider (not a member, a removed member, a revoked account) is always told
/// `notFound`, the answer an unknown proposal gets, so that refusals never reveal
/// that a proposal exists.
public enum ProposalPolicy {
    /// The requester's standing on one proposal.
    public enum Standing: Hashable, Sendable {
        /// Klimaalliancen's secretariat: sees every proposal.
        case secretariat
        /// A member with its role.
        case member(ParticipantRole)
        /// Neither: the proposal does not exist for it.
        case outsider
    }

    /// Everything a requester can ask to do.
    public enum Action: String, CaseIterable, Hashable, Sendable {
        /// Subscribe, list, export.
        case read
        /// Sections, fields, participants, budget lines, milestones, extra sections.
        case editContent
        /// Add a comment, reply to one, resolve or reopen one.
        case comment
        /// Rewrite or delete a comment or reply the requester's organisation wrote.
        case editOwnComment
        /// Rewrite or delete another organisation's comment or reply.
        case editOthersComment
        case addMember
        case removeMember
        case changeRole
        /// Make another member the lead; the old lead becomes a partner.
        case handOverLead
        case submit
        case withdraw
        case recordQualification
        case recordDecision
        /// Write the records the server keeps in the document (submissions,
        /// withdrawal, the secretariat's records, members): only the server does.
        case writeProcessRecords
        /// Record the time of one's own save: everyone who may write anything.
        case recordSave
        /// Write or remove the time of someone else's save: nobody.
        case writeOthersSaveTime
        /// Name a version ("til styregruppen") or remove a name: the lead, partners
        /// and the secretariat.
        case nameVersion
    }

    /// Why an action is refused.
    public struct Refusal: Hashable, Sendable, Error {
        public enum Code: Hashable, Sendable {
            /// The proposal does not exist for the requester.
            case notFound
            /// The requester may see the proposal but not do this.
            case forbidden
            /// Allowed, but not with these arguments (a second lead, an unknown member).
            case invalidArgument
        }

        public let code: Code
        public let message: String

        public init(code: Code, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// nil if `standing` may take `action`, else why not.
    public static func refusal(of action: Action, by standing: Standing) -> Refusal? {
        let role: ParticipantRole?
        switch standing {
        case .outsider:
            return Refusal(code: .notFound, message: "no such proposal")
        case .secretariat:
            role = nil
        case let .member(memberRole):
            role = memberRole
        }
        let isSecretariat = role == nil
        let allowed: Bool = switch action {
        case .read, .comment, .editOwnComment, .recordSave: true
        case .editContent: role == .lead || role == .partner
        case .nameVersion: role != .observer
        case .editOthersComment, .writeProcessRecords, .writeOthersSaveTime: false
        case .addMember, .removeMember, .changeRole, .handOverLead: isSecretariat || role == .lead
        case .submit, .withdraw: role == .lead
        case .recordQualification, .recordDecision: isSecretariat
        }
        guard !allowed else { return nil }
        return Refusal(code: .forbidden, message: reason(action, role: role))
    }

    private static func reason(_ action: Action, role: ParticipantRole?) -> String {
        let who = role.map { "a \($0.englishName.lowercased())" } ?? "the secretariat"
        return switch action {
        case .read, .comment, .editOwnComment, .recordSave: "\(who) may not do this"
        case .writeOthersSaveTime: "a save's time is written once, by the agent that saved, under its own first event"
        case .nameVersion: "an observer reads and comments; the lead partner, partners and the secretariat name versions"
        case .editContent: role == .observer
            ? "an observer reads and comments; only the lead partner and partners edit the proposal"
            : "the secretariat comments and records its decisions; only the lead partner and partners edit the proposal"
        case .editOthersComment: "only the organisation that wrote a comment can change or delete it; others reply or resolve it"
        case .addMember, .removeMember, .changeRole, .handOverLead:
            "only the lead partner and the secretariat decide who is on the proposal; \(who) cannot"
        case .submit: "only the lead partner submits the proposal; \(who) cannot"
        case .withdraw: "only the lead partner withdraws the proposal; \(who) cannot"
        case .recordQualification, .recordDecision: "only Klimaalliancen's secretariat records this"
        case .writeProcessRecords: "submissions, withdrawals, members and the secretariat's records are written by the server only; "
            + "ask the server to take the step instead"
        }
    }
}
