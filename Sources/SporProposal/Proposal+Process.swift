import Foundation
import SporCRDT

/// The process: submitting for each step before its deadline, withdrawing, and the
/// secretariat's records (qualification result, the committee's decision).
extension Proposal {
    /// Where the proposal is in the process at `now`.
    public func status(at now: Date, calendar: RoundCalendar = .builtIn) throws(ProposalError) -> ProcessStatus {
        ProcessStatus(of: try content(), at: now, calendar: calendar)
    }

    /// Submits the proposal as it is at `version` (default: now) for `step` of its
    /// round, at `now`. The server runs this on its own replica, with its own clock,
    /// as its own agent, for the authenticated organisation (`actor`); a client only
    /// asks it to (``checkSubmission(_:at:calendar:version:)`` explains a refusal
    /// early).
    ///
    /// Only the lead partner submits. Refused with `deadlinePassed` at or after the
    /// step's deadline, with `stepNotAllowed` out of order (approval before
    /// qualification, anything after a decision or a withdrawal) and with
    /// `validationFailed` — carrying the findings — if the proposal breaks a rule.
    /// Records the version and its content hash; a step may be submitted again
    /// before its deadline (the latest submission counts).
    @discardableResult
    public mutating func submit(_ step: Step, at now: Date, calendar: RoundCalendar = .builtIn,
                                version: Version? = nil) throws(ProposalError) -> Submission {
        let (round, content) = try checkSubmission(step, at: now, calendar: calendar, version: version)
        let field = "submissions"
        let version = content.version
        let hash = content.contentHash
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let by = actor.organisation
        return try change { proposal throws(ProposalError) in
            let (item, map) = try proposal.appendMapItem(to: ProposalSchema.submissions, field: field)
            let itemField = "\(field)[\(item)]"
            try proposal.write(.string(step.rawValue), forKey: Key.step, in: map, field: "\(itemField).\(Key.step)")
            try proposal.write(.string(round.id), forKey: Key.round, in: map, field: "\(itemField).\(Key.round)")
            try proposal.write(.string(version.heads.map(EventIDCoding.encode).joined(separator: "\n")),
                               forKey: Key.heads, in: map, field: "\(itemField).\(Key.heads)")
            try proposal.write(.string(hash), forKey: Key.hash, in: map, field: "\(itemField).\(Key.hash)")
            try proposal.write(.int(seconds), forKey: Key.at, in: map, field: "\(itemField).\(Key.at)")
            try proposal.write(.string(by), forKey: Key.by, in: map, field: "\(itemField).\(Key.by)")
            return Submission(id: item, step: step, roundID: round.id, version: version, contentHash: hash,
                              submittedAt: Date(timeIntervalSince1970: TimeInterval(seconds)), by: by)
        }
    }

    /// Whether ``submit(_:at:calendar:version:)`` would accept: the round and the
    /// content at `version` if so, else the same error it would throw. Writes nothing.
    public func checkSubmission(_ step: Step, at now: Date, calendar: RoundCalendar = .builtIn,
                                version: Version? = nil) throws(ProposalError) -> (Round, ProposalContent) {
        let field = "submissions"
        let current = try content()
        let content = try version.map { v throws(ProposalError) in try self.content(at: v) } ?? current
        // Who leads, whether the proposal is closed and what was submitted are read
        // from now: the records are the server's, and a version named by the client
        // cannot hide them.
        try requireLead(current, doing: "submits")
        let status = ProcessStatus(of: current, at: now, calendar: calendar)
        guard status.isOpen else {
            throw ProposalError(.stepNotAllowed, field: field, "the proposal is \(status.englishName.lowercased()); it cannot be submitted", danish: "forslaget er \(status.danishName.lowercased()); det kan ikke afleveres")
        }
        switch step {
        case .qualification where status == .inApprovalProcess:
            throw ProposalError(.stepNotAllowed, field: field, "the proposal is already in the approval process", danish: "forslaget er allerede i godkendelsesprocessen")
        case .approval where !current.submissions.contains(where: { $0.step == .qualification && $0.roundID == content.roundID }):
            throw ProposalError(.stepNotAllowed, field: field, "submit for professional qualification in this round first", danish: "aflevér først til faglig kvalificering i denne runde")
        default: break
        }
        guard let roundID = content.roundID else {
            throw ProposalError(.unknownRound, field: ProposalSchema.Key.round, "choose the round the proposal is for", danish: "vælg den runde, forslaget er til (spor set ID round RUNDE)")
        }
        let round = try calendar.round(id: roundID)
        let deadline = try round.deadlineInstant(for: step)
        guard now < deadline else {
            throw ProposalError(.deadlinePassed, field: field,
                                "the deadline for \(step.englishName) in \(round.englishName) was \(Wording.english(round.deadline(for: step))) Copenhagen time", danish: "fristen for \(step.danishName) i \(round.danishName) var \(Wording.danish(round.deadline(for: step))) (dansk tid)")
        }
        let findings = ProposalRules.validate(content, at: now, attempting: step, calendar: calendar)
        let errors = findings.filter { $0.severity == .error }
        guard errors.isEmpty else {
            throw ProposalError(.validationFailed, field: field,
                                "the proposal does not meet \(errors.count) requirement\(errors.count == 1 ? "" : "s") of the call", danish: "forslaget opfylder ikke \(errors.count) af opslagets krav",
                                findings: errors)
        }
        return (round, content)
    }

