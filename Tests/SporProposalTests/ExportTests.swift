import Foundation
import SporCRDT
import SporTestSupport
import Testing
@testable import SporDocuments
@testable import SporProposal

@Suite("Export to Markdown and HTML")
struct ExportTests {
    /// The complete proposal with an extra section, text that needs escaping, an open
    /// comment with a reply and a resolved comment.
    static func fixture() throws -> Proposal {
        var aarhus = try completeProposal()
        try aarhus.setSection(.risks, to: "Forsinket levering af sensorer (< 3 mdr.) & \"vejr\".")
        try aarhus.addParticipant(ParticipantInput(organisation: .other(name: "Rør | Rens A/S", kind: .company),
                                                   role: .observer, contactName: "Lis Ravn"))
        try aarhus.addExtraSection(heading: "Bilag: Målemetode", body: "Sensorer måler afstrømning hvert 5. minut.\n\nData deles åbent.\n")
        var dgo = try replica(of: aarhus, agent: "kl-midt/1", actor: Actors.dgo)
        let comment = try dgo.addComment(on: .challenge, range: 20..<26, text: "Hvor mange kældre er ramt?", at: copenhagen("2024-09-02T10:00"))
        var secretariat = try replica(of: aarhus, agent: "sekretariatet/1", actor: Actors.secretariat)
        let resolved = try secretariat.addComment(on: .summary, range: 0..<3, text: "Fint.", at: copenhagen("2024-09-02T11:00"))
        try secretariat.setResolved(resolved, true)
        try sync(&aarhus, from: dgo)
        try sync(&aarhus, from: secretariat)
        try aarhus.reply(to: comment, text: "Ca. 300 i 2023.", at: copenhagen("2024-09-03T08:15"))
        return aarhus
    }

