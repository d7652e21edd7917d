import Foundation
import SporProposal

/// `spor show`'s text for a person: the whole proposal in the user's language —
/// every section in the call's order (required ones that are empty marked), the
/// participants with their contact and co-financing, the budget with totals per
/// source, the milestones, and the process record: submissions, the qualification
/// and the decision with their notes and the amount granted.
struct ShowReport {
    let id: String
    let content: ProposalContent
    let status: ProcessStatus
    let calendar: RoundCalendar
    let language: Language

    var text: String {
        var lines = ["\(content.title.isEmpty ? language.text("(uden titel)", "(untitled)") : content.title)  [\(id)]"]
        lines += header
        lines += process
        lines += members
        lines += participants
        lines += budget
        lines += milestones
        lines += sections
        let open = content.comments.filter { !$0.resolved }.count
        if open > 0 {
            lines.append("\n" + (open == 1 ? language.text("1 åben kommentar", "1 open comment")
                                           : language.text("\(open) åbne kommentarer", "\(open) open comments"))
                         + " (`spor comment list \(id)`).")
        }
        for conflict in content.conflicts {
            let values = conflict.candidates.map { "\(String(reflecting: $0.value)) (\(displayName(ProposalSchema.organisation(of: $0.author))))" }
            lines.append(language.text("⚠ konflikt i \(conflict.field): ", "⚠ conflict in \(conflict.field): ")
                         + values.joined(separator: language.text(" eller ", " or ")) + " — `spor conflicts \(id)`")
        }
        return lines.joined(separator: "\n")
    }

    private var header: [String] {
        let round = content.roundID.map { id in (try? calendar.round(id: id)).map { language.text($0.danishName, $0.englishName) } ?? id }
        return [language.text("Runde: ", "Round: ") + (round ?? language.text("ingen endnu (spor set \(id) round RUNDE)", "none yet (spor set \(id) round ROUND)"))
                    + language.text("   Status: ", "   Status: ") + language.name(of: status),
                language.text("Ansøgt beløb: ", "Amount requested: ") + language.kroner(content.amountRequested)]
    }

    private var process: [String] {
        var lines: [String] = []
        for submission in content.submissions {
            lines.append(language.text("Afleveret: ", "Submitted: ") + "\(language.name(of: submission.step)), "
                         + "\(Output.local(submission.submittedAt)), \(displayName(submission.by))")
        }
        if let qualification = content.qualification {
            lines.append(language.text("Faglig kvalificering: \(qualification.result.danishName)", "Qualification: \(qualification.result.englishName)")
                         + (qualification.at.map { " (\(Output.local($0)))" } ?? ""))
            if !qualification.note.isEmpty { lines.append("  " + qualification.note) }
        }
        for earlier in content.qualificationHistory.dropLast() {
            lines.append(language.text("  tidligere kvalificering, erstattet: \(earlier.result.danishName)",
                                       "  earlier qualification, replaced: \(earlier.result.englishName)")
                         + (earlier.at.map { " (\(Output.local($0)))" } ?? ""))
        }
        if let decision = content.decision {
            lines.append(language.text("Afgørelse: \(decision.outcome.danishName)", "Decision: \(decision.outcome.englishName)")
                         + (decision.grantedAmount.map { language.text(", bevilget ", ", granted ") + language.kroner($0) } ?? "")
                         + (decision.at.map { " (\(Output.local($0)))" } ?? ""))
            if !decision.note.isEmpty { lines.append("  " + decision.note) }
        }
        for earlier in content.decisionHistory.dropLast() {
            lines.append(language.text("  tidligere afgørelse, erstattet: \(earlier.outcome.danishName)",
                                       "  earlier decision, replaced: \(earlier.outcome.englishName)")
                         + (earlier.grantedAmount.map { language.text(", bevilget ", ", granted ") + language.kroner($0) } ?? "")
                         + (earlier.at.map { " (\(Output.local($0)))" } ?? ""))
        }
        if let withdrawal = content.withdrawal {
            lines.append(language.text("Trukket tilbage ", "Withdrawn ") + Output.local(withdrawal.at))
        }
        return lines
    }

    private var members: [String] {
        guard !content.members.isEmpty else { return [] }
        return ["\n" + language.text("Adgang på serveren:", "Members on the server:")]
            + content.members.map { "  \(displayName($0.organisation)) — \(language.text($0.role.danishName, $0.role.englishName))" }
    }

    private var participants: [String] {
        var lines = ["\n" + language.text("Deltagere:", "Participants:")]
        guard !content.participants.isEmpty else { return lines + ["  " + language.text("ingen endnu", "none yet")] }
        for (number, participant) in content.participants.enumerated() {
            var line = "  \(number + 1). \(participant.organisation?.name ?? "?") — "
                + (participant.role.map { language.text($0.danishName, $0.englishName) } ?? language.text("ingen rolle", "no role"))
            var details: [String] = []
            if !participant.contactName.isEmpty || !participant.contactEmail.isEmpty {
                details.append([participant.contactName, participant.contactEmail].filter { !$0.isEmpty }.joined(separator: ", "))
            }
            if participant.cofinancingCash > 0 {
                details.append(language.text("medfinansiering ", "co-financing ") + language.kroner(participant.cofinancingCash))
            }
            if participant.cofinancingHours > 0 {
                details.append(language.text("\(participant.cofinancingHours) timer", "\(participant.cofinancingHours) hours"))
            }
            if !details.isEmpty { line += " (" + details.joined(separator: "; ") + ")" }
            lines.append(line)
        }
        return lines
    }

    private var budget: [String] {
        guard !content.budget.isEmpty else { return [] }
        var lines = ["\n" + language.text("Budget:", "Budget:")]
        var totals: [FundingSource: Int64] = [:]
        for (number, line) in content.budget.enumerated() {
            let source = line.source.map { language.text($0.danishName, $0.englishName) } ?? "?"
            lines.append("  \(number + 1). \(line.item): \(language.kroner(line.amount)) (\(source), \(line.year.map(String.init) ?? "?"))")
            if let source = line.source, let amount = line.amount { totals[source, default: 0] += amount }
        }
        for source in FundingSource.allCases where totals[source] != nil {
            lines.append("  " + language.text("I alt, \(source.danishName): ", "Total, \(source.englishName): ")
                         + language.kroner(totals[source]))
        }
        return lines
    }

    private var milestones: [String] {
        guard !content.milestones.isEmpty else { return [] }
        return ["\n" + language.text("Milepæle:", "Milestones:")]
            + content.milestones.map { milestone in
                // "30. juni 2025" / "30 June 2025": the one date format spor shows people.
                let date = milestone.date.map { language == .danish ? Wording.danishShort($0) : Wording.englishShort($0) } ?? "?"
                return "  \(date)  \(milestone.title)"
            }
    }

    private var sections: [String] {
        var lines: [String] = []
        for section in Section.allCases where section != .title {
            let text = content.text(section)
            lines.append("\n## \(language.title(of: section)) [\(language.key(of: section))]")
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                lines.append(section.isRequired
                    ? language.text("(mangler – skal udfyldes: spor edit \(id) \(language.key(of: section)))",
                                    "(missing – required: spor edit \(id) \(language.key(of: section)))")
                    : language.text("(tomt)", "(empty)"))
            } else {
                lines.append(text)
            }
        }
        for extra in content.extraSections {
            lines.append("\n## \(extra.heading)\n\(extra.body)")
        }
        return lines
    }
}
