import Foundation
import SporCRDT
import SporProposal

/// What importing a Word document into a proposal changes, decided before anything
/// is written, so it can be shown (`spor import --dry-run`) and then applied as one
/// save.
///
/// Headings map to sections by their Danish or English title ("Udfordringen",
/// "Risks"), then by the names `spor` accepts (`udfordring`, `klimaplan`, …); the
/// headings an export writes over its tables (participants, budget, timeline,
/// deadlines, submissions, open comments) are skipped — those are edited with their
/// own commands; any other heading is an extra section, matched to an existing one
/// by heading. A section that is not in the file is kept as it is.
///
/// When the file was exported by Spor from a version this replica has, each
/// section is merged from that version, like an `$EDITOR` save: what partners
/// changed since the export is kept, not undone. A section the user did not touch
/// (it reads back exactly as the export wrote it) is left alone.
public struct WordImportPlan: Sendable {
    public enum Target: Equatable, Sendable {
        case section(Section)
        /// An extra section: `existing` is the one with that heading, if any.
        case extraSection(existing: ListItemID?)
        /// A heading over generated tables: not imported.
        case skipped
    }

    public struct Entry: Equatable, Sendable {
        public var heading: String
        public var target: Target
        /// The text to set; nil if it is what the proposal already has (or skipped).
        public var newText: String?
    }

    public var entries: [Entry]
    /// The new title, if the file's Title differs from the proposal's.
    public var newTitle: String?
    /// Sections that have text in the proposal but no heading in the file: kept.
    public var notInFile: [Section]
    /// The version the export was made from, when this replica has it: sections are
    /// merged from it.
    public var base: Version?
    public var hasTextBeforeFirstHeading: Bool

    /// Whether anything would change.
    public var changesSomething: Bool { newTitle != nil || entries.contains { $0.newText != nil } }

    /// - Parameters:
    ///   - content: the proposal now.
    ///   - base: the proposal at the version the file was exported from, if the file
    ///     names one this replica has.
    public init(_ file: WordImport, into content: ProposalContent, base: ProposalContent?) {
        self.base = base?.version
        hasTextBeforeFirstHeading = file.hasTextBeforeFirstHeading
        // What the file showed when it was exported: a section that still reads so was not touched.
        let exported = base ?? content
        entries = []
        notInFile = []
        var seenSections: Set<Section> = []
        var seenExtras: [String: Int] = [:]
        for part in file.parts {
            let heading = part.heading.trimmingWhitespace()
            let text = Self.placeholderless(part.markdown)
            if let section = Section.titled(heading) ?? (ExportModel.isGeneratedHeading(heading) ? nil : Section.named(heading)),
               section != .title {
                if seenSections.contains(section), let index = entries.firstIndex(where: { $0.target == .section(section) }) {
                    // The same section twice: its texts one after the other.
                    entries[index].newText = (entries[index].newText ?? content.text(section).trimmingWhitespace()) + "\n\n" + text
                    continue
                }
                seenSections.insert(section)
                entries.append(Entry(heading: heading, target: .section(section),
                                     newText: Self.sameText(exported.text(section), text) ? nil : text))
            } else if ExportModel.isGeneratedHeading(heading) {
                entries.append(Entry(heading: heading, target: .skipped, newText: nil))
            } else {
                let key = heading.lowercased()
                if let index = seenExtras[key] {
                    entries[index].newText = (entries[index].newText ?? "") + "\n\n" + text
                    continue
                }
                let existing = content.extraSections.first { $0.heading.trimmingWhitespace().lowercased() == key }
                let exportedBody = exported.extraSections.first { $0.id == existing?.id }?.body
                seenExtras[key] = entries.count
                entries.append(Entry(heading: heading, target: .extraSection(existing: existing?.id),
                                     newText: exportedBody.map { Self.sameText($0, text) } == true ? nil : text))
            }
        }
        if let title = file.title?.trimmingWhitespace(), !title.isEmpty, !ExportModel.untitled.contains(title),
           title != exported.title.trimmingWhitespace(), title != content.title.trimmingWhitespace() {
            newTitle = title
        }
        notInFile = Section.allCases.filter { $0 != .title && !seenSections.contains($0) && !content.text($0).trimmingWhitespace().isEmpty }
    }

    /// Writes the plan into `proposal`. Sections are merged from ``base`` when there
    /// is one; a section whose text reads back from the export unchanged is skipped by
    /// the plan already.
    public func apply(to proposal: inout Proposal) throws(ProposalError) {
        if let newTitle { try proposal.setSection(.title, to: newTitle) }
        for entry in entries {
            guard let text = entry.newText else { continue }
            switch entry.target {
            case let .section(section):
                let current = try proposal.content().text(section)
                let ending = current.hasSuffix("\n") && !text.hasSuffix("\n") ? "\n" : ""
                if let base {
                    try proposal.setSection(section, to: text + ending, editedFrom: base)
                } else {
                    try proposal.setSection(section, to: text + ending)
                }
            case let .extraSection(existing?):
                try proposal.setExtraSectionBody(existing, to: text)
            case .extraSection(existing: nil):
                _ = try proposal.addExtraSection(heading: entry.heading, body: text)
            case .skipped:
                continue
            }
        }
    }

    /// An export writes "—" under an empty section.
    private static func placeholderless(_ text: String) -> String {
        let trimmed = text.trimmingWhitespace()
        return trimmed == "—" || trimmed == "-" ? "" : trimmed
    }

    /// The same text, or the same once read back from Word (the file was exported
    /// from it and not touched there): Markdown Word cannot keep apart (`_x_` and
    /// `*x*`, list markers, trailing spaces) is not a change. An empty section reads
    /// back as "—".
    static func sameText(_ current: String, _ imported: String) -> Bool {
        let current = current.trimmingWhitespace()
        if current == imported || (current.isEmpty && imported.isEmpty) { return true }
        return WordImport.readBack(current) == imported
    }
}
