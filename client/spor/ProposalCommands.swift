import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporDocuments
import SporProposal

struct New: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "new", abstract: Help.text("Start et forslag; skriver dets id.", "Start a proposal; prints its id."))

    @Argument(help: ArgumentHelp(Help.text("Forslagets titel.", "The proposal's title."))) var title: String
    @Option(help: ArgumentHelp(Help.text("Den runde, forslaget er til (standard: den næste runde, der stadig er åben; ingen, hvis ingen er åben: sæt den før aflevering).", "The round it is for (default: the next round still open; none if no round is open: set it before submitting).")))
    var round: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let roundID = round ?? Self.nextOpenRound(context)
        let id = try context.workspace.createProposal(title: title, roundID: roundID, calendar: context.calendar, now: context.now)
        Output.emit(options, json: { NewProposalJSON(id: id, title: title, round: roundID) }, text: { id })
        if roundID == nil, !options.json {
            // On stderr: stdout is the id alone, for scripts.
            let note = context.language.text(
                "Ingen ansøgningsrunde er åben nu; vælg en, før forslaget indsendes: spor set \(id) round RUNDE (spor rounds).",
                "No round is open now; choose one before submitting: spor set \(id) round ROUND (spor rounds).")
            FileHandle.standardError.write(Data((note + "\n").utf8))
        }
    }

    /// The first round whose approval deadline is still ahead; nil if none is.
    static func nextOpenRound(_ context: Context) -> String? {
        context.calendar.rounds.first { round in
            (try? round.deadlineInstant(for: .approval)).map { $0 > context.now } ?? false
        }?.id
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: Help.text("Vis forslagene i arbejdsområdet.", "List the proposals in the workspace."))
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let proposals = try context.workspace.proposals()
        Output.emit(options, json: {
            proposals.map(ProposalListItemJSON.init)
        }, text: {
            let language = context.language
            guard !proposals.isEmpty else {
                return language.text("Ingen forslag endnu: `spor new \"Titel\"` starter et, `spor sync` henter din organisations.",
                                     "No proposals yet: `spor new \"Title\"` starts one, `spor sync` fetches your organisation's.")
            }
            return proposals.map { summary in
                let waiting = summary.unsyncedChanges
                let sync = waiting > 0 ? language.text("  (\(waiting) venter på synkronisering)", "  (\(waiting) waiting to sync)") : ""
                let ended = summary.accessEndedAt == nil ? ""
                    : language.text("  (ikke længere delt med dig: lokal kopi)", "  (no longer shared with you: local copy)")
                let title = summary.title.isEmpty ? language.text("(uden titel)", "(untitled)") : summary.title
                return "\(summary.id)  \(title)\(sync)\(ended)"
            }.joined(separator: "\n")
        })
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: Help.text("Vis hele forslaget: proces, deltagere, budget, milepæle og alle afsnit.", "Show the whole proposal: process, participants, budget, milestones and every section."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id (eller begyndelsen af det).", "The proposal's id (or the start of it)."))) var id: String
    @Option(help: ArgumentHelp(Help.text("Vis det, som det var i en version fra `spor log`, et navn fra `spor tag` eller »submitted« (seneste aflevering).", "Show it as it was at a version from `spor log`, a name from `spor tag`, or \"submitted\" (the latest submission)."))) var at: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let proposal = try context.workspace.proposal(id)
        var content = try proposal.content()
        if let at {
            let version = try VersionReference.resolve(at, proposal: proposal, content: content, id: id, language: context.language)
            do {
                content = try proposal.content(at: version)
            } catch {
                throw CommandFailure.badInput(Help.text("\(id) har ingen version \(at)", "\(id) has no version \(at)"), hint: Help.text("`spor log \(id)` viser versionerne.", "`spor log \(id)` lists versions."))
            }
        }
        let status = ProcessStatus(of: content, at: context.now, calendar: context.calendar)
        Output.emit(options, paged: true, json: { ProposalJSON(id: id, content: content, status: status) }, text: {
            ShowReport(id: id, content: content, status: status, calendar: context.calendar, language: context.language).text
        })
    }
}

