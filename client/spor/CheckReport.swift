import SporProposal

/// `spor check`'s text for a person: each finding in the user's language, under a
/// name for what it is about (never an item id), ending with the command that fixes
/// it; then one line saying whether anything blocks the step.
struct CheckReport {
    let id: String
    let step: Step
    let findings: [Finding]
    let language: Language

    var text: String {
        let errors = findings.filter { $0.severity == .error }.count
        var lines = findings.map(line)
        if errors == 0 {
            lines.append(language.text("Klar: intet blokerer \(language.name(of: step)).",
                                       "Ready: nothing blocks the \(language.name(of: step))."))
        } else {
            lines.append(errors == 1
                ? language.text("1 problem blokerer indsendelsen.", "1 problem blocks submission.")
                : language.text("\(errors) problemer blokerer indsendelsen.", "\(errors) problems block submission."))
        }
        return lines.joined(separator: "\n")
    }

    private func line(_ finding: Finding) -> String {
        let mark = finding.severity == .error ? "✗" : "!"
        let message = language.text(finding.danish, finding.english)
        let fix = fixCommand(for: finding).map { " → " + $0 } ?? ""
        return "\(mark) \(subject(of: finding)): \(message)\(fix)"
    }

    /// What the finding is about, as a person calls it: the section's title, or the
    /// part of the proposal ("Deltagere"), without the item id a field may carry
    /// ("participants[0751/ab@3]").
    func subject(of finding: Finding) -> String {
        let field = finding.field.split(separator: "[").first.map(String.init) ?? finding.field
        if let section = Section(rawValue: field) { return language.title(of: section) }
        switch field {
        case "participants": return language.text("Deltagere", "Participants")
        case "budget": return language.text("Budget", "Budget")
        case "milestones": return language.text("Tidsplan", "Timeline")
        case "comments": return language.text("Kommentarer", "Comments")
        case ProposalSchema.Key.amountRequested: return language.text("Ansøgt beløb", "Amount requested")
        case ProposalSchema.Key.round: return language.text("Runde", "Round")
        case "submissions": return language.text("Indsendelse", "Submission")
        case "secretariat.qualification": return language.text("Faglig kvalificering", "Qualification")
        default: return field
        }
    }

    /// The command that fixes the finding; nil where no command does (a passed
    /// deadline, a step only the lead may take).
    func fixCommand(for finding: Finding) -> String? {
        let field = finding.field.split(separator: "[").first.map(String.init) ?? finding.field
        if let section = Section(rawValue: field) { return "spor edit \(id) \(language.key(of: section))" }
        let amount = language.text("BELØB", "AMOUNT")
        switch finding.code {
        case "tooFewPublicParticipants":
            return "spor participant add \(id) --org \(language.text("KOMMUNE", "MUNICIPALITY")) --role partner"
        case "noLeadPartner":
            return "spor participant edit \(id) \(language.text("NR", "NUMBER")) --role lead"
        case "participantIncomplete", "duplicateParticipant", "leadNotParticipant", "severalLeadPartners":
            return "spor participant list \(id)"
        case "budgetLineIncomplete", "budgetMismatch":
            return "spor budget list \(id)"
        case "amountRequestedMissing":
            return "spor set \(id) amountRequested \(amount)"
        case "roundMissing", "roundUnknown":
            return "spor set \(id) round \(language.text("RUNDE", "ROUND")) (spor rounds)"
        case "noMilestones":
            return "spor milestone add \(id) --title \(language.text("TEKST", "TEXT")) --date \(language.text("ÅÅÅÅ-MM-DD", "YYYY-MM-DD"))"
        case "milestoneUndated", "milestoneOutsidePartnership":
            return "spor milestone list \(id)"
        case "openComments":
            return "spor comment list \(id)"
        case "fieldConflict", "unreadableValue":
            return "spor conflicts \(id)"
        case "qualificationNeedsChanges":
            return "spor show \(id)"
        case "deadlineSoon":
            return "spor submit \(id)"
        default:
            return nil
        }
    }
}
