import Foundation
import SWXMLHash

/// The body of a Word document (WordprocessingML) being written: paragraphs,
/// tables, lists and links, with the relationships and numbering they need.
///
/// Section texts arrive as the XHTML fragment ``SectionMarkdown`` makes of their
/// Markdown, so HTML and Word show the same headings, lists, emphasis and links. All
/// text is XML-escaped here; link targets are the ones ``SectionMarkdown`` let
/// through (web and mail only).
struct WordBody {
    private(set) var xml = ""
    /// External link targets, in order: relationship `rIdLinkN` is `links[N-1]`.
    private(set) var links: [String] = []
    /// Each numbered list starts again (at 1, or at its `start`), so each gets its own
    /// numbering instance (`w:num`), numbered from 3 (1 is bullets, 2 unused): the
    /// first number of each.
    private(set) var numberedListStarts: [Int] = []

    /// Inline formatting in effect while walking a fragment.
    private struct Style {
        var bold = false
        var italic = false
        var strike = false
        var code = false
        var link: Int?
    }

    // MARK: - Paragraphs

    mutating func paragraph(_ text: String, style: String? = nil, bold: Bool = false, keepWithNext: Bool = false) {
        xml += "<w:p>" + properties(style: style, keepWithNext: keepWithNext)
        xml += run(text, Style(bold: bold))
        xml += "</w:p>"
    }

    mutating func pageBreak() {
        xml += "<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>"
    }

    private func properties(style: String?, keepWithNext: Bool = false, numbering: (id: Int, level: Int)? = nil,
                            alignment: String? = nil) -> String {
        var inner = ""
        if let style { inner += "<w:pStyle w:val=\"\(style)\"/>" }
        if keepWithNext { inner += "<w:keepNext/>" }
        if let numbering { inner += "<w:numPr><w:ilvl w:val=\"\(numbering.level)\"/><w:numId w:val=\"\(numbering.id)\"/></w:numPr>" }
        if let alignment { inner += "<w:jc w:val=\"\(alignment)\"/>" }
        return inner.isEmpty ? "" : "<w:pPr>\(inner)</w:pPr>"
    }

