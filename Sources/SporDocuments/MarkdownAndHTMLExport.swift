import Foundation
import SporProposal

extension ProposalContent {
    /// The proposal as Markdown (GitHub-flavoured tables). Section texts are copied as
    /// written (partners may use Markdown in them); table cells are escaped.
    public func markdown(_ options: ExportOptions) -> String {
        let model = ExportModel(self, options: options)
        var out = "# \(model.title)\n\n"
        out += "| | |\n|---|---|\n"
        for fact in model.facts { out += "| \(cell(fact.name)) | \(cell(fact.value)) |\n" }
        for (heading, text) in model.sections {
            out += "\n## \(heading)\n\n"
            let body = text.trimmingWhitespace()
            out += body.isEmpty ? "—\n" : body + "\n"
        }
        for (heading, table) in model.tables {
            out += "\n## \(heading)\n\n"
            guard !table.rows.isEmpty || !table.footer.isEmpty else { continue }
            out += "| " + table.header.map(cell).joined(separator: " | ") + " |\n"
            out += "|" + table.header.indices.map { table.numeric.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|\n"
            for row in table.rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
            for row in table.footer { out += "| " + row.map { $0.isEmpty ? "" : "**\(cell($0))**" }.joined(separator: " | ") + " |\n" }
        }
        if let heading = model.commentsHeading {
            out += "\n## \(heading)\n"
            if model.comments.isEmpty { out += "\n—\n" }
            for comment in model.comments {
                out += "\n### \(comment.heading)\n\n"
                out += splitLines(comment.quote).map { "> \($0)" }.joined(separator: "\n") + "\n"
                for paragraph in comment.paragraphs { out += "\n\(paragraph)\n" }
            }
        }
        return out
    }

    /// The proposal as one standalone HTML page (no external files), laid out to
    /// print on A4: margins, the title at the top of each page, "Side 3 af 7" at the
    /// bottom, tables and long values (hashes, addresses) wrapped inside the page.
    /// Section texts are rendered from Markdown by ``SectionMarkdown`` (raw HTML
    /// escaped, only web and mail links); every other text from the document is
    /// escaped.
    public func html(_ options: ExportOptions) -> String {
        let model = ExportModel(self, options: options)
        let pageNumber = model.language == .danish ? "\"Side \" counter(page) \" af \" counter(pages)"
                                                   : "\"Page \" counter(page) \" of \" counter(pages)"
        var out = """
            <!DOCTYPE html>
            <html lang="\(model.language.rawValue)">
            <head>
            <meta charset="utf-8">
            <title>\(escape(model.title))</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 50em; margin: 2em auto; line-height: 1.45; color: #111; }
            table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1.5em; }
            th, td { border: 1px solid #999; padding: 0.25em 0.5em; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
            td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
            td.hash { font-family: ui-monospace, monospace; font-size: 0.85em; word-break: break-all; }
            tfoot td { font-weight: bold; }
            blockquote { border-left: 3px solid #999; margin: 0.5em 0; padding-left: 0.75em; color: #444; }
            pre { white-space: pre-wrap; overflow-wrap: anywhere; }
            p, li { overflow-wrap: anywhere; }
            @page { size: A4; margin: 20mm 18mm 22mm;
              @top-center { content: \(cssString(model.title)); font: 9pt system-ui, sans-serif; color: #555; }
              @bottom-right { content: \(pageNumber); font: 9pt system-ui, sans-serif; color: #555; } }
            @media print { body { margin: 0; max-width: none; font-size: 10.5pt; } h1, h2, h3 { break-after: avoid; } tr, blockquote { break-inside: avoid; } }
            </style>
            </head>
            <body>

            """
        out += htmlBody(model)
        out += "</body>\n</html>\n"
        return out
    }

    /// The proposal as an HTML fragment (its title as `h1`, facts, sections, tables,
    /// comments; no styles), escaped as ``html(_:)`` escapes: for a page that has its
    /// own layout, like the web overview's proposal page.
    public func htmlBody(_ options: ExportOptions) -> String {
        htmlBody(ExportModel(self, options: options))
    }

    private func htmlBody(_ model: ExportModel) -> String {
        var out = "<h1>\(escape(model.title))</h1>\n"
        out += "<table class=\"facts\">\n"
        for fact in model.facts {
            out += "<tr><th>\(escape(fact.name))</th><td\(fact.isHash ? " class=\"hash\"" : "")>\(escape(fact.value))</td></tr>\n"
        }
        out += "</table>\n"
        for (heading, text) in model.sections {
            out += "<h2>\(escape(heading))</h2>\n"
            let body = text.trimmingWhitespace()
            out += body.isEmpty ? "<p>—</p>\n" : SectionMarkdown.html(body) + "\n"
        }
        for (heading, table) in model.tables {
            out += "<h2>\(escape(heading))</h2>\n"
            guard !table.rows.isEmpty || !table.footer.isEmpty else { out += "<p>—</p>\n"; continue }
            func row(_ cells: [String], tag: String) -> String {
                "<tr>" + cells.enumerated().map { index, value in
                    let style = table.numeric.contains(index) ? " class=\"n\"" : table.hashes.contains(index) ? " class=\"hash\"" : ""
                    return "<\(tag)\(style)>\(escape(value))</\(tag)>"
                }.joined() + "</tr>\n"
            }
            out += "<table>\n<thead>\n" + row(table.header, tag: "th") + "</thead>\n<tbody>\n"
            for cells in table.rows { out += row(cells, tag: "td") }
            out += "</tbody>\n"
            if !table.footer.isEmpty {
                out += "<tfoot>\n"
                for cells in table.footer { out += row(cells, tag: "td") }
                out += "</tfoot>\n"
            }
            out += "</table>\n"
        }
        if let heading = model.commentsHeading {
            out += "<h2>\(escape(heading))</h2>\n"
            if model.comments.isEmpty { out += "<p>—</p>\n" }
            for comment in model.comments {
                out += "<h3>\(escape(comment.heading))</h3>\n"
                out += "<blockquote>\(lines(comment.quote))</blockquote>\n"
                for paragraph in comment.paragraphs { out += "<p>\(lines(paragraph))</p>\n" }
            }
        }
        return out
    }
}

