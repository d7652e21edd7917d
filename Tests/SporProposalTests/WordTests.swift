import Foundation
import SporCRDT
import SWXMLHash
import Testing
import ZIPFoundation
@testable import SporDocuments
@testable import SporProposal

/// The .docx export and import without Word: the package's parts, the Markdown's trip
/// through Word's structures and back, the mapping of headings to sections, and what
/// a hostile file gets. (LibreOffice opens and makes real files in
/// SporClientTests.PrintAndWordTests.)
@Suite("Word: .docx export and import")
struct WordTests {
    static let richText = """
        Skybrud oversvømmer **kældre** i tætte byområder.
        Det koster *millioner* hvert år.

        - Aarhus: 120 kældre
        - Odense: 80 kældre
           - heraf 20 i midtbyen
        - Esbjerg: 40 kældre

        1. Etablering
           1. Tage
        2. Måling

        Se [klimaplanen](https://www.aarhus.dk/klima) og <script>alert(1)</script> [x](javascript:alert(1)).

        # Baggrund

        Tre & fire < fem.
        """

    static func parts(of docx: Data) throws -> [String: String] {
        let archive = try Archive(data: docx, accessMode: .read)
        var parts: [String: String] = [:]
        for entry in archive {
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            parts[entry.path] = String(decoding: data, as: UTF8.self)
        }
        return parts
    }

    @Test("the package: every part well-formed XML, A4 with page numbers, Danish headings, links only to the web, the version recorded")
    func package() throws {
        var proposal = try completeProposal()
        try proposal.setSection(.challenge, to: Self.richText)
        let content = try proposal.content()
        let docx = try content.docx(ExportOptions(language: .danish, now: try copenhagen("2024-09-05T12:00"), proposalID: "0751.abc"))
        let parts = try Self.parts(of: docx)
        for name in ["[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml", "word/numbering.xml",
                     "word/_rels/document.xml.rels", "word/header1.xml", "word/footer1.xml", "docProps/core.xml", "docProps/custom.xml"] {
            let xml = try #require(parts[name], "\(name) is in the package")
            if case .parsingError = XMLHash.config({ $0.detectParsingErrors = true }).parse(xml) {
                Issue.record("\(name) is not well-formed XML")
            }
        }
        let document = try #require(parts["word/document.xml"])
        #expect(document.contains("<w:pgSz w:w=\"11906\" w:h=\"16838\"/>"), "A4")
        #expect(document.contains("<w:pStyle w:val=\"Heading1\"/><w:keepNext/></w:pPr><w:r><w:t xml:space=\"preserve\">Udfordringen</w:t>"))
        #expect(document.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !document.contains("<script"))
        #expect(try #require(parts["word/footer1.xml"]).contains("Side "))
        #expect(try #require(parts["word/footer1.xml"]).contains(" NUMPAGES "))
        let relationships = try #require(parts["word/_rels/document.xml.rels"])
        #expect(relationships.contains("Target=\"https://www.aarhus.dk/klima\" TargetMode=\"External\""))
        #expect(!relationships.lowercased().contains("javascript"))
        let custom = try #require(parts["docProps/custom.xml"])
        #expect(custom.contains("<vt:lpwstr>0751.abc</vt:lpwstr>"))
        #expect(custom.contains("<vt:lpwstr>\(content.version.heads.map(\.description).joined(separator: ","))</vt:lpwstr>"))
        #expect(document.contains(content.contentHash))
    }

