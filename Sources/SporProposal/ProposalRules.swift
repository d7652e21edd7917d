import Foundation

/// One unmet requirement or risk found by ``ProposalRules/validate(_:at:attempting:calendar:)``.
public struct Finding: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable {
        /// Blocks submission.
        case error
        /// Worth acting on; does not block.
        case warning
    }

    /// A stable code for scripts and tests ("tooFewPublicParticipants").
    public let code: String
    public let severity: Severity
    /// The field concerned ("participants", "budget", "developmentElement").
    public let field: String
    public let danish: String
    public let english: String

    public var description: String { "\(severity.rawValue) \(code) [\(field)]: \(english)" }

    public init(code: String, severity: Severity, field: String, danish: String, english: String) {
        self.code = code
        self.severity = severity
        self.field = field
        self.danish = danish
        self.english = english
    }
}

/// The call's rules as code: what a klimaudviklingsspor proposal needs before it can be
/// submitted, each finding with a reason a user can act on.
public enum ProposalRules {
    /// How close a deadline must be to warn about it.
    public static let deadlineWarning: TimeInterval = 7 * 24 * 3600
    /// The partnership's years: milestones outside them are suspicious.
    public static let partnershipYears = 2024...2027
    /// The fewest municipalities and regions (lead and partners) a track needs.
    public static let minimumPublicParticipants = 3

    /// Every unmet requirement of `content` at `now`, errors first in a fixed order.
    ///
    /// `attempting` is the step about to be submitted; nil means the next step the
    /// proposal's status leads to (none once it is in the approval process or closed).
    /// Complexity: O(participants + budget lines + milestones + comments + sections).
    public static func validate(
        _ content: ProposalContent, at now: Date, attempting step: Step? = nil, calendar: RoundCalendar = .builtIn
    ) -> [Finding] {
        var findings = Findings()
        checkSections(content, &findings)
        checkParticipants(content, &findings)
        checkMoney(content, &findings)
        checkRoundAndDeadline(content, at: now, attempting: step, calendar: calendar, &findings)
        checkStoredData(content, &findings)
        checkTimeline(content, &findings)
        let open = content.comments.filter { !$0.resolved }.count
        if open > 0 {
            findings.warning("openComments", "comments",
                             "\(open) kommentar\(open == 1 ? "" : "er") er ikke løst.",
                             "\(open) comment\(open == 1 ? " is" : "s are") not resolved.")
        }
        return findings.all.filter { $0.severity == .error } + findings.all.filter { $0.severity == .warning }
    }

    private static func isBlank(_ text: String) -> Bool { text.trimmingWhitespace().isEmpty }

    private static func checkSections(_ content: ProposalContent, _ findings: inout Findings) {
        let required: [(Section, String, String, String)] = [
            (.title, "titleMissing", "Forslaget mangler en titel.", "The proposal has no title."),
            (.summary, "summaryMissing", "Skriv et kort resumé af sporet.", "Write a short summary of the track."),
            (.challenge, "challengeMissing",
             "Beskriv den konkrete udfordring, sporet tager udgangspunkt i.",
             "Describe the concrete challenge the track starts from."),
            (.climatePlanLink, "challengeNotLinkedToClimatePlan",
             "Udfordringen skal kobles til deltagernes klimahandlingsplaner.",
             "Link the challenge to the participants' climate action plans."),
            (.developmentElement, "developmentElementMissing",
             "Beskriv sporets udviklings-, test- eller demonstrationselement; implementering af kendte løsninger støttes ikke.",
             "Describe the track's development, test or demonstration element; implementing known solutions is not funded."),
            (.notKnownSolution, "notKnownSolutionMissing",
             "Forklar, hvorfor sporet ikke er implementering af en kendt og afprøvet løsning.",
             "Explain why the track is not implementation of a known, proven solution."),
            (.knowledgeSharing, "knowledgeSharingMissing",
             "Beskriv, hvordan resultaterne stilles til rådighed for alle kommuner og regioner.",
             "Describe how the results will be made available to all municipalities and regions."),
        ]
        for (section, code, danish, english) in required where isBlank(content.text(section)) {
            findings.error(code, section.key, danish, english)
        }
        for section in Section.allCases where !section.isRequired && section != .cofinancing && isBlank(content.text(section)) {
            findings.warning("sectionEmpty", section.key,
                             "Afsnittet »\(section.danishTitle)« er tomt.", "The section \"\(section.englishTitle)\" is empty.")
        }
        if content.title.unicodeScalars.count > 150 {
            findings.warning("titleTooLong", Section.title.key, "Titlen er over 150 tegn.", "The title is longer than 150 characters.")
        }
        if content.text(.summary).unicodeScalars.count > 2_000 {
            findings.warning("summaryTooLong", Section.summary.key,
                             "Resuméet er over 2.000 tegn; det skal være kort.", "The summary is longer than 2,000 characters; keep it short.")
        }
    }