    /// One run per line of `text`, line breaks as `<w:br/>`.
    private func run(_ text: String, _ style: Style) -> String {
        guard !text.isEmpty else { return "" }
        var properties = ""
        if style.link != nil {
            properties += "<w:rStyle w:val=\"Hyperlink\"/>"
        } else if style.code {
            properties += "<w:rStyle w:val=\"Code\"/>"
        }
        if style.bold { properties += "<w:b/>" }
        if style.italic { properties += "<w:i/>" }
        if style.strike { properties += "<w:strike/>" }
        var out = "<w:r>" + (properties.isEmpty ? "" : "<w:rPr>\(properties)</w:rPr>")
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if index > 0 { out += "<w:br/>" }
            if !line.isEmpty { out += "<w:t xml:space=\"preserve\">\(xmlEscape(String(line)))</w:t>" }
        }
        return out + "</w:r>"
    }

    // MARK: - Tables

    /// A table with a bold header row repeated on each page, bold footer rows,
    /// numeric columns aligned right and hash columns in small monospace.
    mutating func table(header: [String], rows: [[String]], footer: [[String]], numeric: Set<Int>, hashes: Set<Int> = []) {
        xml += "<w:tbl><w:tblPr><w:tblStyle w:val=\"Table\"/><w:tblW w:w=\"5000\" w:type=\"pct\"/></w:tblPr><w:tblGrid>"
        xml += String(repeating: "<w:gridCol/>", count: header.count) + "</w:tblGrid>"
        func row(_ cells: [String], bold: Bool, isHeader: Bool) -> String {
            var out = "<w:tr>" + (isHeader ? "<w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>" : "<w:trPr><w:cantSplit/></w:trPr>")
            for (index, cell) in cells.enumerated() {
                let alignment = numeric.contains(index) ? "right" : nil
                var style = Style(bold: bold)
                style.code = hashes.contains(index) && !isHeader
                out += "<w:tc><w:p>" + properties(style: "TableText", alignment: alignment) + run(cell, style) + "</w:p></w:tc>"
            }
            return out + "</w:tr>"
        }
        xml += row(header, bold: true, isHeader: true)
        for cells in rows { xml += row(cells, bold: false, isHeader: false) }
        for cells in footer { xml += row(cells, bold: true, isHeader: false) }
        xml += "</w:tbl>"
        paragraph("")
    }

    /// The facts at the top: names in bold on the left, values on the right.
    mutating func factsTable(_ facts: [(name: String, value: String, isHash: Bool)]) {
        guard !facts.isEmpty else { return }
        xml += "<w:tbl><w:tblPr><w:tblStyle w:val=\"Table\"/><w:tblW w:w=\"5000\" w:type=\"pct\"/></w:tblPr>"
        xml += "<w:tblGrid><w:gridCol w:w=\"3200\"/><w:gridCol w:w=\"6400\"/></w:tblGrid>"
        for fact in facts {
            var value = Style()
            value.code = fact.isHash
            xml += "<w:tr><w:trPr><w:cantSplit/></w:trPr><w:tc><w:p>" + properties(style: "TableText") + run(fact.name, Style(bold: true))
                + "</w:p></w:tc><w:tc><w:p>" + properties(style: "TableText") + run(fact.value, value) + "</w:p></w:tc></w:tr>"
        }
        xml += "</w:tbl>"
        paragraph("")
    }

    // MARK: - Section text

    /// Lays out the XHTML fragment of a section's Markdown. Headings inside it
    /// (`h3`…`h6`) become Heading 2–4 under the section's Heading 1.
    mutating func sectionText(_ fragment: String) {
        let root = XMLHash.config { $0.shouldProcessNamespaces = false }.parse("<root>\(fragment)</root>")
        guard let element = root["root"].element else {
            // Not expected: SectionMarkdown writes well-formed XML. Keep the text readable.
            paragraph(fragment)
            return
        }
        blocks(element.children, listLevel: nil)
    }

    private mutating func blocks(_ children: [XMLContent], listLevel: Int?) {
        var stray = ""
        func flush(_ body: inout WordBody) {
            let text = stray.trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { body.paragraph(text) }
            stray = ""
        }
        for child in children {
            if let text = child as? TextElement {
                stray += text.text
                continue
            }
            guard let element = child as? XMLElement else { continue }
            flush(&self)
            switch element.name {
            case "p":
                inlineParagraph(element.children)
            case "h3", "h4", "h5", "h6":
                let level = min(Int(element.name.dropFirst()) ?? 3, 6) - 1
                inlineParagraph(element.children, style: "Heading\(min(level, 4))", keepWithNext: true)
            case "ul", "ol":
                list(element, ordered: element.name == "ol", level: (listLevel ?? -1) + 1)
            case "blockquote":
                for paragraph in element.children.compactMap({ $0 as? XMLElement }) {
                    inlineParagraph(paragraph.children, style: "Quote")
                }
            case "pre":
                let code = element.children.compactMap { $0 as? XMLElement }.first.map(plainText) ?? plainText(element)
                for line in code.trimmingCharacters(in: .newlines).split(separator: "\n", omittingEmptySubsequences: false) {
                    xml += "<w:p>" + properties(style: "CodeBlock") + run(String(line), Style()) + "</w:p>"
                }
            case "hr":
                xml += "<w:p><w:pPr><w:pBdr><w:bottom w:val=\"single\" w:sz=\"6\" w:space=\"1\" w:color=\"999999\"/></w:pBdr></w:pPr></w:p>"
            case "table":
                markdownTable(element)
            default:
                inlineParagraph(element.children)
            }
        }
        flush(&self)
    }

    private mutating func inlineParagraph(_ children: [XMLContent], style: String? = nil, keepWithNext: Bool = false,
                                          numbering: (id: Int, level: Int)? = nil) {
        let runs = inline(children, Style())
        xml += "<w:p>" + properties(style: style, keepWithNext: keepWithNext, numbering: numbering) + runs + "</w:p>"
    }

    private mutating func list(_ element: XMLElement, ordered: Bool, level: Int) {
        let numbering: Int
        if ordered {
            let start = element.attribute(by: "start").flatMap { Int($0.text) }.map { min(max($0, 0), 999_999) } ?? 1
            numberedListStarts.append(start)
            numbering = 2 + numberedListStarts.count
        } else {
            numbering = 1
        }
        for item in element.children.compactMap({ $0 as? XMLElement }) where item.name == "li" {
            let nested = item.children.filter { ($0 as? XMLElement).map { $0.name == "ul" || $0.name == "ol" } ?? false }
            let own = item.children.filter { ($0 as? XMLElement).map { $0.name != "ul" && $0.name != "ol" } ?? true }
            inlineParagraph(own, style: "ListParagraph", numbering: (numbering, min(level, 8)))
            for case let sublist as XMLElement in nested {
                list(sublist, ordered: sublist.name == "ol", level: level + 1)
            }
        }
    }

    private mutating func markdownTable(_ element: XMLElement) {
        var header: [String] = []
        var rows: [[String]] = []
        for part in element.children.compactMap({ $0 as? XMLElement }) {
            for row in part.children.compactMap({ $0 as? XMLElement }) where row.name == "tr" {
                let cells = row.children.compactMap { $0 as? XMLElement }.map(plainText)
                if part.name == "thead" { header = cells } else { rows.append(cells) }
            }
        }
        let width = max(header.count, rows.map(\.count).max() ?? 0)
        guard width > 0 else { return }
        table(header: header + Array(repeating: "", count: width - header.count),
              rows: rows.map { $0 + Array(repeating: "", count: max(0, width - $0.count)) }, footer: [], numeric: [])
    }

    /// Runs for inline content: text, `strong`, `em`, `del`, `code`, `a`, `br`.
    private mutating func inline(_ children: [XMLContent], _ style: Style) -> String {
        var out = ""
        // The XML parser may hand one text over in pieces (at non-ASCII characters): one run for it.
        var text = ""
        for child in children {
            if let piece = child as? TextElement {
                text += piece.text
                continue
            }
            out += run(text, style)
            text = ""
            guard let element = child as? XMLElement else { continue }
            var inner = style
            switch element.name {
            case "strong", "b": inner.bold = true
            case "em", "i": inner.italic = true
            case "del", "s": inner.strike = true
            case "code": inner.code = true
            case "br":
                out += "<w:r><w:br/></w:r>"
                continue
            case "a":
                guard let target = element.attribute(by: "href")?.text, SectionMarkdown.isAllowedTarget(target) else { break }
                links.append(target)
                inner.link = links.count
                let runs = inline(element.children, inner)
                out += "<w:hyperlink r:id=\"rIdLink\(links.count)\">" + runs + "</w:hyperlink>"
                continue
            default: break
            }
            let runs = inline(element.children, inner)
            out += runs
        }
        return out + run(text, style)
    }

    private func plainText(_ element: XMLElement) -> String {
        element.children.map { child in
            if let text = child as? TextElement { return text.text }
            if let element = child as? XMLElement { return element.name == "br" ? "\n" : plainText(element) }
            return ""
        }.joined()
    }
}

/// Text escaped for XML element content and attribute values.
func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
        default:
            // Characters XML 1.0 cannot hold (other control characters) are left out.
            if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