/// A Markdown table cell: pipes escaped, line breaks as spaces.
private func cell(_ text: String) -> String {
    var result = ""
    for character in text {
        switch character {
        case "|": result += "\\|"
        case "\n", "\r\n", "\r": result += " "
        default: result.append(character)
        }
    }
    return result
}

/// Text escaped for HTML element content and attribute values. Works on UTF-8 bytes
/// (the five special characters are ASCII, so no multi-byte sequence is touched):
/// O(n) without grapheme breaking.
func escape(_ text: String) -> String {
    let utf8 = text.utf8
    guard utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(utf8.count + 16)
    for byte in utf8 {
        switch byte {
        case 0x26: bytes.append(contentsOf: "&amp;".utf8)
        case 0x3C: bytes.append(contentsOf: "&lt;".utf8)
        case 0x3E: bytes.append(contentsOf: "&gt;".utf8)
        case 0x22: bytes.append(contentsOf: "&quot;".utf8)
        case 0x27: bytes.append(contentsOf: "&#39;".utf8)
        default: bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The lines of `text` (split at "\n", on UTF-8 bytes: no grapheme breaking).
private func splitLines(_ text: String) -> [Substring] {
    var result: [Substring] = []
    var start = text.utf8.startIndex
    var index = start
    let utf8 = text.utf8
    while index != utf8.endIndex {
        if utf8[index] == 0x0A {
            result.append(text[start..<index])
            start = utf8.index(after: index)
        }
        index = utf8.index(after: index)
    }
    result.append(text[start..<utf8.endIndex])
    return result
}

/// Escaped text with its line breaks kept.
private func lines(_ text: String) -> String {
    splitLines(text).map { escape(String($0)) }.joined(separator: "<br>\n")
}

/// `text` as a CSS string literal: quotes and backslashes escaped, line breaks as
/// `\A`, and `<` as `\3C` so that no text can end the `<style>` element.
func cssString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "<": out += "\\3C "
        case "\n", "\r": out += "\\A "
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F { continue }
            out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
