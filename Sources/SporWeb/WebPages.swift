import Foundation
import SporDocuments
import SporProposal
import SporServer

/// The values each template renders (Mustache reads their stored properties), built
/// from the same types `spor` uses: ``RoundOverview`` for the table, the export for a
/// proposal. Every string here is plain text; the templates escape it.
enum WebPages {
    struct Language { let code: String }

    struct Layout {
        let t: Language
        let l: WebText.Labels
        let title: String
        /// The page's own path and query, percent-encoded for the language link's `back`.
        let path: String
        let account: String?
        let csrf: String
        let body: String
    }

    struct Login {
        let l: WebText.Labels
        let csrf: String
        let problem: String?
    }

    struct Problem {
        let heading: String
        let message: String
        let linkTarget: String
        let linkText: String
    }

    // MARK: The round page

    struct Proposals {
        struct RoundOption { let id: String; let name: String; let selected: Bool }
        struct ColumnHead { let key: String; let heading: String; let link: String; let ariaSort: String; let arrow: String?; let numeric: Bool }
        struct RowView {
            let id: String
            let link: String
            let title: String
            let lead: String
            let partners: String
            let status: String
            let statusKey: String
            let amount: String
            let hasBlocking: Bool
            let blockingCount: Int
            let blocking: [String]
            let deadline: String
            let changed: String
        }

        let l: WebText.Labels
        let hasRounds: Bool
        let rounds: [RoundOption]
        let sort: String
        let order: String
        let csvLink: String
        let hasRows: Bool
        let rowCount: Int
        let columns: [ColumnHead]
        let rows: [RowView]
    }

    /// What the round page shows, for rows already sorted by `sort`.
    struct TableRequest: Sendable {
        var sort: RoundOverview.Column = .deadline
        var descending = false
        var round: String?

        /// The query that asks for this table (and `column`'s order toggled, if given).
        func query(sortingBy column: RoundOverview.Column? = nil) -> String {
            var items: [(String, String)] = []
            let target = column ?? sort
            let descending = column == nil ? self.descending : (column == sort ? !self.descending : false)
            items.append(("sort", target.rawValue))
            items.append(("order", descending ? "desc" : "asc"))
            if let round { items.append(("round", round)) }
            return items.map { "\($0)=\(WebPages.queryEncoded($1))" }.joined(separator: "&")
        }
    }

    static func proposals(_ overview: RoundOverview, request: TableRequest, calendar: RoundCalendar, now: Date, text: WebText) -> Proposals {
        let columns = RoundOverview.Column.allCases.map { column -> Proposals.ColumnHead in
            let isSorted = column == request.sort
            return Proposals.ColumnHead(
                key: column.rawValue, heading: column.heading(text.language), link: "/proposals?" + request.query(sortingBy: column),
                ariaSort: isSorted ? (request.descending ? "descending" : "ascending") : "none",
                arrow: isSorted ? (request.descending ? "▼" : "▲") : nil, numeric: column == .amount)
        }
        let rows = overview.rows.map { row -> Proposals.RowView in
            let deadline: String
            if let next = row.nextDeadline, let days = row.daysToDeadline(now: now) {
                deadline = "\(WebText.capitalised(text.name(of: next.step))): \(text.shortTime(next.at)) (\(text.days(days)))"
            } else {
                deadline = "—"
            }
            return Proposals.RowView(
                id: row.id, link: "/proposals/" + pathEncoded(row.id),
                title: row.title.isEmpty ? text.say("(uden titel)", "(untitled)") : row.title,
                lead: row.lead ?? "—", partners: row.partners.isEmpty ? "—" : row.partners.joined(separator: ", "),
                status: text.name(of: row.status), statusKey: row.status.rawValue,
                amount: row.amountRequested.map(text.kroner) ?? "—",
                hasBlocking: !row.blocking.isEmpty, blockingCount: row.blocking.count, blocking: row.blocking.map { text.isDanish ? $0.danish : $0.english },
                deadline: deadline, changed: row.lastChange.map(text.shortTime) ?? "—")
        }
        let rounds = calendar.rounds.map {
            Proposals.RoundOption(id: $0.id, name: text.isDanish ? $0.danishName : $0.englishName, selected: $0.id == request.round)
        }
        return Proposals(l: text.labels, hasRounds: !rounds.isEmpty, rounds: rounds, sort: request.sort.rawValue,
                         order: request.descending ? "desc" : "asc", csvLink: "/proposals.csv?" + request.query(),
                         hasRows: !rows.isEmpty, rowCount: rows.count, columns: columns, rows: rows)
    }

    // MARK: A proposal's page

