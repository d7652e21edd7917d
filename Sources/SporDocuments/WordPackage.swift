import Foundation
import ZIPFoundation

/// A .docx file: the Office Open XML parts around a ``WordBody``, zipped in memory.
///
/// A4 portrait with 2 cm margins, the title at the top of each page and "Side 3 af
/// 7" (fields PAGE and NUMPAGES) at the bottom; styles named as Word's built-in ones
/// (Title, Heading 1–4, List Paragraph, Quote, Hyperlink), so a coordinator's own
/// template and navigation pane work on it.
struct WordPackage {
    var title: String
    var language: ExportOptions.Language
    var body: WordBody
    var created: Date
    /// Kept in the file's custom properties so that an import can tell which
    /// proposal and version it was exported from (``WordImport``).
    var proposalID: String?
    var version: String?

    static let proposalProperty = "SporProposal"
    static let versionProperty = "SporVersion"

    func data() throws -> Data {
        let archive = try Archive(accessMode: .create)
        for (path, text) in parts {
            let bytes = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(bytes.count), modificationDate: created,
                                 compressionMethod: .deflate) { position, size in
                bytes.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw DocumentError(.cannotWrite, "the .docx could not be assembled in memory",
                                                                danish: ".docx-filen kunne ikke samles i hukommelsen") }
        return data
    }

    /// The package's parts by path, as text.
    var parts: [(path: String, text: String)] {
        let danish = language == .danish
        return [
            ("[Content_Types].xml", contentTypes),
            ("_rels/.rels", packageRelationships),
            ("docProps/core.xml", coreProperties),
            ("docProps/custom.xml", customProperties),
            ("word/document.xml", document),
            ("word/_rels/document.xml.rels", documentRelationships),
            ("word/styles.xml", Self.styles(language: danish ? "da-DK" : "en-GB")),
            ("word/numbering.xml", numbering),
            ("word/header1.xml", header),
            ("word/footer1.xml", footer(danish: danish)),
        ]
    }

    private static let main = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    private static let relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    private static let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"

    private var contentTypes: String {
        Self.declaration + """
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
            <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>\
            <Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>\
            <Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>\
            <Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>\
            <Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>\
            <Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>\
            <Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>\
            </Types>
            """
    }

    private var packageRelationships: String {
        Self.declaration + """
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
            <Relationship Id="rId1" Type="\(Self.relationships)/officeDocument" Target="word/document.xml"/>\
            <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>\
            <Relationship Id="rId3" Type="\(Self.relationships)/custom-properties" Target="docProps/custom.xml"/>\
            </Relationships>
            """
    }

