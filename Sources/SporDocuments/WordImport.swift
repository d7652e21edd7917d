import Foundation
import SporCRDT
import SporProposal
import SWXMLHash
import ZIPFoundation

/// A Word document (.docx) read back as a proposal's parts: its title, then each
/// heading with the text under it as Markdown (bold, italic, strike-through, links,
/// bulleted and numbered lists, sub-headings, quotes, tables).
///
/// The file comes from anyone's machine and is treated as hostile: at most
/// ``Limits/maxFileBytes`` read, at most ``Limits/maxEntries`` parts, the XML parts
/// it uses at most ``Limits/maxPartBytes`` each when inflated (counted while
/// inflating, not taken from the zip's header), and no DOCTYPE (so no entity can
/// expand or reach outside). Anything else is ``DocumentError``; nothing is
/// imported from a file that fails.
public struct WordImport: Sendable {
    public enum Limits {
        public static let maxFileBytes = 32 << 20
        public static let maxEntries = 2_000
        public static let maxPartBytes = 16 << 20
    }

    public struct Part: Equatable, Sendable {
        /// The heading as written.
        public var heading: String
        /// What follows it up to the next heading of its level or above, as Markdown.
        public var markdown: String
    }

    /// The text of the paragraph in Word's Title style, if any.
    public var title: String?
    /// The headings of the top level used (the lowest heading number in the file)
    /// with their text, in document order.
    public var parts: [Part]
    /// Whether text stood before the first heading (other than the title and a
    /// table, which is where an export puts its facts); it is not imported.
    public var hasTextBeforeFirstHeading: Bool
    /// The proposal and the version an export by Spor was made from, from the
    /// file's custom properties (kept by Word and LibreOffice when saving).
    public var exportedProposal: String?
    public var exportedVersion: Version?

    public init(title: String? = nil, parts: [Part], hasTextBeforeFirstHeading: Bool = false,
                exportedProposal: String? = nil, exportedVersion: Version? = nil) {
        self.title = title
        self.parts = parts
        self.hasTextBeforeFirstHeading = hasTextBeforeFirstHeading
        self.exportedProposal = exportedProposal
        self.exportedVersion = exportedVersion
    }

