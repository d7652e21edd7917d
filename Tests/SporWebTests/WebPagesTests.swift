import Foundation
import SporTestSupport
import Testing
import ZIPFoundation

/// What the pages show: the secretariat's table is `spor overview`'s, a proposal's
/// page is its export with the process record, members and open comments, and both
/// follow the stored history.
@Suite("the web overview's pages", .serialized, .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct WebPagesTests {
    static let danish = ["LANG": "da_DK.UTF-8"]

    @Test("the secretariat's round page: every proposal with lead, partners, status, amount, blocking findings and deadline; escaped; sorted as asked")
    func roundPage() async throws {
        let round = try await WebRound.shared()
        let visitor = WebVisitor(round.base)
        try await visitor.logIn(round.secretariatToken)
        let page = try await visitor.get("/proposals?sort=amount&order=desc")
        #expect(page.status == 200)
        let body = page.body
        let fixture = [round.complete, round.draft]
        let rows = body.components(separatedBy: "<tr data-proposal=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }.filter(fixture.contains)
        #expect(rows == [round.complete, round.draft], "largest amount first: \(rows)")
        #expect(body.contains("Grønne tage i Aarhus") && body.contains("Aarhus Kommune") && body.contains("Odense Kommune, Region Midtjylland"))
        #expect(body.contains("1.250.000 kr.") && body.contains("400.000 kr."))
        #expect(body.contains("<span class=\"status submittedForQualification\">Afleveret til faglig kvalificering</span>"), "the submitted one's status")
        #expect(body.contains("<span class=\"status draft\">Kladde</span>"))
        #expect(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !body.contains("<script>"), "a title is text, never markup")
        #expect(body.contains("aria-sort=\"descending\""), "the sorted column says so to a screen reader")
        let ascending = try await visitor.get("/proposals?sort=amount&order=asc").body
        let ascendingRows = ascending.components(separatedBy: "<tr data-proposal=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }.filter(fixture.contains)
        #expect(ascendingRows == [round.draft, round.complete])
        // The draft misses most of what a submission needs: its blocking findings are listed.
        let draftRow = try #require(body.components(separatedBy: "<tr data-proposal=\"\(round.draft)\"").last?.components(separatedBy: "</tr>").first)
        #expect(draftRow.contains("<ul class=\"blocking\">"), "\(draftRow)")

        for (query, message) in [("sort=farve", "Der er ingen kolonne ved navn farve"), ("order=op", "asc eller desc"), ("round=2031-vinter", "ingen runde")] {
            let bad = try await visitor.get("/proposals?\(query)")
            #expect(bad.status == 400 && bad.body.contains(message), "\(query): \(bad.status)")
        }
        let autumn = try await visitor.get("/proposals?round=2024-autumn")
        #expect(autumn.body.contains(round.complete))
        let spring = try await visitor.get("/proposals?round=2024-spring")
        #expect(!spring.body.contains(round.complete) && spring.body.contains("Der er ingen forslag"))
    }

    @Test("the CSV download is byte for byte what spor overview --csv writes for the secretariat, in Danish and English")
    func csvIsTheOverview() async throws {
        let round = try await WebRound.shared()
        try round.office.ok("sync")
        let visitor = WebVisitor(round.base)
        try await visitor.logIn(round.secretariatToken)
        let csv = try await visitor.get("/proposals.csv?sort=title&order=asc")
        #expect(csv.status == 200)
        #expect(csv.headers.first(name: "content-type") == "text/csv; charset=utf-8")
        #expect(csv.headers.first(name: "content-disposition") == "attachment; filename=\"spor-forslag-2024-10-01.csv\"")
        let cli = try round.office.ok("overview", "--csv", "--sort", "title", environment: Self.danish)
        #expect(csv.body == cli)
        #expect(csv.body.contains("\"'=Skybrud i Vejle"), "the formula defused")

        let english = try await visitor.get("/language?to=en&back=%2Fproposals")
        #expect(english.status == 303 && english.location == "/proposals")
        let englishCSV = try await visitor.get("/proposals.csv?sort=title")
        #expect(englishCSV.body == (try round.office.ok("overview", "--csv", "--sort", "title")))
        #expect(try await visitor.get("/proposals").body.contains("Amount requested"))
        // The language link never sends elsewhere.
        #expect(try await visitor.get("/language?to=da&back=%2F%2Fangriber.example").location == "/proposals")
        #expect(try await visitor.get("/language?to=da&back=https%3A%2F%2Fangriber.example").location == "/proposals")
    }

    @Test("a proposal's page: the export, the submission with its hash checked against the history, members and roles, the open comment, downloads that open")
    func proposalPage() async throws {
        let round = try await WebRound.shared()
        let visitor = WebVisitor(round.base)
        try await visitor.logIn(round.secretariatToken)
        let page = try await visitor.get("/proposals/\(round.complete)")
        #expect(page.status == 200)
        let body = page.body
        #expect(body.contains("<h1>Grønne tage i Aarhus</h1>") && body.components(separatedBy: "<h1>").count == 2, "one h1: the title")
        #expect(body.contains("<em>fremhævet</em>"), "sections rendered from Markdown as the export renders them")
        let shown = try round.aarhus.json("show", round.complete)
        let hash = try #require(((shown["submissions"] as? [[String: Any]])?.first?["contentHash"] as? String))
        #expect(body.contains("<td class=\"hash\">\(hash)</td><td>ja</td>"), "the recorded hash, and that it matches the history")
        let members = try #require(body.components(separatedBy: "<table class=\"members\">").last?.components(separatedBy: "</table>").first)
        #expect(members.contains("<td>Aarhus Kommune</td><td>Tovholder</td>"), "\(members)")
        #expect(members.contains("<td>Odense Kommune</td><td>Partner</td>"), "a member without an account is named by its official name: \(members)")
        #expect(body.contains("Åbne kommentarer (1)") && body.contains("Skal vi nævne regnvandet?"))

        let html = try await visitor.get("/proposals/\(round.complete)/download/html")
        #expect(html.status == 200 && html.body.hasPrefix("<!DOCTYPE html>") && html.body.contains("Side \" counter(page)"))
        #expect(html.headers.first(name: "content-disposition") == "attachment; filename=\"spor-\(round.complete).html\"")
        #expect(html.body == (try round.office.ok("export", round.complete, "--format", "html", environment: Self.danish)))
        let markdown = try await visitor.get("/proposals/\(round.complete)/download/markdown")
        #expect(markdown.body.hasPrefix("# Grønne tage i Aarhus"))
        let docx = try await visitor.get("/proposals/\(round.complete)/download/docx")
        let archive = try Archive(data: Data(docx.bytes), accessMode: .read)
        let entry = try #require(archive["word/document.xml"])
        var xml = Data()
        _ = try archive.extract(entry) { xml.append($0) }
        #expect(String(decoding: xml, as: UTF8.self).contains("Grønne tage i Aarhus"))
        #expect(try await visitor.get("/proposals/\(round.complete)/download/pdf").status == 404)
    }

    @Test("pages follow the stored history: a partner's edit synced after a view shows at the next one")
    func followsHistory() async throws {
        let round = try await WebRound.shared()
        let id = try round.vejle.newProposal("Kystsikring ved Vejle Fjord", "--round", "2024-autumn")
        try round.vejle.ok("set", id, "amountRequested", "400.000")
        try round.vejle.ok("sync")
        let visitor = WebVisitor(round.base)
        try await visitor.logIn(round.vejleToken)
        #expect(try await visitor.get("/proposals/\(id)").body.contains("400.000 kr."))
        try round.vejle.ok("set", id, "amountRequested", "450.000")
        try round.vejle.ok("sync")
        let after = try await visitor.get("/proposals/\(id)")
        #expect(after.body.contains("450.000 kr.") && !after.body.contains("400.000 kr."))
        #expect(try await visitor.get("/proposals").body.contains("450.000 kr."))
    }
}
