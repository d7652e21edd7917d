import Foundation
import SporCRDT
import SporProposal

/// What an export shows and in which language.
public struct ExportOptions: Sendable {
    public enum Language: String, Sendable, CaseIterable {
        case danish = "da"
        case english = "en"
    }

    public var language: Language
    /// Whether unresolved comments (with their replies) are included.
    public var includeOpenComments: Bool
    /// Whether the version (its heads) and the content hash are shown — on for a copy
    /// that must be traceable to a version, off for a plain reading copy.
    public var includeVersion: Bool
    /// The instant the export is made: decides the status and which deadlines passed.
    public var now: Date
    public var calendar: RoundCalendar
    /// The proposal's id, recorded in a .docx (with the version) so that importing
    /// the edited file merges with what partners changed since.
    public var proposalID: String?

    public init(language: Language = .danish, includeOpenComments: Bool = false, includeVersion: Bool = true,
                now: Date, calendar: RoundCalendar = .builtIn, proposalID: String? = nil) {
        self.language = language
        self.includeOpenComments = includeOpenComments
        self.includeVersion = includeVersion
        self.now = now
        self.calendar = calendar
        self.proposalID = proposalID
    }
}

/// A proposal laid out for reading and printing: the facts, every section, the
/// participants, the budget with totals, the timeline, the round's deadlines and —
/// optionally — open comments. The Markdown and HTML exports render this same model,
/// so they always agree.
struct ExportModel {
    struct Table {
        var header: [String]
        var rows: [[String]]
        var footer: [[String]] = []
        /// Columns aligned right (amounts).
        var numeric: Set<Int> = []
        /// Columns of hashes: set small and broken anywhere to fit the page.
        var hashes: Set<Int> = []
    }

    struct Fact {
        var name: String
        var value: String
        var isHash = false
    }

    struct CommentBlock {
        var heading: String
        var quote: String
        var paragraphs: [String]
    }

    var language: ExportOptions.Language
    var title: String
    var facts: [Fact] = []
    var sections: [(heading: String, text: String)] = []
    var tables: [(heading: String, table: Table)] = []
    var commentsHeading: String?
    var comments: [CommentBlock] = []

    /// The headings an export writes over generated tables, in both languages: an
    /// import skips them.
    static let generatedHeadings: Set<String> = [
        "deltagere", "participants", "budget", "tidsplan", "timeline", "frister (københavn)", "deadlines (copenhagen time)",
        "afleveringer", "submissions", "åbne kommentarer", "open comments",
    ]

    static func isGeneratedHeading(_ heading: String) -> Bool {
        generatedHeadings.contains(heading.trimmingWhitespace().lowercased())
    }

    /// The title an export shows for a proposal without one.
    static let untitled: Set<String> = ["(uden titel)", "(untitled)"]

