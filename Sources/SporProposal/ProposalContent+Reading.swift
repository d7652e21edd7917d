import Foundation
import SporCRDT

extension ProposalContent {
    /// Reads every part of the proposal from `source`.
    ///
    /// Complexity: proportional to the proposal's current size for the live document;
    /// for a past version, each section's text and each value container's history is
    /// replayed (see ``Document/view(at:)``).
    static func read(from source: some ProposalSource) throws(CRDTError) -> ProposalContent {
        typealias Key = ProposalSchema.Key
        var reader = ContentReader(source)
        let proposal = ProposalSchema.proposal

        var texts: [String] = []
        texts.reserveCapacity(Section.allCases.count)
        for section in Section.allCases { texts.append(try source.text(ProposalSchema.text(of: section))) }

        let amount = try reader.int(Key.amountRequested, in: proposal, field: Key.amountRequested)
        let round = try reader.string(Key.round, in: proposal, field: Key.round)

        var participants: [Participant] = []
        for (id, map, field) in try reader.itemMaps(ProposalSchema.participants, name: Key.participants) {
            let stored = try reader.string(Key.organisation, in: map, field: "\(field).\(Key.organisation)")
            let kind = try reader.string(Key.kind, in: map, field: "\(field).\(Key.kind)")
            var organisation: ParticipantOrganisation?
            if let stored {
                if let other = kind.flatMap(ParticipantOrganisation.OtherKind.init(rawValue:)) {
                    organisation = .other(name: stored, kind: other)
                } else if let registered = Organisation.withCode(stored) {
                    organisation = .registered(registered)
                } else {
                    reader.unreadable.append(UnreadableValue(
                        field: "\(field).\(Key.organisation)", stored: stored,
                        expected: "the code of a Danish municipality or region, or a name with a kind"))
                }
            }
            participants.append(Participant(
                id: id, organisation: organisation,
                role: try reader.choice(Key.role, in: map, field: "\(field).\(Key.role)", as: ParticipantRole.self),
                contactName: try reader.string(Key.contactName, in: map, field: "\(field).\(Key.contactName)") ?? "",
                contactEmail: try reader.string(Key.contactEmail, in: map, field: "\(field).\(Key.contactEmail)") ?? "",
                cofinancingCash: try reader.int(Key.cofinancingCash, in: map, field: "\(field).\(Key.cofinancingCash)") ?? 0,
                cofinancingHours: try reader.int(Key.cofinancingHours, in: map, field: "\(field).\(Key.cofinancingHours)") ?? 0))
        }

        var budget: [BudgetLine] = []
        for (id, map, field) in try reader.itemMaps(ProposalSchema.budget, name: Key.budget) {
            budget.append(BudgetLine(
                id: id,
                item: try reader.string(Key.item, in: map, field: "\(field).\(Key.item)") ?? "",
                amount: try reader.int(Key.amount, in: map, field: "\(field).\(Key.amount)"),
                source: try reader.choice(Key.source, in: map, field: "\(field).\(Key.source)", as: FundingSource.self),
                year: try reader.int(Key.year, in: map, field: "\(field).\(Key.year)").map { Int($0) }))
        }

        var milestones: [Milestone] = []
        for (id, map, field) in try reader.itemMaps(ProposalSchema.milestones, name: Key.milestones) {
            var date: CalendarDate?
            if let stored = try reader.string(Key.date, in: map, field: "\(field).\(Key.date)") {
                date = try? CalendarDate(parsing: stored, field: field)
                if date == nil {
                    reader.unreadable.append(UnreadableValue(field: "\(field).\(Key.date)", stored: stored, expected: "a date YYYY-MM-DD"))
                }
            }
            milestones.append(Milestone(
                id: id, title: try reader.string(Key.title, in: map, field: "\(field).\(Key.title)") ?? "", date: date))
        }

        var extraSections: [ExtraSection] = []
        for (id, map, field) in try reader.itemMaps(ProposalSchema.extraSections, name: Key.extraSections) {
            extraSections.append(ExtraSection(
                id: id, heading: try reader.string(Key.heading, in: map, field: "\(field).\(Key.heading)") ?? "",
                body: try source.text(map.child(Key.body, .text))))
        }

        var comments: [Comment] = []
        for (id, map, field) in try reader.itemMaps(ProposalSchema.comments, name: Key.comments) {
            let section = try reader.choice(Key.section, in: map, field: "\(field).\(Key.section)", as: Section.self)
            func anchor(_ key: String, _ reader: inout ContentReader<some ProposalSource>) throws(CRDTError) -> Document.TextAnchor {
                let stored = try reader.string(key, in: map, field: "\(field).\(key)") ?? ""
                guard let anchor = AnchorCoding.decode(stored) else {
                    reader.unreadable.append(UnreadableValue(field: "\(field).\(key)", stored: stored, expected: "an anchor agent@seq"))
                    return Document.TextAnchor(character: nil)
                }
                return anchor
            }
            var replies: [Comment.Reply] = []
            for (replyID, replyMap, replyField) in try reader.itemMaps(try map.child(Key.replies, .list), name: "\(field).\(Key.replies)") {
                replies.append(Comment.Reply(
                    id: replyID, author: Self.author(of: replyID),
                    text: try reader.string(Key.text, in: replyMap, field: "\(replyField).\(Key.text)") ?? "",
                    createdAt: try reader.date(Key.createdAt, in: replyMap, field: "\(replyField).\(Key.createdAt)")))
            }
            comments.append(Comment(
                id: id, section: section,
                start: try anchor(Key.start, &reader), end: try anchor(Key.end, &reader),
                quote: try reader.string(Key.quote, in: map, field: "\(field).\(Key.quote)") ?? "",
                author: Self.author(of: id),
                text: try reader.string(Key.text, in: map, field: "\(field).\(Key.text)") ?? "",
                resolved: try reader.bool(Key.resolved, in: map, field: "\(field).\(Key.resolved)") ?? false,
                createdAt: try reader.date(Key.createdAt, in: map, field: "\(field).\(Key.createdAt)"),
                replies: replies))
        }

        var submissions: [Submission] = []
        for (id, map, field) in try reader.itemMaps(ProposalSchema.submissions, name: "submissions") {
            let step = try reader.choice(Key.step, in: map, field: "\(field).\(Key.step)", as: Step.self)
            let roundID = try reader.string(Key.round, in: map, field: "\(field).\(Key.round)")
            let heads = try reader.string(Key.heads, in: map, field: "\(field).\(Key.heads)")
            let hash = try reader.string(Key.hash, in: map, field: "\(field).\(Key.hash)")
            let at = try reader.date(Key.at, in: map, field: "\(field).\(Key.at)")
            let by = try reader.string(Key.by, in: map, field: "\(field).\(Key.by)")
            let events = heads.map { $0.isEmpty ? [] : $0.split(separator: "\n").map { EventIDCoding.decode(String($0)) } }
            guard let step, let roundID, let events, !events.contains(where: { $0 == nil }), let hash, let at, let by else {
                reader.unreadable.append(UnreadableValue(field: field, stored: "an incomplete submission record",
                                                         expected: "step, round, heads, hash, at and by"))
                continue
            }
            submissions.append(Submission(id: id, step: step, roundID: roundID, version: Version(heads: events.compactMap { $0 }),
                                          contentHash: hash, submittedAt: at, by: by))
        }

        let secretariat = ProposalSchema.secretariat
        var qualification: Qualification?
        if let result = try reader.choice(Key.qualification, in: secretariat, field: "secretariat.\(Key.qualification)", as: Qualification.Result.self) {
            qualification = Qualification(
                result: result,
                note: try reader.string(Key.qualificationNote, in: secretariat, field: "secretariat.\(Key.qualificationNote)") ?? "",
                at: try reader.date(Key.qualifiedAt, in: secretariat, field: "secretariat.\(Key.qualifiedAt)"))
        }
        var decision: Decision?
        if let outcome = try reader.choice(Key.decision, in: secretariat, field: "secretariat.\(Key.decision)", as: Decision.Outcome.self) {
            decision = Decision(
                outcome: outcome,
                note: try reader.string(Key.decisionNote, in: secretariat, field: "secretariat.\(Key.decisionNote)") ?? "",
                grantedAmount: try reader.int(Key.grantedAmount, in: secretariat, field: "secretariat.\(Key.grantedAmount)"),
                at: try reader.date(Key.decidedAt, in: secretariat, field: "secretariat.\(Key.decidedAt)"))
        }
        var withdrawal: Withdrawal?
        if let at = try reader.date(Key.withdrawnAt, in: ProposalSchema.process, field: "process.\(Key.withdrawnAt)") {
            withdrawal = Withdrawal(at: at, by: try reader.string(Key.withdrawnBy, in: ProposalSchema.process,
                                                                  field: "process.\(Key.withdrawnBy)") ?? "")
        }

        var qualificationHistory: [Qualification] = []
        var decisionHistory: [Decision] = []
        for (_, map, field) in try reader.itemMaps(ProposalSchema.secretariatRecords, name: "secretariatRecords") {
            let kind = try reader.string(Key.kind, in: map, field: "\(field).\(Key.kind)")
            let result = try reader.string(Key.result, in: map, field: "\(field).\(Key.result)") ?? ""
            let note = try reader.string(Key.note, in: map, field: "\(field).\(Key.note)") ?? ""
            let at = try reader.date(Key.at, in: map, field: "\(field).\(Key.at)")
            if kind == Key.qualification, let result = Qualification.Result(rawValue: result) {
                qualificationHistory.append(Qualification(result: result, note: note, at: at))
            } else if kind == Key.decision, let outcome = Decision.Outcome(rawValue: result) {
                decisionHistory.append(Decision(outcome: outcome, note: note,
                                                grantedAmount: try reader.int(Key.grantedAmount, in: map, field: "\(field).\(Key.grantedAmount)"),
                                                at: at))
            } else {
                reader.unreadable.append(UnreadableValue(field: field, stored: "\(kind ?? "?") \(result)",
                                                         expected: "a qualification or decision record"))
            }
        }

        var members: [Member] = []
        for (organisation, register) in try source.map(ProposalSchema.members) {
            guard let value = register.value else { continue }
            guard case let .string(stored) = value, let role = ParticipantRole(rawValue: stored) else {
                reader.unreadable.append(UnreadableValue(field: "members.\(organisation)", stored: value.displayText,
                                                         expected: "lead, partner or observer"))
                continue
            }
            members.append(Member(organisation: organisation, role: role))
        }
        members.sort { ($0.role.rank, $0.organisation) < ($1.role.rank, $1.organisation) }
        if members.contains(where: { $0.role == .lead }) {
            participants = participants.map { $0.withRole(fromMembers: members) }
        }

        return ProposalContent(
            version: source.version, sectionTexts: texts, amountRequested: amount, roundID: round,
            participants: participants, budget: budget, milestones: milestones, extraSections: extraSections,
            comments: comments, submissions: submissions, qualification: qualification, decision: decision,
            qualificationHistory: qualificationHistory, decisionHistory: decisionHistory,
            withdrawal: withdrawal, members: members,
            conflicts: reader.conflicts, unreadable: reader.unreadable,
            versionNames: try source.map(ProposalSchema.versionNames).filter { $0.value.value != nil }.map(\.key).sorted())
    }

    /// The organisation that created list item `id`: its agent's prefix, or the agent's
    /// whole name when it has none.
    static func author(of id: ListItemID) -> String {
        ProposalSchema.organisation(of: id.event.agent) ?? id.event.agent.name
    }
}
