import Ink

/// A section's text rendered from Markdown (headings, lists, bold, italic, links,
/// quotes, code, tables) to an HTML fragment that cannot carry anything a partner
/// did not write as text.
///
/// The text is written by every member of a proposal and read in the secretariat's
/// browser, so it is treated as hostile:
/// - raw HTML is never passed through: every `<` is taken out of the text before Ink
///   parses it and put back escaped, so no tag, comment or autolink of the writer's
///   survives (`<script>` reads as the text "<script>");
/// - a link keeps its target only for `http:`, `https:` and `mailto:`, escaped for
///   the attribute; any other scheme (`javascript:`, `data:`, …) leaves the link's text;
/// - images are shown as their description: an export loads nothing from elsewhere;
/// - headings inside a section sit below the section's own heading (h3–h6).
///
/// The fragment uses a closed set of elements (`p br strong em del code pre a ul ol
/// li blockquote hr table thead tbody tr th td h3–h6`), each closed, void ones
/// written `<br/>` and `<hr/>`: well-formed XML, which ``WordDocument`` reads to lay
/// out the same text in Word. O(n) in the text's length.
enum SectionMarkdown {
    /// Stand in for `<` and `&` while Ink parses: private-use characters, removed
    /// from the text first. So Ink sees no tag and no entity: what a partner typed
    /// ("&nbsp;" too) is shown as typed, and the fragment stays well-formed XML.
    private static let lessThan: Character = "\u{E000}"
    private static let ampersand: Character = "\u{E001}"

    static func html(_ text: String) -> String {
        var source = ""
        source.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars where scalar != "\u{E000}" && scalar != "\u{E001}" {
            switch scalar {
            case "<": source.unicodeScalars.append("\u{E000}")
            case "&": source.unicodeScalars.append("\u{E001}")
            default: source.unicodeScalars.append(scalar)
            }
        }
        var parser = MarkdownParser()
        parser.addModifier(Modifier(target: .links) { link in safeLink(html: link.html, markdown: link.markdown) })
        parser.addModifier(Modifier(target: .images) { image in imageDescription(markdown: image.markdown) })
        parser.addModifier(Modifier(target: .headings) { heading in lowered(heading: heading.html) })
        parser.addModifier(Modifier(target: .html) { fragment in escapeText(String(fragment.markdown)) })
        let rendered = parser.html(from: preparedForInk(source))
        var out = ""
        out.reserveCapacity(rendered.utf8.count + 16)
        var index = rendered.startIndex
        while index != rendered.endIndex {
            let character = rendered[index]
            if character == lessThan {
                out += "&lt;"
            } else if character == ampersand {
                out += "&amp;"
            } else if character == "<", rendered[index...].hasPrefix("<br>") {
                out += "<br/>"
                index = rendered.index(index, offsetBy: 3)
            } else if character == "<", rendered[index...].hasPrefix("<hr>") {
                out += "<hr/>"
                index = rendered.index(index, offsetBy: 3)
            } else {
                out.append(character)
            }
            index = rendered.index(after: index)
        }
        return out
    }

    /// Ink writes an inline link `[text](url)` as `<a href="url">text-html</a>` with
    /// the url copied as written; the text's HTML is cut out of it by that length.
    /// A reference link (`[text][name]`) keeps only its text.
    private static func safeLink(html: String, markdown: Substring) -> String {
        let prefix = "<a href=\""
        guard let close = markdown.range(of: "]("), markdown.hasSuffix(")"), html.hasPrefix(prefix), html.hasSuffix("</a>") else {
            return textOfReferenceLink(markdown)
        }
        let written = markdown[close.upperBound..<markdown.index(before: markdown.endIndex)]
        let start = html.index(html.startIndex, offsetBy: prefix.count + written.count + 2, limitedBy: html.endIndex)
        let end = html.index(html.endIndex, offsetBy: -4)
        guard let start, start <= end else { return textOfReferenceLink(markdown) }
        let textHTML = html[start..<end]
        // `(url "title")`: the title is dropped; the url is what precedes it.
        let url = written.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
        guard isAllowedTarget(url) else { return String(textHTML) }
        return "<a href=\"\(escape(url))\">\(textHTML)</a>"
    }

    private static func textOfReferenceLink(_ markdown: Substring) -> String {
        let text = markdown.dropFirst().prefix { $0 != "]" }
        return escapeText(String(text))
    }

    static func isAllowedTarget(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.hasPrefix("https://") || lowered.hasPrefix("http://") || lowered.hasPrefix("mailto:")
    }

    private static func imageDescription(markdown: Substring) -> String {
        let text = markdown.dropFirst(2).prefix { $0 != "]" }
        return text.isEmpty ? "" : "[" + escapeText(String(text)) + "]"
    }

    /// `<h1>…</h1>` → `<h3>…</h3>`: a section's own heading is an h2.
    private static func lowered(heading html: String) -> String {
        guard html.count >= 9, html.hasPrefix("<h"), let level = html.dropFirst(2).first?.wholeNumberValue else { return html }
        let shifted = min(level + 2, 6)
        let inner = html.dropFirst(4).dropLast(5)
        return "<h\(shifted)>\(inner)</h\(shifted)>"
    }

    /// The text as Ink should read it:
    /// - a line break inside a paragraph stays a line break, as in Word and in the
    ///   editor, rather than Markdown's space: such lines get Markdown's hard break
    ///   (two trailing spaces) — not in code blocks, tables, headings or lists, whose
    ///   lines mean something else;
    /// - a list item less indented than the item before it (back out of a nested
    ///   list) gets a blank line before it: Ink 0.6 would put it into the nested list.
    ///   It then starts a new list, numbered on from where it was (`<ol start>`).
    static func preparedForInk(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var out = ""
        out.reserveCapacity(text.utf8.count + lines.count * 2)
        var inFence = false
        var previousItemIndent: Int?
        for (index, line) in lines.enumerated() {
            if index > 0 { out += "\n" }
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let trimmed = line.dropFirst(indent)
            if trimmed.hasPrefix("```") { inFence.toggle() }
            let isItem = !inFence && isListItem(trimmed)
            if isItem, let previous = previousItemIndent, indent < previous { out += "\n" }
            previousItemIndent = isItem ? indent : (isBlank(line) || inFence ? nil : previousItemIndent)
            out += line
            guard !inFence, index + 1 < lines.count, !isBlank(line), !isItem else { continue }
            let next = lines[index + 1].drop { $0 == " " || $0 == "\t" }
            if !isBlank(next), !trimmed.hasPrefix("|"), !trimmed.hasPrefix("#"), !trimmed.hasPrefix("```"),
               !next.hasPrefix("```"), !next.hasPrefix("|"), !isListItem(next) {
                out += "  "
            }
        }
        return out
    }

    /// `- x`, `* x`, `+ x` or `12. x`.
    private static func isListItem(_ line: Substring) -> Bool {
        guard let first = line.first else { return false }
        if "-*+".contains(first) { return line.dropFirst().first == " " }
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9 else { return false }
        let rest = line.dropFirst(digits.count)
        return (rest.first == "." || rest.first == ")") && rest.dropFirst().first == " "
    }

    private static func isBlank(_ line: Substring) -> Bool {
        line.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" }
    }

    /// `&`, `<`, `>` as entities (element content: quotes stay). The stand-ins are
    /// left for ``html(_:)`` to write as `&lt;` and `&amp;`.
    static func escapeText(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }
}