    struct ProposalPage {
        struct SubmissionView { let step: String; let at: String; let by: String; let hash: String; let check: String }
        struct MemberView { let name: String; let role: String }
        struct ReplyView { let author: String; let at: String; let text: String }
        struct CommentView {
            let author: String
            let at: String
            let section: String?
            let quote: String?
            let text: String
            let hasReplies: Bool
            let replies: [ReplyView]
        }

        let l: WebText.Labels
        let title: String
        let downloadBase: String
        let proposalHTML: String
        let status: String
        let lastChange: String
        let qualification: String
        let decision: String
        let withdrawal: String?
        let hasSubmissions: Bool
        let submissions: [SubmissionView]
        let members: [MemberView]
        let hasComments: Bool
        let commentCount: Int
        let comments: [CommentView]
    }

    /// - Parameter names: organisation ids to the names to show (accounts of this server).
    static func proposal(id: String, entry: ProposalCache.Entry, roles: [String: ParticipantRole], names: [String: String],
                         calendar: RoundCalendar, now: Date, text: WebText) -> ProposalPage {
        let content = entry.content
        func name(_ organisation: String) -> String {
            names[organisation] ?? Organisation.withCode(organisation)?.officialName ?? organisation
        }
        let options = ExportOptions(language: text.language, includeOpenComments: false, includeVersion: true,
                                    now: now, calendar: calendar, proposalID: id)
        let submissions = content.submissions.map { submission in
            let matches = entry.submissionMatches[submission.id]
            return ProposalPage.SubmissionView(
                step: WebText.capitalised(text.name(of: submission.step)), at: text.time(submission.submittedAt), by: name(submission.by),
                hash: submission.contentHash,
                check: matches == true ? text.say("ja", "yes") : text.say("nej – indholdet passer ikke med hashen", "no – the content does not match the hash"))
        }
        let qualification = content.qualification.map { record in
            [text.isDanish ? record.result.danishName : record.result.englishName, record.at.map(text.time), record.note.isEmpty ? nil : "“\(record.note)”"]
                .compactMap { $0 }.joined(separator: ", ")
        } ?? "—"
        let decision = content.decision.map { record in
            [text.isDanish ? record.outcome.danishName : record.outcome.englishName,
             record.grantedAmount.map { text.say("bevilget ", "granted ") + text.kroner($0) },
             record.at.map(text.time), record.note.isEmpty ? nil : "“\(record.note)”"]
                .compactMap { $0 }.joined(separator: ", ")
        } ?? "—"
        let order: [ParticipantRole] = [.lead, .partner, .observer]
        let members = roles.sorted { a, b in
            let (ra, rb) = (order.firstIndex(of: a.value) ?? 3, order.firstIndex(of: b.value) ?? 3)
            return ra != rb ? ra < rb : name(a.key) < name(b.key)
        }.map { ProposalPage.MemberView(name: name($0.key), role: text.name(of: $0.value)) }
        let comments = content.comments.filter { !$0.resolved }.map { comment in
            ProposalPage.CommentView(
                author: name(comment.author), at: comment.createdAt.map(text.time) ?? "—",
                section: comment.section.map { text.isDanish ? $0.danishTitle : $0.englishTitle },
                quote: comment.quote.isEmpty ? nil : comment.quote, text: comment.text,
                hasReplies: !comment.replies.isEmpty,
                replies: comment.replies.map { ProposalPage.ReplyView(author: name($0.author), at: $0.createdAt.map(text.time) ?? "—", text: $0.text) })
        }
        // The page's own heading is the title; the export's is one level down.
        var body = content.htmlBody(options)
        if body.hasPrefix("<h1>"), let end = body.range(of: "</h1>") {
            body.replaceSubrange(end, with: "</h2>")
            body.replaceSubrange(body.startIndex..<body.index(body.startIndex, offsetBy: 4), with: "<h2>")
        }
        let title = content.title.trimmingCharacters(in: .whitespacesAndNewlines)
        return ProposalPage(
            l: text.labels, title: title.isEmpty ? text.say("(uden titel)", "(untitled)") : title,
            downloadBase: "/proposals/\(pathEncoded(id))/download",
            proposalHTML: body,
            status: text.name(of: ProcessStatus(of: content, at: now, calendar: calendar)),
            lastChange: entry.lastChange.map(text.time) ?? "—",
            qualification: qualification, decision: decision,
            withdrawal: content.withdrawal.map { "\(text.time($0.at)), \(name($0.by))" },
            hasSubmissions: !submissions.isEmpty, submissions: submissions, members: members,
            hasComments: !comments.isEmpty, commentCount: comments.count, comments: comments)
    }

    // MARK: Encoding

    /// `value` percent-encoded for a query value (everything but unreserved characters).
    static func queryEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// A document id as one path segment.
    static func pathEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