    /// Reads `data`, a .docx file.
    public static func read(_ data: Data) throws(DocumentError) -> WordImport {
        guard data.count <= Limits.maxFileBytes else {
            throw DocumentError(.tooLarge, "the file is \(data.count / (1 << 20)) MiB; at most \(Limits.maxFileBytes >> 20) MiB can be imported",
                                danish: "filen fylder \(data.count / (1 << 20)) MiB; højst \(Limits.maxFileBytes >> 20) MiB kan importeres")
        }
        let archive: Archive
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw DocumentError(.notADocument, "the file is not a Word document (.docx): it is not a zip archive",
                                danish: "filen er ikke et Word-dokument (.docx): den er ikke et zip-arkiv")
        }
        var entries = 0
        for _ in archive {
            entries += 1
            guard entries <= Limits.maxEntries else {
                throw DocumentError(.tooLarge, "the file has more than \(Limits.maxEntries) parts",
                                    danish: "filen har mere end \(Limits.maxEntries) dele")
            }
        }
        guard let document = try part("word/document.xml", of: archive) else {
            throw DocumentError(.notADocument, "the file is not a Word document (.docx): it has no word/document.xml",
                                danish: "filen er ikke et Word-dokument (.docx): den har ingen word/document.xml")
        }
        let reader = WordReader(styles: try part("word/styles.xml", of: archive).map(parse),
                                numbering: try part("word/numbering.xml", of: archive).map(parse),
                                relationships: try part("word/_rels/document.xml.rels", of: archive).map(parse))
        var result = reader.read(try parse(document))
        if let custom = try part("docProps/custom.xml", of: archive).map(parse) {
            for property in custom["Properties"]["property"].all {
                let value = property.children.first?.element?.text
                switch property.element?.attribute(by: "name")?.text {
                case WordPackage.proposalProperty: result.exportedProposal = value
                case WordPackage.versionProperty: result.exportedVersion = value.flatMap(Proposal.version)
                default: break
                }
            }
        }
        return result
    }

    /// `markdown` as it reads after a trip through Word: laid out as an export lays
    /// out a section, then read back. O(n).
    static func readBack(_ markdown: String) -> String {
        var body = WordBody()
        body.paragraph("x", style: "Heading1")
        body.sectionText(SectionMarkdown.html(markdown))
        let package = WordPackage(title: "", language: .danish, body: body, created: Date(timeIntervalSince1970: 0))
        let parts = Dictionary(package.parts.map { ($0.path, $0.text) }, uniquingKeysWith: { first, _ in first })
        func parsed(_ path: String) -> XMLIndexer? { (parts[path]).flatMap { try? parse($0) } }
        guard let document = parsed("word/document.xml") else { return markdown }
        let reader = WordReader(styles: parsed("word/styles.xml"), numbering: parsed("word/numbering.xml"),
                                relationships: parsed("word/_rels/document.xml.rels"))
        return reader.read(document).parts.first?.markdown ?? ""
    }

    /// The inflated bytes of `path` as UTF-8, at most ``Limits/maxPartBytes``; nil
    /// if the archive has no such part.
    private static func part(_ path: String, of archive: Archive) throws(DocumentError) -> String? {
        guard let entry = archive[path] else { return nil }
        guard entry.type == .file else { throw DocumentError(.notADocument, "\(path) in the file is not a file",
                                                       danish: "\(path) i filen er ikke en fil") }
        var bytes = Data()
        do {
            _ = try archive.extract(entry, skipCRC32: false) { chunk in
                guard bytes.count + chunk.count <= Limits.maxPartBytes else { throw PartTooLarge() }
                bytes.append(chunk)
            }
        } catch is PartTooLarge {
            throw DocumentError(.tooLarge, "\(path) in the file inflates to more than \(Limits.maxPartBytes >> 20) MiB",
                                danish: "\(path) i filen fylder mere end \(Limits.maxPartBytes >> 20) MiB udpakket")
        } catch {
            throw DocumentError(.notADocument, "\(path) in the file cannot be read: it is damaged",
                                danish: "\(path) i filen kan ikke læses: den er beskadiget")
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw DocumentError(.notADocument, "\(path) in the file is not UTF-8 text", danish: "\(path) i filen er ikke UTF-8-tekst")
        }
        return text
    }

    private struct PartTooLarge: Error {}

    private static func parse(_ xml: String) throws(DocumentError) -> XMLIndexer {
        guard !xml.contains("<!DOCTYPE"), !xml.contains("<!ENTITY") else {
            throw DocumentError(.notADocument, "the file declares a DOCTYPE, which Word documents never do",
                                danish: "filen erklærer en DOCTYPE, hvad Word-dokumenter aldrig gør")
        }
        let parsed = XMLHash.config { $0.shouldProcessNamespaces = false; $0.detectParsingErrors = true }.parse(xml)
        if case .parsingError = parsed {
            throw DocumentError(.notADocument, "the file's XML is malformed", danish: "filens XML er ugyldig")
        }
        return parsed
    }
}

/// Walks `word/document.xml` with the styles, numbering and link targets it refers to.
private struct WordReader {
    /// Heading level by paragraph style id: 0 for the Title style, 1… for headings.
    private var headingLevels: [String: Int] = [:]
    /// Style ids whose name says a list ("List Bullet", "List Number"): ordered or not.
    private var listStyles: [String: Bool] = [:]
    /// Whether each (numId, ilvl) numbers (true) or bullets (false), and its first number.
    private var ordered: [String: Bool] = [:]
    private var starts: [String: Int] = [:]
    private var linkTargets: [String: String] = [:]

