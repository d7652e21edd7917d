import Foundation
import SporCRDT

/// A recorded submission: the proposal as it was (its version and a hash of its
/// content), for which step of which round, when and by whom. Never changed once
/// recorded; ``Proposal/submittedContent(_:)`` reads the submitted version back.
public struct Submission: Hashable, Sendable {
    public let id: ListItemID
    public let step: Step
    public let roundID: String
    /// The version submitted (the document's frontier just before the submission).
    public let version: Version
    /// SHA-256 of the proposal's canonical content at `version`, in lowercase hex.
    public let contentHash: String
    public let submittedAt: Date
    /// The submitting organisation.
    public let by: String
}

/// The secretariat's result of the professional qualification.
public struct Qualification: Hashable, Sendable {
    public enum Result: String, CaseIterable, Hashable, Sendable {
        /// Qualified: may go on to the approval process.
        case qualified
        /// Needs changes before it can go on.
        case needsChanges

        public var danishName: String { self == .qualified ? "kvalificeret" : "skal tilrettes" }
        public var englishName: String { self == .qualified ? "qualified" : "needs changes" }
    }

    public let result: Result
    public let note: String
    public let at: Date?
}

/// The executive committee's decision, recorded by the secretariat.
public struct Decision: Hashable, Sendable {
    public enum Outcome: String, CaseIterable, Hashable, Sendable {
        case approved
        case rejected

        public var danishName: String { self == .approved ? "godkendt" : "afvist" }
        public var englishName: String { self == .approved ? "approved" : "rejected" }
    }

    public let outcome: Outcome
    public let note: String
    /// The amount granted (approved proposals), DKK.
    public let grantedAmount: Int64?
    public let at: Date?
}

/// A withdrawal by the lead partner.
public struct Withdrawal: Hashable, Sendable {
    public let at: Date
    public let by: String
}

/// Where a proposal is in the process ("indstillingsforløbet"), derived from its
/// submissions, the secretariat's records and the round's calendar.
public enum ProcessStatus: String, CaseIterable, Hashable, Sendable {
    case draft
    case submittedForQualification
    case inApprovalProcess
    /// The committee meeting day has come; the decision is not recorded yet.
    case treatedByCommittee
    case approved
    case rejected
    case withdrawn

    public var danishName: String {
        switch self {
        case .draft: "Kladde"
        case .submittedForQualification: "Afleveret til faglig kvalificering"
        case .inApprovalProcess: "I godkendelsesforløb"
        case .treatedByCommittee: "Behandlet af Forretningsudvalget"
        case .approved: "Godkendt"
        case .rejected: "Afvist"
        case .withdrawn: "Trukket tilbage"
        }
    }

    public var englishName: String {
        switch self {
        case .draft: "Draft"
        case .submittedForQualification: "Submitted for professional qualification"
        case .inApprovalProcess: "In the approval process"
        case .treatedByCommittee: "Treated by the executive committee"
        case .approved: "Approved"
        case .rejected: "Rejected"
        case .withdrawn: "Withdrawn"
        }
    }

    /// Whether the proposal can still be submitted or changed by its partners.
    public var isOpen: Bool {
        switch self {
        case .draft, .submittedForQualification, .inApprovalProcess: true
        case .treatedByCommittee, .approved, .rejected, .withdrawn: false
        }
    }
}

extension ProposalContent {
    /// The submission the proposal is to make next — qualification, then approval — or
    /// nil once it has made both, was withdrawn or was decided.
    public var nextSubmission: Step? {
        guard withdrawal == nil, decision == nil else { return nil }
        let made = Set(submissions.map(\.step))
        return [Step.qualification, .approval].first { !made.contains($0) }
    }
}
