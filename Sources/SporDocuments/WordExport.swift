import Foundation
import SporProposal

extension ProposalContent {
    /// The proposal as a Word document (.docx): the title, the facts, every section
    /// under its Danish (or English) heading with its Markdown laid out as Word
    /// paragraphs, lists, emphasis and links, then the participants and the budget
    /// with totals, the timeline, the round's deadlines, the submissions with their
    /// SHA-256 and, if asked, the open comments — the same layout as ``html(_:)``.
    public func docx(_ options: ExportOptions) throws -> Data {
        let model = ExportModel(self, options: options)
        var body = WordBody()
        body.paragraph(model.title, style: "Title")
        body.factsTable(model.facts.map { ($0.name, $0.value, $0.isHash) })
        for (heading, text) in model.sections {
            body.paragraph(heading, style: "Heading1", keepWithNext: true)
            let trimmed = text.trimmingWhitespace()
            if trimmed.isEmpty { body.paragraph("—") } else { body.sectionText(SectionMarkdown.html(trimmed)) }
        }
        for (heading, table) in model.tables {
            body.paragraph(heading, style: "Heading1", keepWithNext: true)
            if table.rows.isEmpty && table.footer.isEmpty {
                body.paragraph("—")
            } else {
                body.table(header: table.header, rows: table.rows, footer: table.footer, numeric: table.numeric, hashes: table.hashes)
            }
        }
        if let heading = model.commentsHeading {
            body.paragraph(heading, style: "Heading1", keepWithNext: true)
            if model.comments.isEmpty { body.paragraph("—") }
            for comment in model.comments {
                body.paragraph(comment.heading, style: "Heading2", keepWithNext: true)
                body.paragraph(comment.quote, style: "Quote")
                for paragraph in comment.paragraphs { body.paragraph(paragraph) }
            }
        }
        return try WordPackage(title: model.title, language: model.language, body: body, created: options.now,
                               proposalID: options.proposalID,
                               version: version.heads.map(\.description).joined(separator: ",")).data()
    }
}