    init(styles: XMLIndexer?, numbering: XMLIndexer?, relationships: XMLIndexer?) {
        for style in styles?["w:styles"]["w:style"].all ?? [] {
            guard let id = style.element?.attribute(by: "w:styleId")?.text else { continue }
            let name = (style["w:name"].element?.attribute(by: "w:val")?.text ?? id).lowercased()
            if name == "title" {
                headingLevels[id] = 0
            } else if name.hasPrefix("heading "), let level = Int(name.dropFirst(8)), (1...9).contains(level) {
                headingLevels[id] = level
            } else if let outline = style["w:pPr"]["w:outlineLvl"].element?.attribute(by: "w:val")?.text,
                      let level = Int(outline), (0...8).contains(level) {
                headingLevels[id] = level + 1
            } else if name.hasPrefix("list bullet") {
                listStyles[id] = false
            } else if name.hasPrefix("list number") {
                listStyles[id] = true
            }
        }
        if let numbering {
            var abstract: [String: [String: (ordered: Bool, start: Int)]] = [:]
            for definition in numbering["w:numbering"]["w:abstractNum"].all {
                guard let id = definition.element?.attribute(by: "w:abstractNumId")?.text else { continue }
                for level in definition["w:lvl"].all {
                    guard let ilvl = level.element?.attribute(by: "w:ilvl")?.text else { continue }
                    let format = level["w:numFmt"].element?.attribute(by: "w:val")?.text ?? "bullet"
                    let start = level["w:start"].element?.attribute(by: "w:val").flatMap { Int($0.text) } ?? 1
                    abstract[id, default: [:]][ilvl] = (format != "bullet" && format != "none", start)
                }
            }
            for instance in numbering["w:numbering"]["w:num"].all {
                guard let id = instance.element?.attribute(by: "w:numId")?.text,
                      let abstractID = instance["w:abstractNumId"].element?.attribute(by: "w:val")?.text else { continue }
                for (ilvl, level) in abstract[abstractID] ?? [:] {
                    ordered["\(id)/\(ilvl)"] = level.ordered
                    starts["\(id)/\(ilvl)"] = level.start
                }
                for override in instance["w:lvlOverride"].all {
                    guard let ilvl = override.element?.attribute(by: "w:ilvl")?.text,
                          let start = override["w:startOverride"].element?.attribute(by: "w:val").flatMap({ Int($0.text) }) else { continue }
                    starts["\(id)/\(ilvl)"] = start
                }
            }
        }
        for relationship in relationships?["Relationships"]["Relationship"].all ?? [] {
            guard let id = relationship.element?.attribute(by: "Id")?.text,
                  let target = relationship.element?.attribute(by: "Target")?.text else { continue }
            linkTargets[id] = target
        }
    }

    /// A paragraph or a table of the body, read.
    private enum Block {
        case heading(level: Int, text: String)
        case paragraph(String)
        /// `list` names the list (its numbering instance): a new one starts again at 1.
        case listItem(list: String, ordered: Bool, start: Int, level: Int, text: String)
        case table(String)
    }

    func read(_ document: XMLIndexer) -> WordImport {
        var blocks: [Block] = []
        collect(document["w:document"]["w:body"].children, into: &blocks)
        let levels = blocks.compactMap { if case let .heading(level, _) = $0, level > 0 { level } else { nil } }
        let top = levels.min() ?? 1
        var result = WordImport(parts: [])
        var current: (heading: String, lines: [Block])?
        func finish() {
            if let current { result.parts.append(.init(heading: current.heading, markdown: Self.markdown(current.lines, top: top))) }
        }
        for block in blocks {
            switch block {
            case let .heading(0, text):
                if result.title == nil, current == nil { result.title = text } else { current?.lines.append(.paragraph(text)) }
            case let .heading(level, text) where level <= top:
                finish()
                current = (text, [])
            default:
                if current != nil {
                    current?.lines.append(block)
                } else if case let .paragraph(text) = block, !text.isEmpty {
                    result.hasTextBeforeFirstHeading = true
                } else if case .listItem = block {
                    result.hasTextBeforeFirstHeading = true
                } else if case .heading = block {
                    result.hasTextBeforeFirstHeading = true
                }
            }
        }
        finish()
        return result
    }

