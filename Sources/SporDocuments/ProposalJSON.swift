import Foundation
import SporCRDT
import SporProposal

/// A proposal's content as JSON (`spor show --json`): everything `spor show` shows, in a
/// form that is identical in every workspace that has the same events. Keys are always
/// present; what a proposal does not have is `null` (a scalar) or `[]` (a list).
public struct ProposalJSON: Encodable {
    public let id: String
    public let title: String
    @Nullable public var round: String?
    /// ``ProcessStatus``'s raw value; null when the round is unknown here.
    @Nullable public var status: String?
    @Nullable public var amountRequested: Int64?
    /// Every section by its key (`challenge`, `climatePlanLink`, …), "" when empty.
    public let sections: [String: String]
    public let members: [MemberJSON]
    /// The lead member's organisation id.
    @Nullable public var lead: String?
    public let participants: [ParticipantJSON]
    public let budget: [BudgetLineJSON]
    public let milestones: [Milestone]
    public let extraSections: [ExtraSection]
    public let comments: [CommentJSON]
    public let submissions: [SubmissionJSON]
    /// The qualification in force (the latest), and every one in `qualifications`.
    @Nullable public var qualification: Qualification?
    /// The decision in force (the latest), and every one in `decisions`.
    @Nullable public var decision: DecisionJSON?
    public let qualifications: [Qualification]
    public let decisions: [DecisionJSON]
    @Nullable public var withdrawal: Withdrawal?
    public let conflicts: [ConflictJSON]
    public let unreadable: [Unreadable]
    /// The version's heads ("agent@seq").
    public let version: [String]
    public let contentHash: String

    public struct Milestone: Encodable {
        public let title: String
        /// "YYYY-MM-DD".
        @Nullable public var date: String?
    }

    public struct ExtraSection: Encodable {
        public let heading: String
        public let body: String
    }

    public struct Qualification: Encodable {
        /// `qualified` or `needsChanges`.
        public let result: String
        public let note: String
        @Nullable public var at: String?

        init(_ qualification: SporProposal.Qualification) {
            result = qualification.result.rawValue
            note = qualification.note
            at = SporJSON.iso(qualification.at)
        }
    }

    public struct Withdrawal: Encodable {
        @Nullable public var at: String?
        public let by: String
    }

    public struct Unreadable: Encodable {
        public let field: String
        public let stored: String
        public let expected: String
    }

    public init(id: String, content: ProposalContent, status: ProcessStatus?) {
        self.id = id
        title = content.title
        round = content.roundID
        self.status = status?.rawValue
        amountRequested = content.amountRequested
        sections = Dictionary(uniqueKeysWithValues: Section.allCases.map { ($0.key, content.text($0)) })
        members = content.members.map(MemberJSON.init)
        lead = content.lead
        participants = content.participants.enumerated().map { ParticipantJSON(number: $0.offset + 1, $0.element) }
        budget = content.budget.enumerated().map { BudgetLineJSON(number: $0.offset + 1, $0.element) }
        milestones = content.milestones.map { Milestone(title: $0.title, date: $0.date?.description) }
        extraSections = content.extraSections.map { ExtraSection(heading: $0.heading, body: $0.body) }
        comments = content.comments.enumerated().map { CommentJSON(number: $0.offset + 1, $0.element) }
        submissions = content.submissions.map(SubmissionJSON.init)
        qualification = content.qualification.map(Qualification.init)
        decision = content.decision.map(DecisionJSON.init)
        qualifications = content.qualificationHistory.map(Qualification.init)
        decisions = content.decisionHistory.map(DecisionJSON.init)
        withdrawal = content.withdrawal.map { Withdrawal(at: SporJSON.iso($0.at), by: $0.by) }
        conflicts = content.conflicts.map(ConflictJSON.init)
        unreadable = content.unreadable.map { Unreadable(field: $0.field, stored: $0.stored, expected: $0.expected) }
        version = content.version.heads.map(\.description)
        contentHash = content.contentHash
    }
}

/// A member of a proposal: an organisation id and its role.
public struct MemberJSON: Encodable {
    public let organisation: String
    /// `lead`, `partner`, …
    public let role: String

    public init(_ member: Member) {
        organisation = member.organisation
        role = member.role.rawValue
    }
}

/// A participant, numbered from 1 as `spor participant list` shows it.
public struct ParticipantJSON: Encodable {
    public struct Organisation: Encodable {
        public let name: String
        /// The municipality's or region's code; left out for an organisation outside the register.
        public let code: String?
        /// `municipality`, `region`, …
        public let kind: String
    }

