import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporDocuments
import SporProposal

/// `spor import ID FILE.docx`: a proposal edited in Word, brought back into its sections.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import",
        abstract: Help.text("Læs et Word-dokument (.docx) tilbage ind i et forslags afsnit.", "Bring a Word document (.docx) back into a proposal's sections."),
        discussion: Help.text("""
            Hver overskrift navngiver et afsnit ved dets titel (»Udfordringen«, »Risici«) eller \
            korte navn (udfordring, klimaplan, …); teksten under den erstatter afsnittets, og kun \
            forskellen gemmes. Andre overskrifter bliver ekstra afsnit. Tabeller med deltagere, \
            budget og tidsplan læses ikke: brug `spor participant`, `spor budget` og \
            `spor milestone`. En fil lavet med `spor export --format docx` husker den version, den \
            blev lavet fra, så det, partnerne har ændret siden, bevares. Med --dry-run gemmes intet.
            """, """
            Each heading names a section by its title ("Udfordringen", "Risici") or its short \
            name (udfordring, klimaplan, …); the text under it replaces the section's, recorded \
            as the difference only. Other headings become extra sections. Tables of \
            participants, budget and timeline are not read: use `spor participant`, `spor budget` \
            and `spor milestone`. A file exported by `spor export --format docx` remembers the \
            version it was made from, so what partners changed since is kept. Nothing is saved \
            with --dry-run.
            """))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text(".docx-filen.", "The .docx file."))) var file: String
    @Flag(help: ArgumentHelp(Help.text("Vis, hvad der ville blive ændret, uden at gemme.", "Show what would change without saving."))) var dryRun = false
    @Flag(help: ArgumentHelp(Help.text("Importér en fil, der er eksporteret fra et andet forslag.", "Import a file exported from another proposal."))) var force = false
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let say = context.language.text
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure.badInput(say("kan ikke læse \(file)", "cannot read \(file)"))
        }
        let imported: WordImport
        do {
            imported = try WordImport.read(data)
        } catch {
            throw CommandFailure(message: say("\(file) kan ikke importeres: \(error.danishMessage)", "\(file) cannot be imported: \(error.message)"),
                                 hint: say("Gem filen i Word som Word-dokument (.docx), og prøv igen.",
                                           "Save the file in Word as a Word document (.docx) and try again."),
                                 name: error.code.rawValue, exitCode: 2)
        }
        if let exported = imported.exportedProposal, exported != id, !force {
            throw CommandFailure.badInput(say("\(file) er eksporteret fra forslaget \(exported), ikke \(id)",
                                              "\(file) was exported from proposal \(exported), not \(id)"),
                                          hint: say("Importér den i \(exported), eller brug --force.", "Import it into \(exported), or use --force."))
        }
        let proposal = try context.workspace.proposal(id)
        let content = try proposal.content()
        // The version the export was made from, if this replica has it (after a sync it does).
        let base = imported.exportedProposal == id
            ? imported.exportedVersion.flatMap { version in
                version.heads.allSatisfy { proposal.document.versionVector.includes($0) } ? try? proposal.content(at: version) : nil
            }
            : nil
        let plan = WordImportPlan(imported, into: content, base: base)
        if !dryRun, plan.changesSomething {
            try context.workspace.change(id, now: context.now) { proposal in try plan.apply(to: &proposal) }
        }
        Output.emit(options, json: {
            ImportJSON(id: id, file: file, saved: !dryRun && plan.changesSomething, mergedFromExport: plan.base != nil,
                       title: plan.newTitle, entries: plan.entries.map(ImportJSON.Entry.init), notInFile: plan.notInFile.map(\.key))
        }, text: { Self.report(plan, file: file, id: id, dryRun: dryRun, language: context.language) })
    }

    static func report(_ plan: WordImportPlan, file: String, id: String, dryRun: Bool, language: Language) -> String {
        let say = language.text
        var lines: [String] = []
        if !plan.changesSomething {
            lines.append(say("Intet at importere: \(file) siger det samme som \(id).", "Nothing to import: \(file) says what \(id) says."))
        } else {
            lines.append(dryRun ? say("Import fra \(file) ville ændre:", "Importing \(file) would change:")
                                : say("Importeret fra \(file):", "Imported from \(file):"))
        }
        if let title = plan.newTitle { lines.append("  " + say("Titel", "Title") + ": \(title)") }
        for entry in plan.entries where entry.newText != nil {
            switch entry.target {
            case let .section(section): lines.append("  " + language.title(of: section))
            case .extraSection(existing: nil): lines.append("  " + say("Nyt ekstra afsnit: ", "New extra section: ") + entry.heading)
            case .extraSection: lines.append("  " + say("Ekstra afsnit: ", "Extra section: ") + entry.heading)
            case .skipped: break
            }
        }
        let skipped = plan.entries.filter { $0.target == .skipped }.map(\.heading)
        if !skipped.isEmpty {
            lines.append(say("Ikke læst (tabeller ændres med spor participant, spor budget og spor milestone): ",
                             "Not read (tables are edited with spor participant, spor budget and spor milestone): ")
                         + skipped.joined(separator: ", "))
        }
        if !plan.notInFile.isEmpty {
            lines.append(say("Ikke i filen, beholdt som de er: ", "Not in the file, kept as they are: ")
                         + plan.notInFile.map { language.title(of: $0) }.joined(separator: ", "))
        }
        if plan.hasTextBeforeFirstHeading {
            lines.append(say("Tekst før første overskrift er ikke importeret.", "Text before the first heading was not imported."))
        }
        if plan.changesSomething {
            lines.append(plan.base != nil
                ? say("Flettet med partnernes ændringer siden eksporten.", "Merged with partners' changes since the export.")
                : say("Filen er ikke eksporteret fra denne version af forslaget: afsnittene er sat til filens tekst.",
                      "The file was not exported from a version of this proposal: sections were set to the file's text."))
        }
        if dryRun, plan.changesSomething { lines.append(say("Intet gemt (--dry-run).", "Nothing saved (--dry-run).")) }
        return lines.joined(separator: "\n")
    }
}