    private static func checkParticipants(_ content: ProposalContent, _ findings: inout Findings) {
        let field = "participants"
        var publicCodes = Set<String>()
        var seen = Set<String>()
        var leads = 0
        for participant in content.participants {
            guard let organisation = participant.organisation, let role = participant.role else {
                findings.error("participantIncomplete", "\(field)[\(participant.id)]",
                               "En deltager mangler organisation eller rolle.", "A participant has no organisation or no role.")
                continue
            }
            if !seen.insert(organisation.storedName).inserted {
                findings.warning("duplicateParticipant", "\(field)[\(participant.id)]",
                                 "\(organisation.name) står som deltager mere end én gang.",
                                 "\(organisation.name) is listed as a participant more than once.")
            }
            if role == .lead { leads += 1 }
            if role != .observer, case let .registered(registered) = organisation { publicCodes.insert(registered.code) }
        }
        if publicCodes.count < minimumPublicParticipants {
            findings.error("tooFewPublicParticipants", field,
                           "Et spor skal have mindst \(minimumPublicParticipants) kommuner eller regioner som deltagere (tovholder eller partner); der er \(publicCodes.count).",
                           "A track needs at least \(minimumPublicParticipants) municipalities or regions as participants (lead or partner); it has \(publicCodes.count).")
        }
        if leads == 0, let lead = content.members.first(where: { $0.role == .lead }) {
            let name = Organisation.withCode(lead.organisation)?.officialName ?? lead.organisation
            findings.error("leadNotParticipant", field, "Tovholderen, \(name), står ikke blandt deltagerne.",
                           "The lead partner, \(name), is not listed among the participants.")
        } else if leads == 0 {
            findings.error("noLeadPartner", field, "Udpeg en tovholder blandt deltagerne.", "Name a lead partner among the participants.")
        } else if leads > 1 {
            findings.error("severalLeadPartners", field, "Der er \(leads) tovholdere; der må kun være én.",
                           "There are \(leads) lead partners; there must be exactly one.")
        }
    }

    private static func checkMoney(_ content: ProposalContent, _ findings: inout Findings) {
        var requestedInBudget: Int64 = 0
        var ownInBudget: Int64 = 0
        for line in content.budget {
            guard let amount = line.amount, let source = line.source, !isBlank(line.item) else {
                findings.error("budgetLineIncomplete", "budget[\(line.id)]",
                               "En budgetlinje mangler beskrivelse, beløb eller finansieringskilde.",
                               "A budget line has no description, amount or funding source.")
                continue
            }
            switch source {
            case .klimaalliancen: requestedInBudget += amount
            case .own: ownInBudget += amount
            case .other: break
            }
        }
        if let requested = content.amountRequested {
            if requested != requestedInBudget {
                findings.error("budgetMismatch", "budget",
                               "Budgetlinjer finansieret af Klimaalliancen summerer til \(Wording.kroner(requestedInBudget)), men der søges om \(Wording.kroner(requested)).",
                               "Budget lines funded by Klimaalliancen add up to \(Wording.kroner(requestedInBudget)), but \(Wording.kroner(requested)) is requested.")
            }
        } else {
            findings.error("amountRequestedMissing", ProposalSchema.Key.amountRequested,
                           "Angiv det beløb, der søges om fra Klimaalliancen.", "State the amount requested from Klimaalliancen.")
        }
        let participantsCofinance = content.participants.contains { $0.cofinancingCash > 0 || $0.cofinancingHours > 0 }
        if !participantsCofinance, ownInBudget == 0, isBlank(content.text(.cofinancing)) {
            findings.error("cofinancingNotAddressed", Section.cofinancing.key,
                           "Forslaget skal forholde sig til medfinansiering: angiv deltagernes bidrag (kroner eller timer), budgetlinjer med egen finansiering eller en beskrivelse.",
                           "The proposal must address co-financing: give participants' contributions (kroner or hours), own-funded budget lines or a description.")
        }
    }

