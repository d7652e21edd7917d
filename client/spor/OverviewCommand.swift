import ArgumentParser
import Foundation
import SporClient
import SporDocuments
import SporProposal

/// `spor overview`: every proposal in the workspace (the secretariat's: every proposal
/// of the round) as one table, sorted, or as CSV for a spreadsheet.
struct Overview: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overview",
        abstract: Help.text("Alle forslag i én tabel: tovholder, partnere, status, beløb, hvad der blokerer, næste frist.",
                            "Every proposal in one table: lead, partners, status, amount, what blocks it, the next deadline."),
        discussion: Help.text("""
            Sekretariatet ser hele runden efter `spor sync`. --csv skriver tabellen til et regneark \
            (UTF-8, semikolon mellem felterne som dansk Excel venter, hvert felt i anførselstegn).
            """, """
            The secretariat sees the whole round after `spor sync`. --csv writes the table for a \
            spreadsheet (UTF-8, comma-separated in English and semicolon-separated in Danish, as \
            Excel expects in each, every field quoted).
            """))

    @Option(help: ArgumentHelp(Help.text("Kun forslag i denne runde.", "Only proposals in this round."))) var round: String?
    @Option(help: ArgumentHelp(Help.text("Sortér efter: title, lead, partners, status, amount, blocking, deadline, changed (standard deadline).",
                                         "Sort by: title, lead, partners, status, amount, blocking, deadline, changed (default deadline).")))
    var sort = "deadline"
    @Flag(help: ArgumentHelp(Help.text("Omvendt rækkefølge.", "Reverse order."))) var descending = false
    @Flag(help: ArgumentHelp(Help.text("Skriv CSV i stedet for en tabel.", "Print CSV instead of a table."))) var csv = false
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let say = context.language.text
        guard let column = RoundOverview.Column(rawValue: sort) else {
            throw CommandFailure.badInput(say("der er ingen kolonne \(String(reflecting: sort))", "there is no column \(String(reflecting: sort))"),
                                          hint: say("Kolonner: ", "Columns: ") + RoundOverview.Column.allCases.map(\.rawValue).joined(separator: ", ") + ".")
        }
        var rows: [RoundOverview.Row] = []
        for summary in try context.workspace.proposals() {
            let proposal = try context.workspace.proposal(summary.id)
            let content = try proposal.content()
            if let round, content.roundID != round { continue }
            let lastChange = proposal.lastSaveTime()
            rows.append(RoundOverview.Row(id: summary.id, content: content, lastChange: lastChange, now: context.now, calendar: context.calendar))
        }
        let overview = RoundOverview(rows: rows).sorted(by: column, descending: descending)
        let language: ExportOptions.Language = context.language == .danish ? .danish : .english
        if csv && !options.json {
            FileHandle.standardOutput.write(Data(overview.csv(language: language, now: context.now).utf8))
            return
        }
        Output.emit(options, json: { overview.rows.map { OverviewRowJSON($0, now: context.now) } }, text: {
            guard !overview.rows.isEmpty else {
                return round == nil ? say("Ingen forslag: `spor sync` henter dem.", "No proposals: `spor sync` fetches them.")
                                    : say("Ingen forslag i runden \(round ?? "").", "No proposals in the round \(round ?? "").")
            }
            return Self.table(overview, language: context.language, now: context.now)
        })
    }

    /// The rows as aligned columns in the user's language.
    static func table(_ overview: RoundOverview, language: Language, now: Date) -> String {
        let export: ExportOptions.Language = language == .danish ? .danish : .english
        let header = RoundOverview.Column.allCases.map { $0.heading(export) }
        let rows = overview.rows.map { row -> [String] in
            let deadline: String
            if let next = row.nextDeadline, let days = row.daysToDeadline(now: now) {
                let when = days < 0 ? language.text("overskredet", "passed")
                    : days == 0 ? language.text("i dag", "today")
                    : language.text("om \(days) \(days == 1 ? "dag" : "dage")", "in \(days) day\(days == 1 ? "" : "s")")
                deadline = "\(language.name(of: next.step)) \(when)"
            } else {
                deadline = "–"
            }
            return [
                row.title.isEmpty ? language.text("(uden titel)", "(untitled)") : row.title,
                row.lead ?? "–",
                row.partners.isEmpty ? "–" : row.partners.joined(separator: ", "),
                language.name(of: row.status),
                row.amountRequested.map(Output.kroner) ?? "–",
                row.blocking.isEmpty ? "–" : "\(row.blocking.count)",
                deadline,
                row.lastChange.map { Output.time($0, language: language, omittingYearOf: now) } ?? "–",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ fields: [String]) -> String {
            zip(fields, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// One row of `spor overview --json`.
struct OverviewRowJSON: Encodable {
    let id: String
    let title: String
    @Nullable var lead: String?
    let partners: [String]
    /// ``ProcessStatus``'s raw value.
    let status: String
    @Nullable var amountRequested: Int64?
    /// The codes of the findings that block the next submission.
    let blocking: [String]
    /// `qualification` or `approval`; null when no submission is due.
    @Nullable var nextStep: String?
    @Nullable var nextDeadline: String?
    /// Copenhagen calendar days to the deadline (negative once passed).
    @Nullable var daysToDeadline: Int?
    @Nullable var lastChange: String?

    init(_ row: RoundOverview.Row, now: Date) {
        id = row.id
        title = row.title
        lead = row.lead
        partners = row.partners
        status = row.status.rawValue
        amountRequested = row.amountRequested
        blocking = row.blocking.map(\.code)
        nextStep = row.nextDeadline?.step.rawValue
        nextDeadline = row.nextDeadline.map { SporJSON.iso($0.at) }
        daysToDeadline = row.daysToDeadline(now: now)
        lastChange = SporJSON.iso(row.lastChange)
    }
}