    private func collect(_ children: [XMLIndexer], into blocks: inout [Block]) {
        for child in children {
            guard let name = child.element?.name else { continue }
            switch name {
            case "w:p":
                if let block = paragraph(child) { blocks.append(block) }
            case "w:tbl":
                blocks.append(.table(table(child)))
            case "w:sdt":
                collect(child["w:sdtContent"].children, into: &blocks)
            default:
                continue
            }
        }
    }

    private func paragraph(_ paragraph: XMLIndexer) -> Block? {
        let properties = paragraph["w:pPr"]
        let style = properties["w:pStyle"].element?.attribute(by: "w:val")?.text
        let text = Self.trimmed(inline(paragraph.children))
        if let style, let level = headingLevels[style] {
            return text.isEmpty ? nil : .heading(level: level, text: Self.plain(text))
        }
        if let outline = properties["w:outlineLvl"].element?.attribute(by: "w:val")?.text, let level = Int(outline), level < 9 {
            return text.isEmpty ? nil : .heading(level: level + 1, text: Self.plain(text))
        }
        if let numID = properties["w:numPr"]["w:numId"].element?.attribute(by: "w:val")?.text, numID != "0" {
            let ilvl = properties["w:numPr"]["w:ilvl"].element?.attribute(by: "w:val")?.text ?? "0"
            let key = "\(numID)/\(ilvl)"
            return text.isEmpty ? nil : .listItem(list: numID, ordered: ordered[key] ?? false, start: min(max(starts[key] ?? 1, 0), 999_999),
                                                  level: min(Int(ilvl) ?? 0, 8), text: text)
        }
        if let style, let isOrdered = listStyles[style] {
            return text.isEmpty ? nil : .listItem(list: style, ordered: isOrdered, start: 1, level: 0, text: text)
        }
        if style == "Quote" || style == "IntenseQuote" {
            return .paragraph(text.split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }.joined(separator: "\n"))
        }
        return .paragraph(text)
    }

    /// A table as a Markdown table: the first row as the header.
    private func table(_ table: XMLIndexer) -> String {
        let rows = table["w:tr"].all.map { row in
            row["w:tc"].all.map { cell in
                cell["w:p"].all.map { Self.plain(Self.trimmed(inline($0.children))) }.filter { !$0.isEmpty }
                    .joined(separator: " ").replacingOccurrences(of: "|", with: "/")
            }
        }
        guard let header = rows.first, !header.isEmpty else { return "" }
        var lines = ["| " + header.joined(separator: " | ") + " |", "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
        for row in rows.dropFirst() {
            let cells = row + Array(repeating: "", count: max(0, header.count - row.count))
            lines.append("| " + cells.prefix(header.count).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// A run of text with its formatting.
    private struct Span {
        var text: String
        var bold = false
        var italic = false
        var strike = false
        var link: String?
        func sameFormat(as other: Span) -> Bool {
            bold == other.bold && italic == other.italic && strike == other.strike && link == other.link
        }
    }

    /// Inline content as Markdown: spans of the same formatting joined, markers put
    /// around their text with the spaces outside (`**fed** tekst`, not `**fed **tekst`).
    private func inline(_ children: [XMLIndexer]) -> String {
        var spans: [Span] = []
        spanning(children, link: nil, into: &spans)
        var merged: [Span] = []
        for span in spans where !span.text.isEmpty {
            if let last = merged.last, last.sameFormat(as: span) { merged[merged.count - 1].text += span.text } else { merged.append(span) }
        }
        return merged.map { span in
            let core = span.text.trimmingCharacters(in: .whitespaces)
            guard !core.isEmpty else { return span.text }
            let leading = String(span.text.prefix { $0 == " " || $0 == "\t" })
            let trailing = String(String(span.text.reversed()).prefix { $0 == " " || $0 == "\t" })
            var marked = core
            if span.strike { marked = "~~\(marked)~~" }
            if span.italic { marked = "*\(marked)*" }
            if span.bold { marked = "**\(marked)**" }
            if let link = span.link { marked = "[\(marked)](\(link))" }
            return leading + marked + trailing
        }.joined()
    }

    private func spanning(_ children: [XMLIndexer], link: String?, into spans: inout [Span]) {
        for child in children {
            guard let element = child.element else { continue }
            switch element.name {
            case "w:r":
                let properties = child["w:rPr"]
                var span = Span(text: "", bold: Self.isOn(properties["w:b"]), italic: Self.isOn(properties["w:i"]),
                                strike: Self.isOn(properties["w:strike"]), link: link)
                for piece in child.children {
                    switch piece.element?.name {
                    case "w:t": span.text += piece.element?.text ?? ""
                    case "w:tab": span.text += " "
                    case "w:br", "w:cr":
                        if piece.element?.attribute(by: "w:type")?.text ?? "textWrapping" == "textWrapping" { span.text += "\n" }
                    default: break
                    }
                }
                spans.append(span)
            case "w:hyperlink":
                let target = element.attribute(by: "r:id").flatMap { linkTargets[$0.text] }
                let allowed = target.flatMap { SectionMarkdown.isAllowedTarget($0) ? $0 : nil }
                spanning(child.children, link: allowed ?? link, into: &spans)
            case "w:ins", "w:smartTag", "w:fldSimple", "w:sdt", "w:sdtContent", "w:customXml":
                spanning(child.children, link: link, into: &spans)
            default:
                continue
            }
        }
    }

    /// `<w:b/>` or `<w:b w:val="1|true|on"/>` is on; `w:val="0|false|off"` and absence off.
    private static func isOn(_ property: XMLIndexer) -> Bool {
        guard let element = property.element else { return false }
        guard let value = element.attribute(by: "w:val")?.text else { return true }
        return !["0", "false", "off", "none"].contains(value)
    }

    private static func trimmed(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Markdown markers taken off a heading's text.
    private static func plain(_ markdown: String) -> String {
        markdown.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "~~", with: "")
    }

    /// The blocks under one heading as Markdown: paragraphs separated by blank lines,
    /// list items on consecutive lines (indented by level, numbered lists from 1),
    /// sub-headings as `#` (one level below the part's heading) and deeper.
    private static func markdown(_ blocks: [Block], top: Int) -> String {
        var out: [String] = []
        var currentList: String?
        var numbers: [Int] = []
        for block in blocks {
            switch block {
            case let .listItem(list, isOrdered, start, level, text):
                // A new list (or, at the top level, another one) starts after a blank line, at 1.
                if currentList == nil || (level == 0 && currentList != list) {
                    if !out.isEmpty { out.append("") }
                    numbers = []
                }
                currentList = list
                if numbers.count <= level {
                    // A list or a nested level begins: at its first number.
                    numbers += Array(repeating: 0, count: level - numbers.count) + [start - 1]
                }
                numbers = Array(numbers.prefix(level + 1))
                numbers[level] += 1
                let marker = isOrdered ? "\(numbers[level])." : "-"
                out.append(String(repeating: "   ", count: level) + marker + " " + text)
                continue
            case let .heading(level, text):
                if !out.isEmpty { out.append("") }
                out.append(String(repeating: "#", count: max(1, min(level - top, 4))) + " " + text)
            case let .paragraph(text):
                if text.isEmpty { currentList = nil; numbers = []; continue }
                if !out.isEmpty { out.append("") }
                out.append(text)
            case let .table(text):
                if text.isEmpty { continue }
                if !out.isEmpty { out.append("") }
                out.append(text)
            }
            currentList = nil
            numbers = []
        }
        return out.joined(separator: "\n")
    }
}