struct SetField: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: Help.text("Sæt et felt: et afsnits tekst, amountRequested (ansøgt beløb) eller round (runde).", "Set a field: a section's text, amountRequested or round."),
        discussion: Help.text("Felter: \(Proposal.settableFields.joined(separator: ", ")).", "Fields: \(Proposal.settableFields.joined(separator: ", "))."))

    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Feltet.", "The field."))) var field: String
    /// Everything the parser does not recognise is the value, so that it may start with
    /// "-" (a Markdown list item "- første punkt"; "-5", which the amount parser
    /// refuses with its reason) and may be given as several words.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp(Help.text("Den nye værdi.", "The new value."))) var value: [String]
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let calendar = context.calendar
        guard !value.isEmpty else {
            throw CommandFailure.badInput(Help.text("mangler den nye værdi", "the new value is missing"),
                                          hint: Help.text("For eksempel: spor set \(id) \(field) \"Ny tekst\"", "For example: spor set \(id) \(field) \"New text\""))
        }
        let text = value.joined(separator: " ")
        try context.workspace.change(id, now: context.now) { proposal in
            try proposal.set(field, to: text, calendar: calendar)
        }
        Output.emit(options, json: { FieldSavedJSON(id: id, field: field, saved: true) }, text: {
            let name = Section.named(field).map { context.language.title(of: $0) }
                ?? (context.language == .danish ? CommandFailure.danishField(field) : field)
            return context.language.text("Gemt: \(name).", "Saved \(name).")
        })
    }
}

struct Edit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edit",
        abstract: Help.text("Redigér et afsnit i $EDITOR (eller fra en fil), flettet med partnernes ændringer.", "Edit a section in $EDITOR (or from a file), merged with partners' edits."),
        discussion: Help.text("""
            Den tekst, du gemmer, sammenlignes med den tekst, editoren startede med, og kun \
            forskellen gemmes, så partnernes ændringer i andre dele af afsnittet — også dem, der \
            blev synkroniseret, mens editoren var åben — bevares. Mislykkes gemningen, bevares din \
            tekst i en fil, hvis navn spor skriver.
            """, """
            The text you save is compared with the text the editor started from, and only the \
            difference is recorded, so partners' edits to other parts of the section — even ones \
            synced while the editor was open — are kept. If saving fails, your text is kept in a \
            file whose name spor prints.
            """))

    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Argument(help: ArgumentHelp(Help.text("Afsnittet (\(Section.allCases.map(\.danishKey).joined(separator: ", "))).",
                                           "The section (\(Section.allCases.map(\.key).joined(separator: ", "))).")))
    var section: String
    @Option(name: .customLong("from"), help: ArgumentHelp(Help.text("Læs den nye tekst fra FIL, eller - for standardinput, i stedet for at åbne en editor.", "Read the new text from FILE, or - for standard input, instead of opening an editor.")))
    var source: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let section = try context.section(section)
        let document = try context.workspace.document(id)
        let base = document.version
        let original = document.text(ProposalSchema.text(of: section))
        var keptFile: String?
        let edited: String
        if let source {
            edited = try Self.read(source)
        } else {
            let file = try EditorSession(section: section, proposal: id, text: original)
            edited = try file.run()
            keptFile = file.path
        }
        // Editors add a final newline the text did not have; keep the text's own ending.
        var text = edited
        if source == nil, !original.hasSuffix("\n"), text.hasSuffix("\n") { text.removeLast() }
        guard text != original else {
            if let keptFile { try? FileManager.default.removeItem(atPath: keptFile) }
            Output.emit(options, json: { SectionEditedJSON(id: id, section: section.key, changed: false) }, text: {
                context.language.text("Ingen ændringer i \(context.language.title(of: section)).", "No changes to \(context.language.title(of: section)).")
            })
            return
        }
        do {
            try context.workspace.change(id, now: context.now) { proposal in
                try proposal.setSection(section, to: text, editedFrom: base)
            }
        } catch {
            if let keptFile {
                FileHandle.standardError.write(Data("spor: your text was NOT saved in the workspace; it is kept in \(keptFile)\n".utf8))
            }
            throw error
        }
        if let keptFile { try? FileManager.default.removeItem(atPath: keptFile) }
        Output.emit(options, json: { SectionEditedJSON(id: id, section: section.key, changed: true) }, text: {
            context.language.text("Gemt: \(context.language.title(of: section)).", "Saved \(context.language.title(of: section)).")
        })
    }

    static func read(_ source: String) throws -> String {
        let data: Data
        if source == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: source) else {
                throw CommandFailure.badInput(Help.text("kan ikke læse \(source)", "cannot read \(source)"))
            }
            data = contents
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure.badInput(Help.text("\(source == "-" ? "standardinput" : source) er ikke UTF-8-tekst", "\(source == "-" ? "standard input" : source) is not UTF-8 text"))
        }
        return text
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check",
        abstract: Help.text("Tjek et forslag mod opslagets regler og frister.", "Check a proposal against the call's rules and deadlines."),
        discussion: Help.text("Afslutter med 1, når noget blokerer afleveringen.", "Exits with 1 when anything blocks submission."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("Tjek til dette trin: qualification eller approval (standard: det næste).", "Check for this step: qualification or approval (default: the next one)."))) var step: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let proposal = try context.workspace.proposal(id)
        let content = try proposal.content()
        let step = try step.map(parseStep) ?? nextStep(of: content)
        // The call's rules, and what `submit` would refuse besides: not the lead, a
        // closed proposal, steps out of order.
        let findings = ProposalRules.validate(content, at: context.now, attempting: step, calendar: context.calendar)
            + proposal.processFindings(for: step, at: context.now, calendar: context.calendar)
        let errors = findings.filter { $0.severity == .error }
        Output.emit(options, json: {
            CheckJSON(id: id, step: step.rawValue, ready: errors.isEmpty, findings: findings.map(FindingJSON.init))
        }, text: {
            CheckReport(id: id, step: step, findings: findings, language: context.language).text
        })
        if !errors.isEmpty { throw ExitCode(1) }
    }
}

