import Foundation
import SporCRDT
import SporDocuments
import Testing
@testable import SporProposal

/// The secretariat's table of a round: what each row says, how it sorts, and a CSV a
/// spreadsheet reads without running what a partner typed.
@Suite("a round at a glance")
struct RoundOverviewTests {
    @Test("a row: lead and partners by name, status, amount, what blocks the next step, the next deadline in Copenhagen days")
    func row() throws {
        let complete = try completeProposal()
        let now = try copenhagen("2024-10-01 10:00")
        let row = RoundOverview.Row(id: "0751.a", content: try complete.content(), lastChange: now, now: now, calendar: .builtIn)
        #expect(row.title == "Skybrudssikring med grønne tage")
        #expect(row.lead == "Aarhus Kommune")
        #expect(row.partners == ["Odense Kommune", "Region Midtjylland", "Grøn Tag ApS"])
        #expect(row.status == .draft)
        #expect(row.amountRequested == 1_000_000)
        #expect(row.blocking.isEmpty, "\(row.blocking)")
        #expect(row.nextDeadline?.step == .qualification)
        #expect(row.nextDeadline?.at == (try copenhagen("2024-10-07 09:00")))
        #expect(row.daysToDeadline(now: now) == 6)
        #expect(row.daysToDeadline(now: try copenhagen("2024-10-07 08:59")) == 0, "the deadline's own day")
        #expect(row.daysToDeadline(now: try copenhagen("2024-10-08 00:00")) == -1)

        var thin = try Proposal.create(agent: try AgentID("0461/1"), actor: Actors.odense, title: "Idé", roundID: "2024-autumn")
        try thin.setAmountRequested(50_000)
        let thinRow = RoundOverview.Row(id: "0461.b", content: try thin.content(), lastChange: nil, now: now, calendar: .builtIn)
        #expect(!thinRow.blocking.isEmpty && thinRow.blocking.allSatisfy { $0.severity == .error })
        #expect(thinRow.partners.isEmpty && thinRow.lead == "Odense Kommune")

        let noRound = try Proposal.create(agent: try AgentID("0630/1"), actor: Actor(organisation: "0630", role: .member), title: "Uden runde", roundID: nil)
        let noRoundRow = RoundOverview.Row(id: "0630.c", content: try noRound.content(), lastChange: nil, now: now, calendar: .builtIn)
        #expect(noRoundRow.nextDeadline == nil && noRoundRow.daysToDeadline(now: now) == nil)
    }

    static func rows() throws -> [RoundOverview.Row] {
        let now = try copenhagen("2024-10-01 10:00")
        func make(_ id: String, _ title: String, amount: Int64?, changed: String?) throws -> RoundOverview.Row {
            var proposal = try Proposal.create(agent: try AgentID("0751/\(id)"), actor: Actors.aarhus, title: title, roundID: "2024-autumn")
            if let amount { try proposal.setAmountRequested(amount) }
            return RoundOverview.Row(id: id, content: try proposal.content(), lastChange: try changed.map(copenhagen), now: now, calendar: .builtIn)
        }
        return [try make("c", "Østerbro", amount: 300, changed: "2024-09-03 10:00"),
                try make("a", "ålegræs", amount: nil, changed: nil),
                try make("b", "Aarhus", amount: 100, changed: "2024-09-05 10:00")]
    }

    @Test("sorting: by any column, either way; missing values last; Danish letters and case folded; ties by title")
    func sorting() throws {
        let overview = RoundOverview(rows: try Self.rows())
        #expect(overview.sorted(by: .amount).rows.map(\.id) == ["b", "c", "a"])
        #expect(overview.sorted(by: .amount, descending: true).rows.map(\.id) == ["c", "b", "a"], "missing last either way")
        #expect(overview.sorted(by: .changed, descending: true).rows.map(\.id) == ["b", "c", "a"])
        #expect(overview.sorted(by: .title).rows.map(\.id) == ["b", "a", "c"], "Aarhus, ålegræs (folded to a), Østerbro (folded to o)")
        #expect(overview.sorted(by: .deadline).rows.map(\.id) == ["b", "a", "c"], "one deadline: by title")
    }

    @Test("CSV: a BOM, every field quoted, quotes doubled, CRLF; ';' in Danish and ',' in English; formulas defused")
    func csv() throws {
        var rows = try Self.rows()
        var hostile = try Proposal.create(agent: try AgentID("0751/h"), actor: Actors.aarhus, title: "=HYPERLINK(\"http://x\";\"klik\")", roundID: "2024-autumn")
        try hostile.setAmountRequested(7)
        rows.append(RoundOverview.Row(id: "h", content: try hostile.content(), lastChange: nil, now: try copenhagen("2024-10-01 10:00"), calendar: .builtIn))
        let now = try copenhagen("2024-10-01 10:00")
        let danish = RoundOverview(rows: rows).sorted(by: .title).csv(language: .danish, now: now)
        #expect(danish.hasPrefix("\u{FEFF}\"Id\";\"Titel\";\"Tovholder\";"))
        #expect(danish.hasSuffix("\r\n") && !danish.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        let lines = danish.dropFirst().components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 5)
        #expect(lines[1].hasPrefix("\"h\";\"'=HYPERLINK(\"\"http://x\"\";\"\"klik\"\")\";\"Aarhus Kommune\";"), "\(lines[1])")
        #expect(lines.first { $0.hasPrefix("\"b\"") }?.contains("\"100\";") == true, "whole kroner")
        #expect(lines.first { $0.hasPrefix("\"b\"") }?.contains("\"aflevering til faglig kvalificering\";\"2024-10-07 09:00\";\"6\";\"2024-09-05 10:00\"") == true,
                "\(lines.first { $0.hasPrefix("\"b\"") } ?? "")")
        let english = RoundOverview(rows: rows).csv(language: .english, now: now)
        #expect(english.hasPrefix("\u{FEFF}\"Id\",\"Title\",\"Lead\","))
        for value in ["+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            #expect(RoundOverview.csvField(value) == "\"'\(value)\"")
        }
        #expect(RoundOverview.csvField("Grønne \"tage\"") == "\"Grønne \"\"tage\"\"\"")
    }
}