    @Test("an export reads back as the proposal's sections, so importing an untouched export changes nothing")
    func roundTrip() throws {
        var proposal = try completeProposal()
        try proposal.setSection(.challenge, to: Self.richText)
        try proposal.addExtraSection(heading: "Bilag: Målemetode", body: "Sensorer måler hvert 5. minut.\n\nData deles åbent.")
        let content = try proposal.content()
        let file = try WordImport.read(try content.docx(ExportOptions(language: .danish, now: try copenhagen("2024-09-05T12:00"),
                                                                      proposalID: "0751.abc")))
        #expect(file.title == content.title)
        #expect(file.exportedProposal == "0751.abc")
        #expect(file.exportedVersion == content.version)
        let challenge = try #require(file.parts.first { $0.heading == Section.challenge.danishTitle })
        #expect(challenge.markdown == """
            Skybrud oversvømmer **kældre** i tætte byområder.
            Det koster *millioner* hvert år.

            - Aarhus: 120 kældre
            - Odense: 80 kældre
               - heraf 20 i midtbyen
            - Esbjerg: 40 kældre

            1. Etablering
               1. Tage

            2. Måling

            Se [klimaplanen](https://www.aarhus.dk/klima) og <script>alert(1)</script> x.

            # Baggrund

            Tre & fire < fem.
            """)
        #expect(file.parts.first { $0.heading == "Bilag: Målemetode" }?.markdown == "Sensorer måler hvert 5. minut.\n\nData deles åbent.")
        let plan = WordImportPlan(file, into: content, base: content)
        #expect(!plan.changesSomething, "\(plan.entries.filter { $0.newText != nil })")
        #expect(plan.entries.filter { $0.target == .skipped }.map(\.heading) == ["Deltagere", "Budget", "Tidsplan", "Frister (København)"])
    }

    @Test("headings map to sections by title, then by name; generated tables are skipped; others are extra sections; missing ones are kept")
    func headingMapping() throws {
        var proposal = try completeProposal()
        try proposal.addExtraSection(heading: "Bilag", body: "Gammel tekst.")
        let content = try proposal.content()
        let file = WordImport(title: "Ny titel", parts: [
            .init(heading: "Udfordringen", markdown: "Ny udfordring."),
            .init(heading: "RISKS", markdown: "New risks."),
            .init(heading: "klimaplan", markdown: "Ny kobling."),
            .init(heading: "Tidsplan", markdown: "| Dato | Milepæl |"),
            .init(heading: "Aktiviteter og tidsplan", markdown: "—"),
            .init(heading: "bilag", markdown: "Ny tekst."),
            .init(heading: "Økonomi i øvrigt", markdown: "Noget nyt."),
            .init(heading: "Udfordringen", markdown: "Mere."),
        ])
        let plan = WordImportPlan(file, into: content, base: nil)
        #expect(plan.newTitle == "Ny titel")
        #expect(plan.entries.map(\.target) == [.section(.challenge), .section(.risks), .section(.climatePlanLink), .skipped,
                                              .section(.activities), .extraSection(existing: content.extraSections.first?.id),
                                              .extraSection(existing: nil)])
        #expect(plan.entries[0].newText == "Ny udfordring.\n\nMere.", "the same section twice: one after the other")
        #expect(plan.entries[4].newText == "", "an export's \"—\" is an empty section")
        #expect(plan.notInFile.contains(.summary) && !plan.notInFile.contains(.challenge))
        var applied = proposal
        try plan.apply(to: &applied)
        let after = try applied.content()
        #expect(after.title == "Ny titel" && after.text(.risks) == "New risks." && after.text(.activities) == "")
        #expect(after.extraSections.map(\.heading) == ["Bilag", "Økonomi i øvrigt"])
        #expect(after.extraSections.first?.body == "Ny tekst.")
        #expect(after.text(.summary) == content.text(.summary), "a section not in the file is kept")
    }

    static func zip(_ entries: [(String, Data)]) throws -> Data {
        let archive = try Archive(accessMode: .create)
        for (path, data) in entries {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return try #require(archive.data)
    }

    static func refusal(_ data: Data) -> DocumentError? {
        do {
            _ = try WordImport.read(data)
            return nil
        } catch {
            return error
        }
    }

    @Test("a hostile file gets a typed refusal: not a zip, no document, a DOCTYPE's entities, a part that inflates past 16 MiB, too many parts, too big")
    func hostileFiles() throws {
        #expect(Self.refusal(Data("PK not really".utf8))?.code == .notADocument)
        #expect(Self.refusal(try Self.zip([("word/other.xml", Data("<a/>".utf8))]))?.code == .notADocument)
        let laughs = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <w:document xmlns:w="x"><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>
            """
        #expect(Self.refusal(try Self.zip([("word/document.xml", Data(laughs.utf8))]))?.code == .notADocument)
        #expect(Self.refusal(try Self.zip([("word/document.xml", Data("<w:document><w:body>".utf8))]))?.code == .notADocument)
        // 17 MiB of spaces deflate to a few kilobytes; the inflated size is counted, not the header's word.
        let bomb = try Self.zip([("word/document.xml", Data(repeating: 0x20, count: 17 << 20))])
        #expect(bomb.count < 1 << 20)
        let tooLarge = Self.refusal(bomb)
        #expect(tooLarge?.code == .tooLarge && tooLarge?.message.contains("word/document.xml") == true, "\(String(describing: tooLarge))")
        let many = try Self.zip((0...WordImport.Limits.maxEntries).map { ("word/media/\($0).xml", Data()) })
        #expect(Self.refusal(many)?.code == .tooLarge)
        #expect(Self.refusal(Data(count: WordImport.Limits.maxFileBytes + 1))?.code == .tooLarge)
        // Each refusal says it in Danish too.
        #expect(Self.refusal(Data("x".utf8))?.danishMessage.contains("ikke et Word-dokument") == true)
    }
}