/// The step a proposal goes to next: qualification, then approval.
func nextStep(of content: ProposalContent) -> Step {
    content.submissions.contains { $0.step == .qualification } ? .approval : .qualification
}

func parseStep(_ text: String) throws -> Step {
    guard let step = Step(rawValue: text) else {
        throw CommandFailure.badInput(Help.text("der er intet trin \(String(reflecting: text))", "there is no step \(String(reflecting: text))"), hint: Help.text("Trin: \(Step.allCases.map(\.rawValue).joined(separator: ", ")).", "Steps: \(Step.allCases.map(\.rawValue).joined(separator: ", "))."))
    }
    return step
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: Help.text("Hvor et forslag er i processen, dets frister, og hvad der venter på at blive synkroniseret.", "Where a proposal is in the process, its deadlines, and what waits to sync."))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let content = try context.workspace.proposal(id).content()
        let status = ProcessStatus(of: content, at: context.now, calendar: context.calendar)
        let round = content.roundID.flatMap { try? context.calendar.round(id: $0) }
        let outbox = try context.workspace.outbox().filter { $0.document == id }
        let deadlines: [(Step, Date?)] = Step.allCases.map { ($0, try? round?.deadlineInstant(for: $0)) }
        Output.emit(options, json: {
            StatusJSON(id: id, status: status.rawValue, round: content.roundID,
                       deadlines: Dictionary(uniqueKeysWithValues: deadlines.map { ($0.0.rawValue, SporJSON.iso($0.1)) }),
                       submissions: content.submissions.map(SubmissionJSON.init), amountRequested: content.amountRequested,
                       decisions: content.decisionHistory.map { StatusJSON.Decision(outcome: $0.outcome.rawValue, grantedAmount: $0.grantedAmount, at: SporJSON.iso($0.at)) },
                       outbox: outbox.map { StatusJSON.Waiting(id: $0.id, kind: Self.describe($0.kind), lastError: $0.lastError) })
        }, text: {
            let language = context.language
            var lines = ["\(content.title) [\(id)]: \(language.name(of: status))"]
            if let round { lines.append(language.text("Runde: \(round.danishName)", "Round: \(round.englishName)")) }
            for (step, deadline) in deadlines {
                let passed = deadline.map { $0 <= context.now } ?? false
                lines.append(language.text("  frist for \(step.danishName): \(Output.local(deadline))\(passed ? " (overskredet)" : "")",
                                           "  deadline for the \(step.englishName): \(Output.local(deadline))\(passed ? " (passed)" : "")"))
            }
            for submission in content.submissions {
                let by = displayName(submission.by), at = Output.local(submission.submittedAt)
                lines.append(language.text("  sket: \(submission.step.danishName) \(at) af \(by)",
                                           "  done: \(submission.step.englishName) at \(at) by \(by)"))
            }
            if let decision = content.decision {
                let granted = decision.grantedAmount.map {
                    language.text(", bevilget \(language.kroner($0)) af \(language.kroner(content.amountRequested)) ansøgt",
                                  ", granted \(language.kroner($0)) of \(language.kroner(content.amountRequested)) requested")
                } ?? ""
                let earlier = content.decisionHistory.count - 1
                lines.append(language.text("Afgørelse: \(decision.outcome.danishName)", "Decision: \(decision.outcome.englishName)") + granted
                             + (decision.at.map { " (\(Output.local($0)))" } ?? "")
                             + (earlier > 0 ? language.text("; den erstattede \(earlier) tidligere (`spor show`)",
                                                            "; it replaced \(earlier) earlier (`spor show`)") : ""))
            }
            if outbox.isEmpty {
                lines.append(language.text("Synkroniseret: intet venter i udbakken.", "Synced: nothing waits in the outbox."))
            } else {
                lines.append(outbox.count == 1
                    ? language.text("1 ændring venter på at blive synkroniseret:", "1 change waits to sync:")
                    : language.text("\(outbox.count) ændringer venter på at blive synkroniseret:", "\(outbox.count) changes wait to sync:"))
                // Why each waits: refused, behind a refused one, or for the next sync.
                var behindRefusal = false
                for entry in outbox {
                    let why: String
                    if let error = entry.lastError {
                        why = language.text("afvist af serveren: \(error)", "refused by the server: \(error)")
                        behindRefusal = true
                    } else if behindRefusal {
                        why = language.text("venter bag den afviste ændring ovenfor", "waits behind the refused change above")
                    } else {
                        why = language.text("venter på næste `spor sync`", "waits for the next `spor sync`")
                    }
                    lines.append("  \(Self.describe(entry.kind, language)), \(Output.local(entry.createdAt)): \(why)")
                }
                if behindRefusal {
                    lines.append(language.text(
                        "For at komme videre: ret det, serveren afviste (for eksempel din rolle), eller `spor discard \(id)` "
                            + "for at droppe disse ændringer, når du har gemt din version.",
                        "To go on: change what the server refused (for example your role), or `spor discard \(id)` "
                            + "to drop these changes after saving your version."))
                }
            }
            return lines.joined(separator: "\n")
        })
    }

    static func describe(_ kind: OutboxEntry.Kind, _ language: Language = .english) -> String {
        switch kind {
        case .create: language.text("opret", "create")
        case let .push(_, events): language.text("ændring (\(events) hændelser)", "change (\(events) events)")
        case let .member(request): MembershipChange.describe(request, in: language)
        case let .step(request): language.text("spørg serveren: \(request.kind.rawValue)", "ask the server: \(request.kind.rawValue)")
        }
    }
}