    public let number: Int
    public let id: String
    @Nullable public var organisation: Organisation?
    @Nullable public var role: String?
    public let contactName: String
    public let contactEmail: String
    public let cofinancingCash: Int64
    public let cofinancingHours: Int64

    public init(number: Int, _ participant: Participant) {
        self.number = number
        id = participant.id.description
        organisation = participant.organisation.map { value in
            switch value {
            case let .registered(registered): Organisation(name: registered.officialName, code: registered.code, kind: value.englishKind)
            case let .other(name, _): Organisation(name: name, code: nil, kind: value.englishKind)
            }
        }
        role = participant.role?.rawValue
        contactName = participant.contactName
        contactEmail = participant.contactEmail
        cofinancingCash = participant.cofinancingCash
        cofinancingHours = participant.cofinancingHours
    }
}

/// A budget line, numbered from 1 as `spor budget list` shows it.
public struct BudgetLineJSON: Encodable {
    public let number: Int
    public let id: String
    public let item: String
    @Nullable public var amount: Int64?
    /// ``FundingSource``'s raw value.
    @Nullable public var source: String?
    @Nullable public var year: Int?

    public init(number: Int, _ line: BudgetLine) {
        self.number = number
        id = line.id.description
        item = line.item
        amount = line.amount
        source = line.source?.rawValue
        year = line.year
    }
}

/// A comment with its replies, numbered from 1 as `spor comment list` shows it.
public struct CommentJSON: Encodable {
    public struct Reply: Encodable {
        /// The author's organisation id.
        public let author: String
        public let text: String
        @Nullable public var createdAt: String?
    }

    public let number: Int
    public let id: String
    /// The section's key; null when the anchor's section is unknown.
    @Nullable public var section: String?
    public let quote: String
    /// The author's organisation id.
    public let author: String
    public let text: String
    public let resolved: Bool
    @Nullable public var createdAt: String?
    public let replies: [Reply]

    public init(number: Int, _ comment: Comment) {
        self.number = number
        id = comment.id.description
        section = comment.section?.key
        quote = comment.quote
        author = comment.author
        text = comment.text
        resolved = comment.resolved
        createdAt = SporJSON.iso(comment.createdAt)
        replies = comment.replies.map { Reply(author: $0.author, text: $0.text, createdAt: SporJSON.iso($0.createdAt)) }
    }
}

/// A submission the server recorded: the step, the version and its content hash.
public struct SubmissionJSON: Encodable {
    /// `qualification` or `approval`.
    public let step: String
    public let round: String
    public let version: [String]
    public let contentHash: String
    public let submittedAt: String
    /// The submitting organisation's id.
    public let by: String

    public init(_ submission: Submission) {
        step = submission.step.rawValue
        round = submission.roundID
        version = submission.version.heads.map(\.description)
        contentHash = submission.contentHash
        submittedAt = SporJSON.iso(submission.submittedAt)
        by = submission.by
    }
}

/// The secretariat's decision: the outcome, its note and the granted amount.
public struct DecisionJSON: Encodable {
    /// `approved` or `rejected`.
    public let outcome: String
    public let note: String
    @Nullable public var grantedAmount: Int64?
    @Nullable public var at: String?

    public init(_ decision: Decision) {
        outcome = decision.outcome.rawValue
        note = decision.note
        grantedAmount = decision.grantedAmount
        at = SporJSON.iso(decision.at)
    }
}

/// A field two partners set concurrently: every candidate value (the one shown first).
public struct ConflictJSON: Encodable {
    public struct Candidate: Encodable {
        /// 1-based: what `spor conflicts ID --resolve FIELD --pick N` takes.
        public let number: Int
        public let value: String
        /// The agent that wrote the value.
        public let author: String
    }

    public let field: String
    public let candidates: [Candidate]

    public init(_ conflict: FieldConflict) {
        field = conflict.field
        candidates = conflict.candidates.enumerated().map { Candidate(number: $0.offset + 1, value: $0.element.value, author: $0.element.author.name) }
    }
}

/// One finding of ``ProposalRules``: its code, whether it blocks, the field, both wordings.
public struct FindingJSON: Encodable {
    public let code: String
    /// `error` (blocks submission) or `warning`.
    public let severity: String
    public let field: String
    public let danish: String
    public let english: String

    public init(_ finding: Finding) {
        code = finding.code
        severity = finding.severity.rawValue
        field = finding.field
        danish = finding.danish
        english = finding.english
    }
}