    private static func checkRoundAndDeadline(
        _ content: ProposalContent, at now: Date, attempting step: Step?, calendar: RoundCalendar, _ findings: inout Findings
    ) {
        let field = ProposalSchema.Key.round
        guard let roundID = content.roundID else {
            findings.error("roundMissing", field, "Vælg den ansøgningsrunde, forslaget er til.", "Choose the round the proposal is for.")
            return
        }
        guard let round = try? calendar.round(id: roundID) else {
            findings.error("roundUnknown", field, "Runden »\(roundID)« findes ikke.", "There is no round \"\(roundID)\".")
            return
        }
        let status = ProcessStatus(of: content, at: now, calendar: calendar)
        let next: Step? = step ?? {
            switch status {
            case .draft: .qualification
            case .submittedForQualification: .approval
            default: nil
            }
        }()
        guard let next, let deadline = try? round.deadlineInstant(for: next) else { return }
        let local = round.deadline(for: next)
        if now >= deadline {
            findings.error("deadlinePassed", "submissions",
                           "Fristen for \(next.danishName) i runden \(round.danishName) var \(Wording.danish(local)).",
                           "The deadline for \(next.englishName) in \(round.englishName) was \(Wording.english(local)).")
        } else if deadline.timeIntervalSince(now) <= deadlineWarning {
            findings.warning("deadlineSoon", "submissions",
                             "Fristen for \(next.danishName) er \(Wording.danish(local)).",
                             "The deadline for \(next.englishName) is \(Wording.english(local)).")
        }
    }

    private static func checkStoredData(_ content: ProposalContent, _ findings: inout Findings) {
        for value in content.unreadable {
            findings.error("unreadableValue", value.field,
                           "Værdien \(value.stored) passer ikke til feltet (forventet: \(value.expected)); skriv feltet igen.",
                           "The stored value \(value.stored) does not fit the field (expected \(value.expected)); write the field again.")
        }
        for conflict in content.conflicts {
            let values = conflict.candidates.map { "\($0.value) (\($0.author.name))" }.joined(separator: ", ")
            findings.warning("fieldConflict", conflict.field,
                             "Samtidige ændringer er uenige: \(values). Vælg en værdi.",
                             "Concurrent edits disagree: \(values). Choose one value.")
        }
    }

    private static func checkTimeline(_ content: ProposalContent, _ findings: inout Findings) {
        if content.milestones.isEmpty {
            findings.warning("noMilestones", "milestones", "Tidsplanen har ingen milepæle.", "The timeline has no milestones.")
        }
        for milestone in content.milestones {
            guard let date = milestone.date else {
                findings.error("milestoneUndated", "milestones[\(milestone.id)]",
                               "Milepælen »\(milestone.title)« har ingen gyldig dato.", "The milestone \"\(milestone.title)\" has no valid date.")
                continue
            }
            if !partnershipYears.contains(date.year) {
                findings.warning("milestoneOutsidePartnership", "milestones[\(milestone.id)]",
                                 "Milepælen »\(milestone.title)« (\(date)) ligger uden for partnerskabets år \(partnershipYears.lowerBound)–\(partnershipYears.upperBound).",
                                 "The milestone \"\(milestone.title)\" (\(date)) lies outside the partnership's years \(partnershipYears.lowerBound)–\(partnershipYears.upperBound).")
            }
        }
        if content.qualification?.result == .needsChanges, content.decision == nil {
            findings.warning("qualificationNeedsChanges", "secretariat.qualification",
                             "Sekretariatet har bedt om ændringer efter den faglige kvalificering.",
                             "The secretariat asked for changes after the professional qualification.")
        }
    }
}

/// Collects findings in the order the checks run.
private struct Findings {
    var all: [Finding] = []

    mutating func error(_ code: String, _ field: String, _ danish: String, _ english: String) {
        all.append(Finding(code: code, severity: .error, field: field, danish: danish, english: english))
    }

    mutating func warning(_ code: String, _ field: String, _ danish: String, _ english: String) {
        all.append(Finding(code: code, severity: .warning, field: field, danish: danish, english: english))
    }
}