    /// What ``checkSubmission(_:at:calendar:version:)`` would refuse besides the call's
    /// rules (those are ``ProposalRules/validate(_:at:attempting:calendar:)``'s): that
    /// the actor is not the lead, the step is out of order or the deadline has passed —
    /// as findings, so that `spor check` predicts exactly what submitting does.
    public func processFindings(for step: Step, at now: Date, calendar: RoundCalendar = .builtIn) -> [Finding] {
        do {
            _ = try checkSubmission(step, at: now, calendar: calendar)
            return []
        } catch where error.code == .validationFailed || error.code == .unknownRound || error.code == .deadlinePassed {
            return []   // the rules report these themselves
        } catch {
            let danish = switch error.code {
            case .notPermitted: "Kun tovholderen indsender forslaget; \(actor.displayName) er ikke tovholder."
            case .stepNotAllowed: "Forslaget kan ikke indsendes i sin nuværende status."
            default: error.message
            }
            return [Finding(code: error.code.rawValue, severity: .error, field: error.field ?? "submissions",
                            danish: danish, english: error.message.prefix(1).uppercased() + error.message.dropFirst() + ".")]
        }
    }

    /// The proposal exactly as it was submitted.
    public func submittedContent(_ submission: Submission) throws(ProposalError) -> ProposalContent {
        try content(at: submission.version)
    }

    /// Whether the submitted version still hashes to the recorded content hash.
    public func verify(_ submission: Submission) throws(ProposalError) -> Bool {
        try submittedContent(submission).contentHash == submission.contentHash
    }

    /// Withdraws the proposal (the lead partner only; not after a decision). Final.
    public mutating func withdraw(at now: Date) throws(ProposalError) {
        let field = "process.\(Key.withdrawnAt)"
        let content = try content()
        try requireLead(content, doing: "withdraws")
        guard content.decision == nil else {
            throw ProposalError(.stepNotAllowed, field: field, "the committee's decision is recorded; it can no longer be withdrawn", danish: "forretningsudvalgets afgørelse er registreret; forslaget kan ikke længere trækkes tilbage")
        }
        guard content.withdrawal == nil else { return }
        try change { proposal throws(ProposalError) in
            try proposal.write(.string(proposal.actor.organisation), forKey: Key.withdrawnBy, in: ProposalSchema.process, field: "process.\(Key.withdrawnBy)")
            try proposal.write(.int(Int64(now.timeIntervalSince1970.rounded(.down))), forKey: Key.withdrawnAt, in: ProposalSchema.process, field: field)
        }
    }

    /// Records the professional qualification's result (the secretariat only; after a
    /// submission for qualification).
    public mutating func recordQualification(_ result: Qualification.Result, note: String, at now: Date) throws(ProposalError) {
        let field = "secretariat.\(Key.qualification)"
        try requireSecretariat(field: field)
        let note = try Self.checkText(note, field: "secretariat.\(Key.qualificationNote)", limit: 10_000)
        let content = try content()
        guard content.submissions.contains(where: { $0.step == .qualification }) else {
            throw ProposalError(.stepNotAllowed, field: field, "nothing has been submitted for professional qualification", danish: "intet er afleveret til faglig kvalificering")
        }
        guard content.decision == nil, content.withdrawal == nil else {
            throw ProposalError(.stepNotAllowed, field: field, "the proposal is closed", danish: "forslaget er lukket")
        }
        try change { proposal throws(ProposalError) in
            let map = ProposalSchema.secretariat
            try proposal.write(.string(result.rawValue), forKey: Key.qualification, in: map, field: field)
            try proposal.write(.string(note), forKey: Key.qualificationNote, in: map, field: "secretariat.\(Key.qualificationNote)")
            try proposal.write(.int(Int64(now.timeIntervalSince1970.rounded(.down))), forKey: Key.qualifiedAt, in: map, field: "secretariat.\(Key.qualifiedAt)")
            try proposal.appendSecretariatRecord(kind: Key.qualification, result: result.rawValue, note: note, grantedAmount: nil, at: now)
        }
    }

