import Foundation
import SporTestSupport
import Testing
import ZIPFoundation

/// The exports as the secretariat and the coordinators use them: the .docx opened by
/// LibreOffice, a .docx LibreOffice made brought back with `spor import`, and the
/// HTML printed to A4 by headless Chromium. The tools are installed by
/// `scripts/test-tools`; where a package cannot be installed, the tests that need it
/// are skipped with a message (never counted as passing by anything else).
@Suite("Print and Word: the exports in LibreOffice and Chromium", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct PrintAndWordTests {
    static let danish = ["LANG": "da_DK.UTF-8"]

    /// Section Markdown with everything the renderers handle, and what no partner may inject.
    static let challenge = """
        Skybrud oversvømmer **kældre** i tætte byområder.
        Det koster *millioner* hvert år.

        - Aarhus: 120 kældre
        - Odense: 80 kældre
          - heraf 20 i midtbyen

        1. Etablering
        2. Måling

        Se [klimaplanen](https://www.aarhus.dk/klima), <script>alert(1)</script> og [dette](javascript:alert(1)).

        # Baggrund

        \(String(repeating: "Uafbrudt", count: 40))
        """

    /// A proposal with three participants, a budget and a milestone, in the autumn 2024 round.
    static func proposal() throws -> (ServerProcess, SporCLI, String) {
        let server = try ServerProcess()
        let cli = try SporCLI()
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try cli.newProposal("Skybrudssikring med grønne tage")
        try cli.ok("edit", id, "udfordring", "--from", "-", input: challenge)
        try cli.ok("set", id, "risici", "Forsinket levering (< 3 mdr.) & vejr.")
        try cli.ok("set", id, "amountRequested", "1.250.000")
        try cli.ok("participant", "add", id, "--org", "0461", "--role", "partner", "--cash", "200.000", "--hours", "400")
        try cli.ok("participant", "add", id, "--org", "1084", "--role", "partner", "--cash", "150.000")
        try cli.ok("budget", "add", id, "--item", "Sensorer", "--amount", "600.000", "--source", "klimaalliancen", "--year", "2025")
        try cli.ok("budget", "add", id, "--item", "Projektledelse", "--amount", "650.000", "--source", "klimaalliancen", "--year", "2026")
        try cli.ok("milestone", "add", id, "--title", "Tage etableret", "--date", "2025-06-30")
        return (server, cli, id)
    }

    @Test("the .docx export opens in LibreOffice: A4, Danish headings, Markdown laid out, tables with totals, hash, page numbers",
          .enabled(if: DocumentTools.libreOffice != nil && DocumentTools.pdftotext != nil, DocumentTools.missing(["soffice", "pdftotext"])))
    func docxOpensInLibreOffice() throws {
        let (server, cli, id) = try Self.proposal()
        _ = server
        let file = cli.home + "/forslag.docx"
        #expect(try cli.ok("export", id, "--format", "docx", "--out", file, environment: Self.danish) == "Skrev \(file).\n")
        let pdf = try DocumentTools.convert(file, to: "pdf")
        #expect(try DocumentTools.pageSize(pdf) == "A4", "the page is A4")
        let text = try DocumentTools.text(of: pdf)
        for heading in ["Udfordringen", "Kobling til klimahandlingsplaner", "Risici", "Deltagere", "Budget", "Tidsplan", "Frister (København)"] {
            #expect(text.contains(heading), "heading \(heading) in:\n\(text)")
        }
        // Markdown as formatting, not as characters; hostile text as text.
        #expect(text.contains("Skybrud oversvømmer kældre i tætte byområder."))
        #expect(!text.contains("**"), "no Markdown markers in:\n\(text)")
        #expect(text.contains("heraf 20 i midtbyen") && text.contains("Etablering"))
        #expect(text.contains("<script>alert(1)</script>"), "raw HTML shown as text")
        #expect(text.contains("Forsinket levering (< 3 mdr.) & vejr."))
        // Tables: participants with co-financing and a total, the budget total.
        #expect(text.contains("Odense Kommune") && text.contains("Region Hovedstaden"))
        #expect(text.contains("350.000"), "co-financing total 200.000 + 150.000 in:\n\(text)")
        #expect(text.contains("Budget i alt") && text.contains("1.250.000"))
        #expect(text.contains("30. juni 2025") && text.contains("Tage etableret"))
        // The content hash, whole (it may wrap inside its cell), and page numbers.
        let hash = try #require(try cli.json("show", id)["contentHash"] as? String)
        #expect(text.filter { !$0.isWhitespace }.contains(hash), "hash \(hash) in:\n\(text)")
        let pages = try DocumentTools.pageCount(pdf)
        #expect(pages >= 2)
        #expect(text.contains("Side 1 af \(pages)") && text.contains("Side \(pages) af \(pages)"), "page numbers in:\n\(text)")
    }

    @Test("a .docx LibreOffice made from a hand-written fixture imports into the sections, other headings as extra sections",
          .enabled(if: DocumentTools.libreOffice != nil, DocumentTools.missing(["soffice"])))
    func importLibreOfficeDocument() throws {
        let server = try ServerProcess()
        let cli = try SporCLI()
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try cli.newProposal("Grønne tage")
        try cli.ok("set", id, "resumé", "Et resumé, der ikke er i filen.")
        let fixture = cli.home + "/forslag.html"
        try Data(Self.fixtureHTML.utf8).write(to: URL(fileURLWithPath: fixture))
        let docx = try DocumentTools.convert(fixture, to: "docx")

        let dryRun = try cli.ok("import", id, docx, "--dry-run", environment: Self.danish)
        #expect(dryRun.contains("Import fra \(docx) ville ændre:") && dryRun.contains("Intet gemt (--dry-run)."), "\(dryRun)")
        let unchanged = try cli.json("show", id)
        #expect((unchanged["sections"] as? [String: Any])?["challenge"] as? String == "", "a dry run saves nothing")

        let report = try cli.ok("import", id, docx, environment: Self.danish)
        #expect(report.contains("  Udfordringen\n") && report.contains("  Risici\n") && report.contains("Nyt ekstra afsnit: Bilag: Målemetode"),
                "\(report)")
        #expect(report.contains("Ikke i filen, beholdt som de er: Kort resumé"), "\(report)")
        let shown = try cli.json("show", id)
        let sections = try #require(shown["sections"] as? [String: Any])
        #expect(sections["title"] as? String == "Grønne tage", "the title is not in the file")
        #expect(sections["summary"] as? String == "Et resumé, der ikke er i filen.")
        #expect(sections["challenge"] as? String == """
            Skybrud oversvømmer **kældre** i tætte byområder.

            Det koster *millioner* hvert år.

            - Aarhus
            - Odense
            """)
        #expect(sections["risks"] as? String == """
            1. Forsinkede sensorer
            2. Tørre somre

            Se [opslaget](https://klimaalliancen.dk/spor).
            """)
        let extras = try #require(shown["extraSections"] as? [[String: Any]])
        #expect(extras.count == 1)
        #expect(extras.first?["heading"] as? String == "Bilag: Målemetode")
        #expect(extras.first?["body"] as? String == "Sensorer måler hvert 5. minut.\n\n# Udstyr\n\nTre målere.")
        // The same file again changes nothing.
        #expect(try cli.ok("import", id, docx).hasPrefix("Nothing to import:"))
    }

    /// What the import fixture says, in HTML: LibreOffice makes the .docx from it.
    static let fixtureHTML = """
        <!DOCTYPE html>
        <html lang="da"><head><meta charset="utf-8"><title>Grønne tage</title></head><body>
        <h1>Udfordringen</h1>
        <p>Skybrud oversvømmer <b>kældre</b> i tætte byområder.</p>
        <p>Det koster <i>millioner</i> hvert år.</p>
        <ul><li>Aarhus</li><li>Odense</li></ul>
        <h1>Risici</h1>
        <ol><li>Forsinkede sensorer</li><li>Tørre somre</li></ol>
        <p>Se <a href="https://klimaalliancen.dk/spor">opslaget</a>.</p>
        <h1>Bilag: Målemetode</h1>
        <p>Sensorer måler hvert 5. minut.</p>
        <h2>Udstyr</h2>
        <p>Tre målere.</p>
        </body></html>
        """

    @Test("an exported .docx edited and saved by LibreOffice merges back: the coordinator's edit and a partner's edit since the export both stay",
          .enabled(if: DocumentTools.libreOffice != nil, DocumentTools.missing(["soffice"])))
    func editedExportMergesWithPartners() throws {
        let (server, cli, id) = try Self.proposal()
        _ = server
        let file = cli.home + "/forslag.docx"
        try cli.ok("export", id, "--format", "docx", "--out", file)
        // Meanwhile, in spor, the first line of the challenge changes.
        let before = try #require((try cli.json("show", id)["sections"] as? [String: Any])?["challenge"] as? String)
        try cli.ok("set", id, "udfordring", before.replacingOccurrences(of: "tætte byområder", with: "tætte og lave byområder"))
        // In Word (here: the file's text edited, then saved again by LibreOffice), a line is changed further down.
        try DocumentTools.replaceText("Odense: 80 kældre", with: "Odense: 95 kældre", in: file)
        let saved = try DocumentTools.convert(file, to: "docx")
        let report = try cli.ok("import", id, saved)
        #expect(report.contains("Merged with partners' changes since the export."), "\(report)")
        let after = try #require((try cli.json("show", id)["sections"] as? [String: Any])?["challenge"] as? String)
        #expect(after.contains("tætte og lave byområder"), "the change made after the export is kept:\n\(after)")
        #expect(after.contains("Odense: 95 kældre"), "the edit made in Word is imported:\n\(after)")
        #expect(after.contains("**kældre**") && after.contains("[klimaplanen](https://www.aarhus.dk/klima)"))
        // Sections nobody touched in Word are left alone, the risks included.
        #expect((try cli.json("show", id)["sections"] as? [String: Any])?["risks"] as? String == "Forsinket levering (< 3 mdr.) & vejr.")
        // Into another proposal it is refused, unless forced.
        let other = try cli.newProposal("Et andet forslag")
        let refused = try cli.run("import", other, saved)
        #expect(refused.status == 2 && refused.stderr.contains("was exported from proposal \(id)"), "\(refused.stderr)")
    }

    @Test("the HTML export printed by Chromium: A4, page numbers, a running title, nothing past the right margin, links only to the web",
          .enabled(if: DocumentTools.chromium != nil && DocumentTools.pdftotext != nil, DocumentTools.missing(["chromium", "pdftotext"])))
    func htmlPrintsOnA4() throws {
        let (server, cli, id) = try Self.proposal()
        _ = server
        let file = cli.home + "/forslag.html"
        try cli.ok("export", id, "--format", "html", "--out", file, environment: Self.danish)
        let html = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!html.contains("<script") && !html.contains("javascript:"), "no script, no script link")
        #expect(html.contains("<strong>kældre</strong>") && html.contains("<a href=\"https://www.aarhus.dk/klima\">klimaplanen</a>"))
        let pdf = try DocumentTools.printWithChromium(file)
        #expect(try DocumentTools.pageSize(pdf) == "A4")
        let pages = try DocumentTools.pageCount(pdf)
        #expect(pages >= 2)
        let text = try DocumentTools.text(of: pdf)
        #expect(text.contains("Side 1 af \(pages)") && text.contains("Side \(pages) af \(pages)"), "page numbers in:\n\(text)")
        #expect(text.components(separatedBy: "Skybrudssikring med grønne tage").count - 1 >= pages, "the title on every page")
        #expect(text.contains("<script>alert(1)</script>"))
        let hash = try #require(try cli.json("show", id)["contentHash"] as? String)
        #expect(text.filter { !$0.isWhitespace }.contains(hash))
        // Every word inside the page's right margin (18 mm of 210 mm), the long unbroken one and the hash included.
        let overflow = try DocumentTools.wordsPastRightEdge(pdf, marginPoints: 18 / 25.4 * 72 - 2)
        #expect(overflow.isEmpty, "past the right margin: \(overflow)")
        // Chromium shrinks a page whose content is too wide to fit: the body text must
        // print at its own size (10.5 pt, a line box of about 12.2 pt), not smaller.
        let heights = try DocumentTools.heights(of: "oversvømmer", in: pdf)
        #expect(!heights.isEmpty && heights.allSatisfy { (11.5...13).contains($0) }, "printed at 100 %: \(heights)")
    }
}

/// The external programs the print and Word tests drive.
enum DocumentTools {
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let libreOffice = find("soffice")
    static let chromium = find("chromium") ?? find("chromium-browser")
    static let pdftotext = find("pdftotext")
    static let pdfinfo = find("pdfinfo")

    static func missing(_ names: [String]) -> Comment {
        "needs \(names.joined(separator: " and ")), which scripts/test-tools installs; not installed here"
    }

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    private static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutput {
        let output = try runProcess(URL(fileURLWithPath: executable), arguments, environment: environment)
        guard output.status == 0 else {
            throw Failed(description: "\(executable) \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output
    }

    /// `file` converted by LibreOffice (its own profile, so conversions may run side by side).
    static func convert(_ file: String, to format: String) throws -> String {
        guard let libreOffice else { throw Failed(description: "no soffice") }
        let directory = temporaryTestDirectory("spor-lo")
        let filter = format == "docx" ? "docx:MS Word 2007 XML" : format
        var arguments = ["-env:UserInstallation=file://\(directory)/profile", "--headless", "--norestore"]
        if file.hasSuffix(".html") { arguments += ["--infilter=HTML (StarWriter)"] }
        arguments += ["--convert-to", filter, "--outdir", directory + "/out", file]
        _ = try run(libreOffice, arguments, environment: ["HOME": directory])
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent + "." + format
        let result = directory + "/out/" + name
        guard FileManager.default.fileExists(atPath: result) else { throw Failed(description: "LibreOffice wrote no \(result)") }
        return result
    }

    static func printWithChromium(_ file: String) throws -> String {
        guard let chromium else { throw Failed(description: "no chromium") }
        let directory = temporaryTestDirectory("spor-chromium")
        let pdf = directory + "/out.pdf"
        _ = try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--user-data-dir=\(directory)/profile",
                               "--print-to-pdf=\(pdf)", URL(fileURLWithPath: file).absoluteString], environment: ["HOME": directory])
        guard FileManager.default.fileExists(atPath: pdf) else { throw Failed(description: "Chromium wrote no PDF") }
        return pdf
    }

    /// The PDF's text in reading order, each run of white space (a line wrapped in a
    /// table cell included) as one space.
    static func text(of pdf: String) throws -> String {
        guard let pdftotext else { throw Failed(description: "no pdftotext") }
        let raw = try run(pdftotext, [pdf, "-"]).stdout
        return raw.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    private static func info(_ pdf: String) throws -> String {
        guard let pdfinfo else { throw Failed(description: "no pdfinfo") }
        return try run(pdfinfo, [pdf]).stdout
    }

    static func pageCount(_ pdf: String) throws -> Int {
        let line = try info(pdf).split(separator: "\n").first { $0.hasPrefix("Pages:") }
        guard let count = line.flatMap({ Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }) else {
            throw Failed(description: "no page count")
        }
        return count
    }

    /// "A4" if the first page is 210 × 297 mm (± 1 pt), else its size in points.
    static func pageSize(_ pdf: String) throws -> String {
        let line = try info(pdf).split(separator: "\n").first { $0.hasPrefix("Page size:") } ?? ""
        let numbers = line.split(separator: " ").compactMap { Double($0) }
        guard numbers.count >= 2 else { return String(line) }
        return abs(numbers[0] - 595.28) < 1.5 && abs(numbers[1] - 841.89) < 1.5 ? "A4" : "\(numbers[0]) × \(numbers[1]) pt"
    }

    /// The words whose box ends within `marginPoints` of a page's right edge, or past it.
    static func wordsPastRightEdge(_ pdf: String, marginPoints: Double) throws -> [String] {
        guard let pdftotext else { throw Failed(description: "no pdftotext") }
        let boxes = try run(pdftotext, ["-bbox", pdf, "-"]).stdout
        var pageWidth = 0.0
        var past: [String] = []
        for line in boxes.split(separator: "\n") {
            if line.contains("<page ") { pageWidth = attribute("width", in: line) ?? 0 }
            guard line.contains("<word "), let xMax = attribute("xMax", in: line) else { continue }
            if xMax > pageWidth - marginPoints {
                past.append(String(line.split(separator: ">").dropFirst().first?.split(separator: "<").first ?? ""))
            }
        }
        return past
    }

    /// The heights of the boxes of `word` wherever it is printed.
    static func heights(of word: String, in pdf: String) throws -> [Double] {
        guard let pdftotext else { throw Failed(description: "no pdftotext") }
        return try run(pdftotext, ["-bbox", pdf, "-"]).stdout.split(separator: "\n").compactMap { line in
            guard line.hasSuffix(">\(word)</word>"), let top = attribute("yMin", in: line), let bottom = attribute("yMax", in: line) else { return nil }
            return bottom - top
        }
    }

    private static func attribute(_ name: String, in line: Substring) -> Double? {
        guard let range = line.range(of: " \(name)=\"") else { return nil }
        return Double(line[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Replaces `old` by `new` in the text of a .docx's word/document.xml, as an edit in
    /// Word would (the text must sit in one run, as an export writes it).
    static func replaceText(_ old: String, with new: String, in file: String) throws {
        let url = URL(fileURLWithPath: file)
        var parts: [(String, Data)] = []
        do {
            let archive = try Archive(url: url, accessMode: .read)
            for entry in archive {
                var data = Data()
                _ = try archive.extract(entry) { data.append($0) }
                parts.append((entry.path, data))
            }
        }
        guard let index = parts.firstIndex(where: { $0.0 == "word/document.xml" }) else { throw Failed(description: "no document.xml") }
        let xml = String(decoding: parts[index].1, as: UTF8.self)
        guard xml.contains(old) else { throw Failed(description: "\(old) is not in one run of \(file)") }
        parts[index].1 = Data(xml.replacingOccurrences(of: old, with: new).utf8)
        try FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        for (path, data) in parts {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
    }
}
