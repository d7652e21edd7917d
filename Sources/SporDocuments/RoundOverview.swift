import Foundation
import SporProposal

/// A round of proposals at a glance, as the secretariat reviews it: one row per
/// proposal with its lead, partners, status, amount requested, what blocks its next
/// submission, the next deadline and the last change. `spor overview` prints it; the
/// same rows make its CSV (and the web overview's table).
public struct RoundOverview: Sendable {
    /// One proposal's row.
    public struct Row: Sendable, Equatable {
        public struct Deadline: Sendable, Equatable {
            public let step: Step
            public let at: Date
        }

        public let id: String
        public let title: String
        /// The lead's name (the lead member, else the participant marked lead); nil if none.
        public let lead: String?
        /// The other participants' names, in the proposal's order.
        public let partners: [String]
        public let status: ProcessStatus
        public let amountRequested: Int64?
        /// The findings that would refuse the next submission (errors only).
        public let blocking: [Finding]
        /// The next submission's deadline; nil once submitted for approval, decided or
        /// withdrawn, or without a known round.
        public let nextDeadline: Deadline?
        /// The latest save's time (its author's clock).
        public let lastChange: Date?

        /// - Parameter lastChange: when the proposal was last saved (`Proposal.saves()`).
        public init(id: String, content: ProposalContent, lastChange: Date?, now: Date, calendar: RoundCalendar) {
            self.id = id
            title = content.title.trimmingWhitespace()
            let leadCode = content.lead
            let leadParticipant = content.participants.first { $0.role == .lead }
            lead = leadCode.map(Self.name(ofOrganisation:)) ?? leadParticipant?.organisation?.name
            partners = content.participants.filter { participant in
                if case let .registered(registered)? = participant.organisation, registered.code == leadCode { return false }
                return participant.role != .lead
            }.compactMap { $0.organisation?.name }
            status = ProcessStatus(of: content, at: now, calendar: calendar)
            amountRequested = content.amountRequested
            let step = content.nextSubmission
            if let step, let roundID = content.roundID, let round = try? calendar.round(id: roundID), let at = try? round.deadlineInstant(for: step) {
                nextDeadline = Deadline(step: step, at: at)
            } else {
                nextDeadline = nil
            }
            blocking = step.map { ProposalRules.validate(content, at: now, attempting: $0, calendar: calendar).filter { $0.severity == .error } } ?? []
            self.lastChange = lastChange
        }

        /// Whole Copenhagen calendar days from `now` to the next deadline: 0 on its day,
        /// negative once it is past; nil without one.
        public func daysToDeadline(now: Date) -> Int? {
            nextDeadline.flatMap { CopenhagenTime.calendarDays(from: now, to: $0.at) }
        }

        static func name(ofOrganisation code: String) -> String { Organisation.withCode(code)?.officialName ?? code }
    }

    /// The columns, in the table's order; each sorts the rows.
    public enum Column: String, Sendable, CaseIterable {
        case title, lead, partners, status, amount, blocking, deadline, changed

        public func heading(_ language: ExportOptions.Language) -> String {
            let danish = language == .danish
            switch self {
            case .title: return danish ? "Titel" : "Title"
            case .lead: return danish ? "Tovholder" : "Lead"
            case .partners: return danish ? "Partnere" : "Partners"
            case .status: return "Status"
            case .amount: return danish ? "Ansøgt beløb" : "Amount requested"
            case .blocking: return danish ? "Blokerer" : "Blocking"
            case .deadline: return danish ? "Næste frist" : "Next deadline"
            case .changed: return danish ? "Senest ændret" : "Last change"
            }
        }
    }

    public var rows: [Row]

    public init(rows: [Row]) { self.rows = rows }

    /// The rows ordered by `column` (ties by title, then id); missing values last.
    /// Titles and names compare as people expect (case and accents folded).
    public func sorted(by column: Column, descending: Bool = false) -> RoundOverview {
        func text(_ value: String) -> String { value.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: Locale(identifier: "da_DK")) }
        func key(_ row: Row) -> (Double?, String?) {
            switch column {
            case .title: return (nil, text(row.title))
            case .lead: return (nil, row.lead.map(text))
            case .partners: return (Double(row.partners.count), nil)
            case .status: return (Double(ProcessStatus.allCases.firstIndex(of: row.status) ?? 0), nil)
            case .amount: return (row.amountRequested.map(Double.init), nil)
            case .blocking: return (Double(row.blocking.count), nil)
            case .deadline: return (row.nextDeadline.map { $0.at.timeIntervalSince1970 }, nil)
            case .changed: return (row.lastChange.map { $0.timeIntervalSince1970 }, nil)
            }
        }
        func before(_ a: Row, _ b: Row) -> Bool {
            let (ka, kb) = (key(a), key(b))
            let aMissing = ka.0 == nil && ka.1 == nil, bMissing = kb.0 == nil && kb.1 == nil
            if aMissing != bMissing { return bMissing }
            if let x = ka.0, let y = kb.0, x != y { return descending ? x > y : x < y }
            if let x = ka.1, let y = kb.1, x != y { return descending ? x > y : x < y }
            return (text(a.title), a.id) < (text(b.title), b.id)
        }
        return RoundOverview(rows: rows.sorted(by: before))
    }

    /// The table as CSV (RFC 4180: every field quoted, CRLF line ends) for a
    /// spreadsheet, with a UTF-8 byte-order mark so that Excel reads æ, ø and å, and
    /// fields separated as Excel expects in the language's locale: `;` in Danish (where
    /// the comma is the decimal mark), `,` in English. A
    /// field a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
    /// a tab or a carriage return — a partner may choose any title) is written with a
    /// leading `'`. Amounts are whole kroner without separators; times are Copenhagen
    /// time as "2024-10-07 12:00"; the deadline's step and days left have columns of
    /// their own.
    public func csv(language: ExportOptions.Language, now: Date) -> String {
        let danish = language == .danish
        var header = Column.allCases.map { $0.heading(language) }
        header.insert(danish ? "Id" : "Id", at: 0)
        header.insert(danish ? "Trin" : "Step", at: 7)
        header.insert(danish ? "Dage til frist" : "Days to deadline", at: 9)
        var lines = [header]
        for row in rows {
            var fields = [
                row.id, row.title, row.lead ?? "", row.partners.joined(separator: "; "),
                danish ? row.status.danishName : row.status.englishName,
                row.amountRequested.map(String.init) ?? "",
                row.blocking.map { danish ? $0.danish : $0.english }.joined(separator: " "),
            ]
            fields.append(row.nextDeadline.map { danish ? $0.step.danishName : $0.step.englishName } ?? "")
            fields.append(row.nextDeadline.map { Self.plainLocalTime($0.at) } ?? "")
            fields.append(row.daysToDeadline(now: now).map(String.init) ?? "")
            fields.append(row.lastChange.map(Self.plainLocalTime) ?? "")
            lines.append(fields)
        }
        let separator = danish ? ";" : ","
        return "\u{FEFF}" + lines.map { $0.map(Self.csvField).joined(separator: separator) + "\r\n" }.joined()
    }

    /// One quoted CSV field, defused if a spreadsheet would take it for a formula.
    public static func csvField(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { value = "'" + value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// "2024-10-07 12:00" in Copenhagen time: sortable in a spreadsheet.
    static func plainLocalTime(_ date: Date) -> String {
        guard let local = try? CopenhagenTime.localTime(of: date) else { return "" }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(local.date) \(two(local.hour)):\(two(local.minute))"
    }
}