struct Rounds: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rounds", abstract: Help.text("Vis runderne og deres frister.", "List the rounds and their deadlines."), subcommands: [RoundsList.self, RoundsAdd.self],
                                                    defaultSubcommand: RoundsList.self)
}

struct RoundsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: Help.text("Vis runderne og deres frister.", "List the rounds and their deadlines."))
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let rounds = context.calendar.rounds
        Output.emit(options, json: {
            rounds.map(RoundJSON.init)
        }, text: {
            rounds.map { round in
                let qualification = try? round.deadlineInstant(for: .qualification)
                let approval = try? round.deadlineInstant(for: .approval)
                let closed = (approval ?? .distantPast) <= context.now
                return context.language.text(
                    "\(round.id)  \(round.danishName)\(closed ? " (lukket)" : "")\n  kvalificering \(Output.local(qualification)), "
                        + "godkendelse \(Output.local(approval)), forretningsudvalget \(Wording.danishShort(round.committeeMeeting))",
                    "\(round.id)  \(round.englishName)\(closed ? " (closed)" : "")\n  qualification \(Output.local(qualification)), "
                        + "approval \(Output.local(approval)), committee \(Wording.englishShort(round.committeeMeeting))")
            }.joined(separator: "\n")
        })
    }
}

struct RoundsAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: Help.text("Tilføj en runde, sekretariatet har offentliggjort (JSON, som til spor-server round add).", "Add a round the secretariat published (JSON, as for spor-server round add)."))
    @Option(name: .customLong("from"), help: ArgumentHelp(Help.text("Rundens JSON-fil, eller - for standardinput.", "The round's JSON file, or - for standard input."))) var source: String
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let round: Round
        do {
            round = try JSONDecoder().decode(Round.self, from: Data(try Edit.read(source).utf8))
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure.badInput(Help.text("runden er ikke gyldig JSON: \(error)", "the round is not valid JSON: \(error)"))
        }
        try context.workspace.addRound(round)
        Output.emit(options, json: { RoundAddedJSON(id: round.id, added: true) }, text: { context.language.text("Tilføjede runden \(round.id).", "Added round \(round.id).") })
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: Help.text("Eksportér et forslag som Word (.docx), printklar HTML eller Markdown.", "Export a proposal as Word (.docx), print-ready HTML or Markdown."),
        discussion: Help.text("""
            docx og html sætter forslaget op til A4 med sidetal: alle afsnit (deres Markdown som \
            overskrifter, lister, fed og links), deltagere og budget med totaler, tidsplanen, \
            rundens frister og afleveringerne. En .docx redigeret i Word kan læses tilbage med \
            `spor import`, flettet med det, partnerne har ændret imens.
            """, """
            docx and html lay the proposal out for A4 with page numbers: every section (its \
            Markdown as headings, lists, bold and links), participants and budget with totals, \
            the timeline, the round's deadlines and the submissions. A .docx edited in Word can \
            be brought back with `spor import`, merged with what partners changed meanwhile.
            """))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Option(help: ArgumentHelp(Help.text("docx, html eller md.", "docx, html or md."))) var format: String
    @Option(help: ArgumentHelp(Help.text("Skriv til FIL i stedet for standardoutput (nødvendigt for docx i en terminal).", "Write to FILE instead of standard output (needed for docx on a terminal)."))) var out: String?
    @Option(help: ArgumentHelp(Help.text("Dokumentets sprog: da (opslagets eget, standard) eller en.", "The document's language: da (the call's own, the default) or en."))) var language = "da"
    @Flag(help: ArgumentHelp(Help.text("Medtag åbne kommentarer.", "Include open comments."))) var comments = false
    @OptionGroup var options: GlobalOptions

    static let formats = ["docx", "html", "md"]

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let say = context.language.text
        guard Self.formats.contains(format) else {
            throw CommandFailure.badInput(say("ukendt format \(String(reflecting: format))", "unknown format \(String(reflecting: format))"),
                                          hint: say("Formater: ", "Formats: ") + Self.formats.joined(separator: ", ") + ".")
        }
        // The document's language is the call's (Danish) unless asked: not the language spor speaks to the user.
        guard let exportLanguage = ExportOptions.Language(rawValue: language) else {
            throw CommandFailure.badInput(say("ukendt sprog \(String(reflecting: language))", "unknown language \(String(reflecting: language))"),
                                          hint: say("Sprog: ", "Languages: ") + ExportOptions.Language.allCases.map(\.rawValue).joined(separator: ", ") + ".")
        }
        if format == "docx", out == nil, isatty(STDOUT_FILENO) == 1 {
            throw CommandFailure.badInput(say("en .docx-fil kan ikke vises i terminalen", "a .docx file cannot be shown on the terminal"),
                                          hint: say("Skriv den til en fil: spor export \(id) --format docx --out \(id).docx",
                                                    "Write it to a file: spor export \(id) --format docx --out \(id).docx"))
        }
        let content = try context.workspace.proposal(id).content()
        let exportOptions = ExportOptions(language: exportLanguage, includeOpenComments: comments, now: context.now,
                                          calendar: context.calendar, proposalID: id)
        let bytes: Data
        switch format {
        case "docx":
            do {
                bytes = try content.docx(exportOptions)
            } catch {
                throw CommandFailure(message: say("kunne ikke lave .docx-filen: \(error)", "cannot make the .docx file: \(error)"),
                                     name: "cannotWrite", exitCode: 4)
            }
        case "html": bytes = Data(content.html(exportOptions).utf8)
        default: bytes = Data(content.markdown(exportOptions).utf8)
        }
        if let out {
            do {
                try bytes.write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw CommandFailure(message: say("kan ikke skrive \(out): \(error.localizedDescription)", "cannot write \(out): \(error.localizedDescription)"),
                                     name: "cannotWrite", exitCode: 4)
            }
            Output.emit(options, json: { ExportedFileJSON(id: id, format: format, file: out, bytes: bytes.count) },
                        text: { say("Skrev \(out).", "Wrote \(out).") })
        } else if options.json {
            Output.printJSON(ExportedTextJSON(id: id, format: format, contentKey: format == "docx" ? "base64" : "text",
                                              content: format == "docx" ? bytes.base64EncodedString() : String(decoding: bytes, as: UTF8.self)))
        } else {
            FileHandle.standardOutput.write(bytes)
        }
    }
}