    init(_ content: ProposalContent, options: ExportOptions) {
        let danish = options.language == .danish
        func say(_ da: String, _ en: String) -> String { danish ? da : en }
        func kroner(_ value: Int64) -> String { danish ? Wording.kroner(value) : Wording.englishKroner(value) }
        func amount(_ value: Int64) -> String { danish ? Kroner.format(value) : Kroner.format(value).replacingDots() }
        func localTime(_ date: Date) -> String {
            guard let local = try? CopenhagenTime.localTime(of: date) else { return "—" }
            return danish ? Wording.danish(local) : Wording.english(local)
        }
        language = options.language
        title = content.title.trimmingWhitespace().isEmpty ? say("(uden titel)", "(untitled)") : content.title.trimmingWhitespace()

        // Facts.
        let round = content.roundID.flatMap { try? options.calendar.round(id: $0) }
        facts.append(Fact(name: say("Ansøgningsrunde", "Round"), value: round.map { danish ? $0.danishName : $0.englishName } ?? content.roundID ?? "—"))
        let status = ProcessStatus(of: content, at: options.now, calendar: options.calendar)
        facts.append(Fact(name: "Status", value: danish ? status.danishName : status.englishName))
        facts.append(Fact(name: say("Ansøgt beløb fra Klimaalliancen", "Amount requested from Klimaalliancen"),
                           value: content.amountRequested.map(kroner) ?? "—"))
        if let decision = content.decision {
            // The secretariat's decision, with the amount granted beside the amount asked for.
            let outcome = decision.outcome == .approved ? say("Bevilget", "Approved") : say("Afslået", "Rejected")
            facts.append(Fact(name: say("Afgørelse", "Decision"), value: outcome + (decision.at.map { " " + localTime($0) } ?? "")))
            if let granted = decision.grantedAmount {
                facts.append(Fact(name: say("Bevilget beløb", "Amount granted"), value: kroner(granted)))
            }
        }
        if let lead = content.participants.first(where: { $0.role == .lead }), let organisation = lead.organisation {
            facts.append(Fact(name: say("Tovholder", "Lead partner"), value: organisation.name))
        }
        if options.includeVersion {
            facts.append(Fact(name: "Version", value: VersionName.short(content.version)))
            facts.append(Fact(name: say("Indhold (SHA-256)", "Content (SHA-256)"), value: content.contentHash, isHash: true))
        }

        // Sections, then extra sections.
        for section in Section.allCases where section != .title {
            sections.append((danish ? section.danishTitle : section.englishTitle, content.text(section)))
        }
        for extra in content.extraSections { sections.append((extra.heading, extra.body)) }

        // Participants.
        var participants = Table(header: [say("Organisation", "Organisation"), "Type", say("Rolle", "Role"), say("Kontakt", "Contact"),
                                          say("Medfinansiering (kr.)", "Co-financing (DKK)"), say("Timer", "Hours")],
                                 rows: [], numeric: [4, 5])
        var cash: Int64 = 0, hours: Int64 = 0
        for participant in content.participants {
            let contact = [participant.contactName, participant.contactEmail].filter { !$0.isEmpty }.joined(separator: ", ")
            participants.rows.append([
                participant.organisation?.name ?? "—",
                participant.organisation.map { danish ? $0.danishKind : $0.englishKind } ?? "—",
                participant.role.map { danish ? $0.danishName : $0.englishName } ?? "—",
                contact.isEmpty ? "—" : contact,
                amount(participant.cofinancingCash),
                amount(participant.cofinancingHours),
            ])
            cash += participant.cofinancingCash
            hours += participant.cofinancingHours
        }
        participants.footer.append([say("I alt", "Total"), "", "", "", amount(cash), amount(hours)])
        tables.append((say("Deltagere", "Participants"), participants))

        // Budget, with a total per source and overall.
        var budget = Table(header: [say("Post", "Item"), say("År", "Year"), say("Finansiering", "Funding"), say("Beløb (kr.)", "Amount (DKK)")],
                           rows: [], numeric: [3])
        var bySource: [FundingSource: Int64] = [:]
        for line in content.budget {
            budget.rows.append([
                line.item.isEmpty ? "—" : line.item,
                line.year.map(String.init) ?? "—",
                line.source.map { danish ? $0.danishName : $0.englishName } ?? "—",
                line.amount.map(amount) ?? "—",
            ])
            if let source = line.source, let value = line.amount { bySource[source, default: 0] += value }
        }
        for source in FundingSource.allCases {
            budget.footer.append([say("I alt", "Total") + ": " + (danish ? source.danishName : source.englishName), "", "",
                                  amount(bySource[source] ?? 0)])
        }
        budget.footer.append([say("Budget i alt", "Budget total"), "", "", amount(bySource.values.reduce(0, +))])
        tables.append(("Budget", budget))

        // Timeline.
        var milestones = Table(header: [say("Dato", "Date"), say("Milepæl", "Milestone")], rows: [])
        for milestone in content.milestones.sorted(by: { ($0.date?.description ?? "~") < ($1.date?.description ?? "~") }) {
            milestones.rows.append([milestone.date.map { danish ? Wording.danishShort($0) : Wording.englishShort($0) } ?? "—",
                                    milestone.title])
        }
        tables.append((say("Tidsplan", "Timeline"), milestones))

        // The round's deadlines.
        if let round {
            var deadlines = Table(header: [say("Trin", "Step"), say("Frist", "Deadline"), ""], rows: [])
            for step in Step.allCases {
                let passed = (try? round.deadlineInstant(for: step)).map { options.now >= $0 } ?? false
                let name = danish ? step.danishName : step.englishName
                deadlines.rows.append([name.prefix(1).uppercased() + name.dropFirst(),
                                       danish ? Wording.danish(round.deadline(for: step)) : Wording.english(round.deadline(for: step)),
                                       passed ? say("Overskredet", "Passed") : say("Åben", "Open")])
            }
            deadlines.rows.append([say("Forretningsudvalget behandler", "Executive committee decides"),
                                   danish ? Wording.danish(round.committeeMeeting) : Wording.english(round.committeeMeeting), ""])
            tables.append((say("Frister (København)", "Deadlines (Copenhagen time)"), deadlines))
        }

        // Submissions.
        if !content.submissions.isEmpty {
            var submissions = Table(header: [say("Trin", "Step"), say("Afleveret", "Submitted"), say("Af", "By"), "SHA-256"], rows: [],
                                    hashes: [3])
            for submission in content.submissions {
                let name = danish ? submission.step.danishName : submission.step.englishName
                submissions.rows.append([name.prefix(1).uppercased() + name.dropFirst(), localTime(submission.submittedAt),
                                         Organisation.withCode(submission.by)?.officialName ?? submission.by, submission.contentHash])
            }
            tables.append((say("Afleveringer", "Submissions"), submissions))
        }

        // Open comments.
        if options.includeOpenComments {
            commentsHeading = say("Åbne kommentarer", "Open comments")
            for comment in content.comments where !comment.resolved {
                let section = comment.section.map { danish ? $0.danishTitle : $0.englishTitle } ?? "—"
                let author = Organisation.withCode(comment.author)?.officialName ?? comment.author
                var paragraphs = ["\(author), \(comment.createdAt.map(localTime) ?? "—"): \(comment.text)"]
                for reply in comment.replies {
                    let replier = Organisation.withCode(reply.author)?.officialName ?? reply.author
                    paragraphs.append(say("Svar fra ", "Reply from ") + "\(replier), \(reply.createdAt.map(localTime) ?? "—"): \(reply.text)")
                }
                comments.append(CommentBlock(heading: section, quote: comment.quote, paragraphs: paragraphs))
            }
        }
    }
}

private extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "," : $0 }) }
}