    private var coreProperties: String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let stamp = formatter.string(from: created)
        return Self.declaration + """
            <cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
            xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" \
            xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
            <dc:title>\(xmlEscape(title))</dc:title><dc:creator>Spor</dc:creator>\
            <dc:language>\(language == .danish ? "da-DK" : "en-GB")</dc:language>\
            <dcterms:created xsi:type="dcterms:W3CDTF">\(stamp)</dcterms:created>\
            </cp:coreProperties>
            """
    }

    private var customProperties: String {
        var out = Self.declaration + "<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties\" "
            + "xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\">"
        var id = 2
        for (name, value) in [(Self.proposalProperty, proposalID), (Self.versionProperty, version)] {
            guard let value else { continue }
            out += "<property fmtid=\"{D5CDD505-2E9C-101B-9397-08002B2CF9AE}\" pid=\"\(id)\" name=\"\(name)\">"
                + "<vt:lpwstr>\(xmlEscape(value))</vt:lpwstr></property>"
            id += 1
        }
        return out + "</Properties>"
    }

    private var document: String {
        Self.declaration + """
            <w:document xmlns:w="\(Self.main)" xmlns:r="\(Self.relationships)"><w:body>\
            \(body.xml)\
            <w:sectPr><w:headerReference w:type="default" r:id="rIdHeader"/><w:footerReference w:type="default" r:id="rIdFooter"/>\
            <w:pgSz w:w="11906" w:h="16838"/>\
            <w:pgMar w:top="1134" w:right="1134" w:bottom="1247" w:left="1134" w:header="567" w:footer="567" w:gutter="0"/>\
            </w:sectPr></w:body></w:document>
            """
    }

    private var documentRelationships: String {
        var out = Self.declaration + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        out += "<Relationship Id=\"rIdStyles\" Type=\"\(Self.relationships)/styles\" Target=\"styles.xml\"/>"
        out += "<Relationship Id=\"rIdNumbering\" Type=\"\(Self.relationships)/numbering\" Target=\"numbering.xml\"/>"
        out += "<Relationship Id=\"rIdHeader\" Type=\"\(Self.relationships)/header\" Target=\"header1.xml\"/>"
        out += "<Relationship Id=\"rIdFooter\" Type=\"\(Self.relationships)/footer\" Target=\"footer1.xml\"/>"
        for (index, link) in body.links.enumerated() {
            out += "<Relationship Id=\"rIdLink\(index + 1)\" Type=\"\(Self.relationships)/hyperlink\" "
                + "Target=\"\(xmlEscape(link))\" TargetMode=\"External\"/>"
        }
        return out + "</Relationships>"
    }

    private var header: String {
        Self.declaration + """
            <w:hdr xmlns:w="\(Self.main)" xmlns:r="\(Self.relationships)"><w:p><w:pPr><w:pStyle w:val="Header"/><w:jc w:val="center"/></w:pPr>\
            <w:r><w:t xml:space="preserve">\(xmlEscape(title))</w:t></w:r></w:p></w:hdr>
            """
    }

    private func footer(danish: Bool) -> String {
        func field(_ name: String) -> String {
            "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> \(name) </w:instrText></w:r>"
                + "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"
        }
        let (page, of) = danish ? ("Side ", " af ") : ("Page ", " of ")
        return Self.declaration + """
            <w:ftr xmlns:w="\(Self.main)" xmlns:r="\(Self.relationships)"><w:p><w:pPr><w:pStyle w:val="Footer"/><w:jc w:val="right"/></w:pPr>\
            <w:r><w:t xml:space="preserve">\(page)</w:t></w:r>\(field("PAGE"))<w:r><w:t xml:space="preserve">\(of)</w:t></w:r>\(field("NUMPAGES"))\
            </w:p></w:ftr>
            """
    }

    /// Bullets (instance 1) and one numbered instance per ordered list, each
    /// starting again at its first number; nine levels, indented 0.63 cm per level.
    private var numbering: String {
        func levels(bullet: Bool) -> String {
            (0..<9).map { level in
                let indent = 360 * (level + 1)
                let format = bullet ? "<w:numFmt w:val=\"bullet\"/><w:lvlText w:val=\"\(["•", "◦", "▪"][level % 3])\"/>"
                                    : "<w:numFmt w:val=\"decimal\"/><w:lvlText w:val=\"%\(level + 1).\"/>"
                return "<w:lvl w:ilvl=\"\(level)\"><w:start w:val=\"1\"/>\(format)<w:lvlJc w:val=\"left\"/>"
                    + "<w:pPr><w:ind w:left=\"\(indent + 360)\" w:hanging=\"360\"/></w:pPr></w:lvl>"
            }.joined()
        }
        var out = Self.declaration + "<w:numbering xmlns:w=\"\(Self.main)\">"
        out += "<w:abstractNum w:abstractNumId=\"0\"><w:multiLevelType w:val=\"hybridMultilevel\"/>\(levels(bullet: true))</w:abstractNum>"
        out += "<w:abstractNum w:abstractNumId=\"1\"><w:multiLevelType w:val=\"hybridMultilevel\"/>\(levels(bullet: false))</w:abstractNum>"
        out += "<w:num w:numId=\"1\"><w:abstractNumId w:val=\"0\"/></w:num>"
        out += "<w:num w:numId=\"2\"><w:abstractNumId w:val=\"1\"/></w:num>"
        for (list, start) in body.numberedListStarts.enumerated() {
            out += "<w:num w:numId=\"\(3 + list)\"><w:abstractNumId w:val=\"1\"/>"
                + "<w:lvlOverride w:ilvl=\"0\"><w:startOverride w:val=\"\(start)\"/></w:lvlOverride></w:num>"
        }
        return out + "</w:numbering>"
    }

    private static func styles(language: String) -> String {
        func paragraphStyle(_ id: String, _ name: String, basedOn: String? = "Normal", outline: Int? = nil,
                            paragraph: String = "", run: String = "") -> String {
            "<w:style w:type=\"paragraph\" w:styleId=\"\(id)\"><w:name w:val=\"\(name)\"/>"
                + (basedOn.map { "<w:basedOn w:val=\"\($0)\"/>" } ?? "") + "<w:qFormat/>"
                + "<w:pPr>\(paragraph)\(outline.map { "<w:outlineLvl w:val=\"\($0)\"/>" } ?? "")</w:pPr><w:rPr>\(run)</w:rPr></w:style>"
        }
        let headingParagraph = "<w:keepNext/><w:keepLines/><w:spacing w:before=\"320\" w:after=\"120\"/>"
        return declaration + "<w:styles xmlns:w=\"\(main)\">"
            + "<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii=\"Calibri\" w:hAnsi=\"Calibri\" w:cs=\"Calibri\"/>"
            + "<w:sz w:val=\"22\"/><w:lang w:val=\"\(language)\"/></w:rPr></w:rPrDefault>"
            + "<w:pPrDefault><w:pPr><w:spacing w:after=\"120\" w:line=\"276\" w:lineRule=\"auto\"/></w:pPr></w:pPrDefault></w:docDefaults>"
            + "<w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/><w:qFormat/></w:style>"
            + paragraphStyle("Title", "Title", paragraph: "<w:spacing w:after=\"240\"/>", run: "<w:b/><w:sz w:val=\"40\"/>")
            + paragraphStyle("Heading1", "heading 1", outline: 0, paragraph: headingParagraph, run: "<w:b/><w:sz w:val=\"30\"/>")
            + paragraphStyle("Heading2", "heading 2", outline: 1, paragraph: headingParagraph, run: "<w:b/><w:sz w:val=\"26\"/>")
            + paragraphStyle("Heading3", "heading 3", outline: 2, paragraph: headingParagraph, run: "<w:b/><w:sz w:val=\"23\"/>")
            + paragraphStyle("Heading4", "heading 4", outline: 3, paragraph: headingParagraph, run: "<w:b/><w:i/><w:sz w:val=\"22\"/>")
            + paragraphStyle("ListParagraph", "List Paragraph", paragraph: "<w:spacing w:after=\"60\"/><w:contextualSpacing/>")
            + paragraphStyle("Quote", "Quote", paragraph: "<w:ind w:left=\"567\"/>", run: "<w:i/><w:color w:val=\"444444\"/>")
            + paragraphStyle("CodeBlock", "Code Block", paragraph: "<w:spacing w:after=\"0\"/>",
                             run: "<w:rFonts w:ascii=\"Consolas\" w:hAnsi=\"Consolas\"/><w:sz w:val=\"19\"/>")
            + paragraphStyle("TableText", "Table Text", paragraph: "<w:spacing w:after=\"0\"/>", run: "<w:sz w:val=\"19\"/>")
            + paragraphStyle("Header", "header", run: "<w:sz w:val=\"18\"/><w:color w:val=\"555555\"/>")
            + paragraphStyle("Footer", "footer", run: "<w:sz w:val=\"18\"/><w:color w:val=\"555555\"/>")
            + "<w:style w:type=\"character\" w:styleId=\"Hyperlink\"><w:name w:val=\"Hyperlink\"/>"
            + "<w:rPr><w:color w:val=\"0563C1\"/><w:u w:val=\"single\"/></w:rPr></w:style>"
            + "<w:style w:type=\"character\" w:styleId=\"Code\"><w:name w:val=\"Code\"/>"
            + "<w:rPr><w:rFonts w:ascii=\"Consolas\" w:hAnsi=\"Consolas\"/><w:sz w:val=\"18\"/></w:rPr></w:style>"
            + "<w:style w:type=\"table\" w:styleId=\"Table\"><w:name w:val=\"Table Grid\"/><w:tblPr>"
            + "<w:tblBorders><w:top w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/><w:left w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/>"
            + "<w:bottom w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/><w:right w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/>"
            + "<w:insideH w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/><w:insideV w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/></w:tblBorders>"
            + "<w:tblCellMar><w:left w:w=\"85\" w:type=\"dxa\"/><w:right w:w=\"85\" w:type=\"dxa\"/></w:tblCellMar></w:tblPr></w:style>"
            + "</w:styles>"
    }
}