    static func golden(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test("Danish Markdown with open comments matches the hand-written golden file")
    func markdownGolden() throws {
        let content = try Self.fixture().content()
        let markdown = content.markdown(ExportOptions(language: .danish, includeOpenComments: true, includeVersion: false,
                                                      now: try copenhagen("2024-09-05T12:00")))
        expectSameLines(markdown, try Self.golden("proposal.da.md"), "proposal.da.md")
    }

    @Test("English HTML without comments matches the hand-written golden file")
    func htmlGolden() throws {
        let content = try Self.fixture().content()
        let html = content.html(ExportOptions(language: .english, includeVersion: false, now: try copenhagen("2024-09-05T12:00")))
        expectSameLines(html, try Self.golden("proposal.en.html"), "proposal.en.html")
    }

    @Test("an export names the version it shows and its content hash; a submitted version exports as submitted")
    func versionedExport() throws {
        var proposal = try Self.fixture()
        let submission = try proposal.submit(.qualification, at: copenhagen("2024-10-01T12:00"))
        try proposal.setSection(.risks, to: "Ændret efter aflevering.")
        let options = ExportOptions(language: .danish, now: try copenhagen("2024-10-02T12:00"))
        let submitted = try proposal.submittedContent(submission).markdown(options)
        #expect(submitted.contains("| Indhold (SHA-256) | \(submission.contentHash) |"))
        #expect(submitted.contains("Forsinket levering af sensorer"))
        #expect(!submitted.contains("Ændret efter aflevering."))
        #expect(submitted.contains("| Version | \(VersionName.short(submission.version)) |"), "the short name of the submitted version")
        let now = try proposal.content().markdown(options)
        #expect(now.contains("Ændret efter aflevering."))
        #expect(now.contains("| Status | Afleveret til faglig kvalificering |"))
        #expect(now.contains("## Afleveringer"))
        #expect(now.contains("| Aflevering til faglig kvalificering | tirsdag 1. oktober 2024 kl. 12:00 | Aarhus Kommune | \(submission.contentHash) |"))
    }

    @Test("a decided proposal exports the decision and the amount granted beside the amount requested, in both languages")
    func decisionExported() throws {
        var aarhus = try Self.fixture()
        try aarhus.submit(.qualification, at: copenhagen("2024-10-01T12:00"))
        var secretariat = try replica(of: aarhus, agent: "sekretariatet/1", actor: Actors.secretariat)
        try secretariat.recordQualification(.qualified, note: "Fint.", at: copenhagen("2024-10-14T12:00"))
        try sync(&aarhus, from: secretariat)
        try aarhus.submit(.approval, at: copenhagen("2024-10-23T16:00"))
        try sync(&secretariat, from: aarhus)
        try secretariat.recordDecision(.approved, note: "Bevilget med nedsat beløb.", grantedAmount: 750_000, at: copenhagen("2024-11-21T15:00"))
        try sync(&aarhus, from: secretariat)
        let now = try copenhagen("2024-11-22T09:00")
        let danish = try aarhus.content().markdown(ExportOptions(language: .danish, now: now))
        #expect(danish.contains("| Ansøgt beløb fra Klimaalliancen | 1.000.000 kr. |"))
        #expect(danish.contains("| Afgørelse | Bevilget torsdag 21. november 2024 kl. 15:00 |"), "\(danish.prefix(600))")
        #expect(danish.contains("| Bevilget beløb | 750.000 kr. |"))
        let english = try aarhus.content().html(ExportOptions(language: .english, now: now))
        #expect(english.contains("<tr><th>Amount granted</th><td>DKK 750,000</td></tr>"))
        // Undecided: no decision rows.
        #expect(!(try Self.fixture().content().markdown(ExportOptions(language: .danish, now: now)).contains("Bevilget beløb")))
    }

    @Test("text from the document can never become markup: raw HTML, script links, attribute breaks, images, the running title")
    func escaping() throws {
        var proposal = try completeProposal()
        try proposal.setSection(.title, to: "<script>alert(1)</script> \"}</style><script>x</script>")
        try proposal.setSection(.summary, to: "a & b <img src=x onerror=y>\n\"quoted\" &lt; &nbsp;")
        try proposal.setSection(.challenge, to: """
            [a](javascript:alert(1)) [b](JaVaScRiPt:alert(2)) [c](data:text/html,x) [d](" onmouseover="alert(3))
            [e](https://ok.dk/?a=1&b="2") [f](mailto:x@y.dk) ![g](https://tracker.example/p.png) <!-- x --> <https://a.dk>

            <div onclick="x">blok</div>
            """)
        let html = try proposal.content().html(ExportOptions(now: try copenhagen("2024-09-05T12:00")))
        let bodyStart = try #require(html.range(of: "<body>"))
        let body = String(html[bodyStart.lowerBound...])
        #expect(!html.contains("<script") && !html.contains("<img") && !html.contains("<div") && !html.contains("<!--"))
        #expect(!html.lowercased().contains("javascript:") && !html.contains("data:text") && !html.contains("onmouseover=\""))
        #expect(body.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt; &quot;}&lt;/style&gt;&lt;script&gt;x&lt;/script&gt;</h1>"))
        // The running title is a CSS string: its quote, brace and `<` cannot leave it.
        #expect(html.contains(#"@top-center { content: "\3C script>alert(1)\3C /script> \"}\3C /style>\3C script>x\3C /script>";"#), "\(html)")
        #expect(body.contains("<p>a &amp; b &lt;img src=x onerror=y&gt;<br/>\"quoted\" &amp;lt; &amp;nbsp;</p>"), "\(body)")
        #expect(body.contains("<p>a b c d<br/><a href=\"https://ok.dk/?a=1&amp;b=&quot;2&quot;\">e</a> <a href=\"mailto:x@y.dk\">f</a> [g] &lt;!-- x --&gt; &lt;https://a.dk&gt;</p>"),
                "\(body)")
        #expect(body.contains("<p>&lt;div onclick=\"x\"&gt;blok&lt;/div&gt;</p>"), "\(body)")
    }

    @Test("section Markdown renders as HTML: headings below the section's, lists, emphasis, quotes, code, tables, line breaks kept")
    func sectionMarkdown() {
        let html = SectionMarkdown.html("""
            # Baggrund
            Første linje
            anden linje med **fed**, *kursiv* og `kode <b>`.

            - et
            - to
              - under
            - tre

            1. første
            2. anden

            > citat

            ```
            if a < b { }
            ```

            | År | Beløb |
            |---|---|
            | 2025 | 100 |
            """)
        #expect(html == "<h3>Baggrund</h3><p>Første linje<br/>anden linje med <strong>fed</strong>, <em>kursiv</em> og <code>kode &lt;b&gt;</code>.</p>"
            + "<ul><li>et</li><li>to<ul><li>under</li></ul></li></ul><ul><li>tre</li></ul><ol><li>første</li><li>anden</li></ol>"
            + "<blockquote><p>citat</p></blockquote><pre><code>if a &lt; b { }\n</code></pre>"
            + "<table><thead><tr><th>År</th><th>Beløb</th></tr></thead><tbody><tr><td>2025</td><td>100</td></tr></tbody></table>",
            "\(html)")
    }
}
