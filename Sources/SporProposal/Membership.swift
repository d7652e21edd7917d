import SporCRDT

/// Changes to who is on a proposal, as the server applies them: its members table and
/// the ``ProposalSchema/members`` map it writes into the document change together.
///
/// Invariant: a proposal has exactly one lead from its creation on. The lead is never
/// added, removed or demoted directly; it is handed over (`setRole(X, .lead)`), which
/// makes X the lead and the old lead a partner in the same change.
public enum MembershipChange: Hashable, Sendable {
    /// Adds an organisation (its server id) as a partner or an observer; an existing
    /// member gets that role (as ``setRole(_:_:)``).
    case add(String, ParticipantRole)
    /// Removes a member; removing an organisation that is no member changes nothing.
    case remove(String)
    /// Gives a member another role; `.lead` hands the lead over.
    case setRole(String, ParticipantRole)

    /// The organisation the change is about.
    public var organisation: String {
        switch self {
        case let .add(organisation, _), let .remove(organisation), let .setRole(organisation, _): organisation
        }
    }

    /// The policy action the change needs.
    public var action: ProposalPolicy.Action {
        switch self {
        case .add: .addMember
        case .remove: .removeMember
        case .setRole(_, .lead): .handOverLead
        case .setRole: .changeRole
        }
    }

    /// What the change does to `members` (organisation → role) when asked by
    /// `standing`: each organisation whose membership changes, with its new role (nil:
    /// removed). Empty when nothing changes. Throws the policy's refusal, or
    /// `invalidArgument` for a change that would leave the proposal without exactly
    /// one lead or names a non-member.
    public func apply(to members: [String: ParticipantRole],
                      by standing: ProposalPolicy.Standing) throws(ProposalPolicy.Refusal) -> [String: ParticipantRole?] {
        if let refusal = ProposalPolicy.refusal(of: action, by: standing) { throw refusal }
        let current = members[organisation]
        func invalid(_ message: String) -> ProposalPolicy.Refusal { ProposalPolicy.Refusal(code: .invalidArgument, message: message) }
        switch self {
        case let .add(organisation, role):
            if role == .lead { throw invalid("a proposal has one lead; hand the lead over with the role lead instead") }
            if current == .lead { throw invalid("\(organisation) is the lead partner; hand the lead to another member first") }
            return current == role ? [:] : [organisation: role]
        case let .setRole(organisation, role):
            guard current != nil else { throw invalid("\(organisation) is not a member of the proposal; add it first") }
            if role != .lead {
                if current == .lead { throw invalid("\(organisation) is the lead partner; hand the lead to another member first") }
                return current == role ? [:] : [organisation: role]
            }
            guard current != .lead else { return [:] }
            var changes: [String: ParticipantRole?] = [organisation: .lead]
            for (other, role) in members where role == .lead { changes[other] = .partner }
            return changes
        case let .remove(organisation):
            guard let current else { return [:] }
            if current == .lead { throw invalid("\(organisation) is the lead partner; hand the lead to another member before removing it") }
            return [organisation: nil]
        }
    }
}

extension Proposal {
    /// Writes membership changes (from ``MembershipChange/apply(to:by:)``) into the
    /// document's members map. The server calls this as ``ProposalSchema/serverAgent``.
    public mutating func writeMembers(_ changes: [String: ParticipantRole?]) throws(ProposalError) {
        try change { proposal throws(ProposalError) in
            for (organisation, role) in changes.sorted(by: { $0.key < $1.key }) {
                let field = "members.\(organisation)"
                if let role {
                    try proposal.write(.string(role.rawValue), forKey: organisation, in: ProposalSchema.members, field: field)
                } else {
                    try documentStep(field: field) { () throws(CRDTError) in
                        try proposal.document.removeValue(forKey: organisation, in: ProposalSchema.members)
                    }
                }
            }
        }
    }

    /// The members map as the server last wrote it.
    public var members: [String: ParticipantRole] {
        var result: [String: ParticipantRole] = [:]
        for (organisation, register) in document.map(ProposalSchema.members) {
            if case let .string(stored)? = register.value, let role = ParticipantRole(rawValue: stored) { result[organisation] = role }
        }
        return result
    }
}