    /// Records the executive committee's decision (the secretariat only; after a
    /// submission for the approval process). `grantedAmount` is for approvals.
    public mutating func recordDecision(_ outcome: Decision.Outcome, note: String, grantedAmount: Int64? = nil,
                                        at now: Date) throws(ProposalError) {
        let field = "secretariat.\(Key.decision)"
        try requireSecretariat(field: field)
        let note = try Self.checkText(note, field: "secretariat.\(Key.decisionNote)", limit: 10_000)
        if let grantedAmount {
            _ = try Kroner.check(grantedAmount, field: "secretariat.\(Key.grantedAmount)")
            guard outcome == .approved else {
                throw ProposalError(.invalidValue, field: "secretariat.\(Key.grantedAmount)", "only an approval grants an amount", danish: "kun en godkendelse bevilger et beløb")
            }
        }
        let content = try content()
        guard content.submissions.contains(where: { $0.step == .approval }) else {
            throw ProposalError(.stepNotAllowed, field: field, "nothing has been submitted for the approval process", danish: "intet er afleveret til godkendelsesprocessen")
        }
        guard content.withdrawal == nil else { throw ProposalError(.stepNotAllowed, field: field, "the proposal was withdrawn", danish: "forslaget er trukket tilbage") }
        try change { proposal throws(ProposalError) in
            let map = ProposalSchema.secretariat
            try proposal.write(.string(outcome.rawValue), forKey: Key.decision, in: map, field: field)
            try proposal.write(.string(note), forKey: Key.decisionNote, in: map, field: "secretariat.\(Key.decisionNote)")
            if let grantedAmount {
                try proposal.write(.int(grantedAmount), forKey: Key.grantedAmount, in: map, field: "secretariat.\(Key.grantedAmount)")
            }
            try proposal.write(.int(Int64(now.timeIntervalSince1970.rounded(.down))), forKey: Key.decidedAt, in: map, field: "secretariat.\(Key.decidedAt)")
            try proposal.appendSecretariatRecord(kind: Key.decision, result: outcome.rawValue, note: note, grantedAmount: grantedAmount, at: now)
        }
    }

    /// Appends one entry to ``ProposalSchema/secretariatRecords``: a changed result is
    /// a new, dated entry; the earlier ones are kept.
    private mutating func appendSecretariatRecord(kind: String, result: String, note: String, grantedAmount: Int64?,
                                                  at now: Date) throws(ProposalError) {
        let field = "secretariatRecords"
        let (item, map) = try appendMapItem(to: ProposalSchema.secretariatRecords, field: field)
        let itemField = "\(field)[\(item)]"
        try write(.string(kind), forKey: Key.kind, in: map, field: "\(itemField).\(Key.kind)")
        try write(.string(result), forKey: Key.result, in: map, field: "\(itemField).\(Key.result)")
        try write(.string(note), forKey: Key.note, in: map, field: "\(itemField).\(Key.note)")
        if let grantedAmount { try write(.int(grantedAmount), forKey: Key.grantedAmount, in: map, field: "\(itemField).\(Key.grantedAmount)") }
        try write(.int(Int64(now.timeIntervalSince1970.rounded(.down))), forKey: Key.at, in: map, field: "\(itemField).\(Key.at)")
        try write(.string(actor.organisation), forKey: Key.by, in: map, field: "\(itemField).\(Key.by)")
    }

    private func requireLead(_ content: ProposalContent, doing what: String) throws(ProposalError) {
        let isLead = actor.role == .member && content.lead == actor.organisation
        guard isLead else {
            throw ProposalError(.notPermitted, field: ProposalSchema.Key.participants,
                                "only the lead partner \(what) the proposal; \(actor.displayName) is not its lead", danish: "kun tovholderen \(what == "submits" ? "afleverer" : "trækker") forslaget\(what == "submits" ? "" : " tilbage"); \(actor.displayName) er ikke tovholder")
        }
    }

    private func requireSecretariat(field: String) throws(ProposalError) {
        guard actor.role == .secretariat else {
            throw ProposalError(.notPermitted, field: field, "only Klimaalliancen's secretariat records this", danish: "kun Klimaalliancens sekretariat registrerer dette")
        }
    }
}

extension ProcessStatus {
    /// The status of `content` at `now`: a recorded decision, else a withdrawal, else the
    /// furthest step submitted (in the approval process until the committee's meeting
    /// day, treated by the committee from then on), else a draft.
    public init(of content: ProposalContent, at now: Date, calendar: RoundCalendar) {
        if let decision = content.decision {
            self = decision.outcome == .approved ? .approved : .rejected
        } else if content.withdrawal != nil {
            self = .withdrawn
        } else if let approval = content.submissions.last(where: { $0.step == .approval }) {
            let meeting = try? calendar.round(id: approval.roundID).committeeMeetingInstant()
            self = meeting.map { now >= $0 } == true ? .treatedByCommittee : .inApprovalProcess
        } else if content.submissions.contains(where: { $0.step == .qualification }) {
            self = .submittedForQualification
        } else {
            self = .draft
        }
    }
}
