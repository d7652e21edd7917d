import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporProposal
import SporWire

/// `spor`, the offline editor for klimaudviklingsspor proposals.
@main
struct Spor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor",
        abstract: Help.text("Skriv klimaudviklingsspor-forslag sammen, offline, og synkronisér senere.", "Draft klimaudviklingsspor proposals together, offline, and sync later."),
        discussion: Help.text("""
            Arbejdsområdet er $SPOR_HOME, ellers $XDG_DATA_HOME/spor, ellers ~/.local/share/spor.
            Hver ændring gemmes på disken, før spor melder den; `spor sync` udveksler
            ændringer med serveren (kør den, når du er online, eller lad
            `spor sync --watch` køre). Alle kommandoer tager --json til scripts.

            AFSLUTNINGSKODER
              0  lykkedes
              1  forslaget er ikke klar: `check` fandt problemer, der blokerer afleveringen,
                 eller `submit` blev afvist (regler, frist, trinenes rækkefølge, rolle)
              2  forkert input: ukendt kommando, forslag, afsnit, felt eller punkt; ugyldig værdi
              3  serveren: kan ikke nås, nøglen afvist, inkompatibel, eller den afviste en
                 ændring (lokalt arbejde venter i udbakken); eller en anden `spor sync` kører
              4  arbejdsområdet: ikke sat op, beskadiget, optaget eller kan ikke skrives (fuld disk)

            MILJØ
              SPOR_HOME  arbejdsområdets mappe
              EDITOR     den editor, `spor edit` åbner (standard: vi)
              SPOR_NOW   et ISO 8601-tidspunkt at bruge som »nu« (øvelse af frister)
              PAGER      viser `show` og `log` side for side i en terminal (standard: less -FRX)
              LC_ALL, LC_MESSAGES, LANG
                         et dansk sprogvalg (da_DK.UTF-8) får spor til at tale dansk, medmindre
                         `spor config language en` siger andet
            """, """
            The workspace is $SPOR_HOME, else $XDG_DATA_HOME/spor, else ~/.local/share/spor.
            Every change is saved on disk before spor reports it; `spor sync` exchanges
            changes with the server (run it whenever you are online, or keep
            `spor sync --watch` running). Every command takes --json for scripts.

            EXIT CODES
              0  success
              1  the proposal is not ready: `check` found problems that block submission,
                 or `submit` was refused (rules, deadline, order of steps, role)
              2  bad input: unknown command, proposal, section, field or item; invalid value
              3  the server: unreachable, token refused, incompatible, or it refused a change
                 (local work stays in the outbox); or another `spor sync` is running
              4  the workspace: not set up, damaged, busy, or cannot be written (disk full)

            ENVIRONMENT
              SPOR_HOME  the workspace directory
              EDITOR     the editor `spor edit` opens (default: vi)
              SPOR_NOW   an ISO 8601 instant to use as "now" (rehearsing deadlines)
              PAGER      pages `show` and `log` on a terminal (default: less -FRX)
              LC_ALL, LC_MESSAGES, LANG
                         a Danish locale (da_DK.UTF-8) makes spor speak Danish, unless
                         `spor config language en` says otherwise
            """),
        version: SporRelease.version,
        subcommands: [
            Setup.self, WhoAmI.self, New.self, List.self, Overview.self, Show.self, Edit.self, SetField.self,
            Budget.self, Participants.self, Members.self, Milestones.self, Comments.self, Check.self, Submit.self,
            Withdraw.self, Status.self, Rounds.self, Log.self, Diff.self, Tag.self, Blame.self, Export.self, Import.self, SyncCommand.self,
            Conflicts.self, Decide.self, Discard.self, ConfigCommand.self,
        ]
    )

    static let commandNames = configuration.subcommands.map { $0.configuration.commandName ?? "" }

    static func main() async {
        // The workspace, its WAL and anything saved beside it hold the organisation's
        // token or its unsent drafts: created readable by this user only.
        umask(0o077)
        checkCommandNames(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit {
                // Help and --version: the argument parser's own words in Danish for a Danish user.
                let text = fullMessage(for: error)
                // Help pages only: completion scripts and the version pass through untouched.
                if Help.language == .danish, text.hasPrefix("OVERVIEW:") || text.hasPrefix("USAGE:") {
                    FileHandle.standardOutput.write(Data((Help.danishLayout(text) + (text.hasSuffix("\n") ? "" : "\n")).utf8))
                    Foundation.exit(code.rawValue)
                }
                exit(withError: error)
            }
            report(error)
        }
    }

    /// Refuses an unknown command or subcommand with the valid ones listed (the
    /// argument parser would only say "unexpected argument").
    static func checkCommandNames(_ arguments: [String]) {
        var command: ParsableCommand.Type = Spor.self
        var path = "spor"
        for argument in arguments {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty, !argument.hasPrefix("-"), argument != "help" else { return }
            guard let next = subcommands.first(where: { $0.configuration.commandName == argument }) else {
                if command.configuration.defaultSubcommand != nil { return }
                let names = subcommands.compactMap { $0.configuration.commandName }
                let command = String(reflecting: "\(path) \(argument)".dropFirst(5))
                let danish = Language.forMessages() == .danish
                report(CommandFailure(message: danish ? "der er ingen kommando \(command)" : "there is no command \(command)",
                                      hint: danish
                                          ? "\(path == "spor" ? "Kommandoer" : "`\(path)`-kommandoer"): \(names.joined(separator: ", ")). `spor help KOMMANDO` forklarer én."
                                          : "\(path == "spor" ? "Commands" : "`\(path)` commands"): \(names.joined(separator: ", ")). `spor help COMMAND` explains one.",
                                      name: "unknownCommand", exitCode: 2))
            }
            command = next
            path += " \(argument)"
        }
    }

    /// Prints `error` for people on stderr (and as JSON on stdout with --json) and exits
    /// with its documented code.
    static func report(_ error: any Error) -> Never {
        let failure = CommandFailure(error, language: Language.forMessages())
        let wantsJSON = CommandLine.arguments.contains("--json")
        if wantsJSON {
            Output.printJSON(ErrorJSON(error: .init(code: failure.name, message: failure.message, hint: failure.hint)))
        }
        var text = "spor: \(failure.message)\n"
        if !failure.hint.isEmpty { text += "\(failure.hint)\n" }
        FileHandle.standardError.write(Data(text.utf8))
        Foundation.exit(failure.exitCode)
    }
}

/// An error as `spor` reports it: a message, a hint, a name for scripts and the exit
/// code of `spor help`'s table.
struct CommandFailure: Error {
    let message: String
    let hint: String
    let name: String
    let exitCode: Int32

    init(message: String, hint: String = "", name: String, exitCode: Int32) {
        self.message = message
        self.hint = hint
        self.name = name
        self.exitCode = exitCode
    }

    init(_ error: any Error, language: Language = .english) {
        let danish = language == .danish
        switch error {
        case let error as CommandFailure:
            self = error
        case let error as WorkspaceError:
            let code: Int32 = switch error.code {
            case .unknownProposal, .ambiguousProposal: 2
            case .syncRunning: 3
            case .notSetUp, .damaged, .tooNew, .busy, .cannotWrite, .storage: 4
            }
            self.init(message: danish ? error.danishMessage ?? error.message : error.message,
                      hint: danish ? error.danishHint ?? error.hint : error.hint, name: error.code.rawValue, exitCode: code)
        case let error as SyncError:
            self.init(message: danish ? error.danishMessage ?? error.message : error.message,
                      hint: danish ? error.danishHint ?? error.hint : error.hint, name: error.code.rawValue, exitCode: 3)
        case let error as ProposalError:
            let refused: Set<ProposalError.Code> = [.validationFailed, .deadlinePassed, .stepNotAllowed, .notPermitted]
            var message = danish ? error.danishMessage ?? error.message : error.message
            // The field as a path a person can read: item ids ("[0751/ab3k@12]") left out.
            if let field = error.field.map(Self.withoutItemIDs).map({ danish ? Self.danishField($0) : $0 }), !message.contains(field) {
                message = "\(field): \(message)"
            }
            for finding in error.findings where finding.severity == .error {
                message += "\n  ✗ [\(finding.field)] \(danish ? finding.danish : finding.english)"
            }
            self.init(message: message, name: error.code.rawValue, exitCode: refused.contains(error.code) ? 1 : 2)
        case let error as CRDTError:
            self.init(message: "\(error)", name: "document", exitCode: 2)
        default:
            let text = Spor.message(for: error)
            if text.contains("nexpected argument") || text.contains("nknown") || text.contains("Missing") || text.contains("Error:") {
                var usage = Spor.fullMessage(for: error)
                if usage.hasPrefix("Error: ") { usage.removeFirst(7) }
                // The command the arguments were for, if one was named: its help is the hint.
                let command = CommandLine.arguments.dropFirst().first { Spor.commandNames.contains($0) }
                let hint = command.map { danish ? "`spor help \($0)` forklarer kommandoen." : "`spor help \($0)` explains the command." }
                    ?? (danish ? "Kommandoer: \(Spor.commandNames.joined(separator: ", ")). `spor help KOMMANDO` forklarer én."
                               : "Commands: \(Spor.commandNames.joined(separator: ", ")). `spor help COMMAND` explains one.")
                self.init(message: danish ? Self.danishUsage(usage) : usage, hint: hint, name: "usage", exitCode: 2)
            } else {
                self.init(message: danish ? Self.danishUsage(text) : text, name: "usage", exitCode: 2)
            }
        }
    }

    /// The argument parser's messages in Danish (its first line; the usage lines
    /// that follow are the commands' own syntax and stay as they are).
    static func danishUsage(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard var first = lines.first else { return text }
        let patterns: [(String, String)] = [
            ("Missing expected argument ", "mangler argumentet "),
            ("Unexpected argument ", "uventet argument "),
            ("Unexpected arguments ", "uventede argumenter "),
            ("Unknown option ", "ukendt tilvalg "),
            ("Missing value for ", "mangler en værdi til "),
            ("The value ", "værdien "),
            (" is invalid for ", " er ugyldig for "),
            ("Error: ", ""),
        ]
        for (english, danish) in patterns { first = first.replacingOccurrences(of: english, with: danish) }
        lines[0] = first
        lines = lines.map { $0.hasPrefix("Help:  ") ? "Hjælp:  " + $0.dropFirst(7) : $0 }
        return lines.map { $0.hasPrefix("Usage: ") ? "Brug: " + $0.dropFirst(7) : $0 }
            .map { $0.hasPrefix("  See '") ? "  Se '" + $0.dropFirst(7).replacingOccurrences(of: "' for more information.", with: "' for mere.") : $0 }
            .joined(separator: "\n")
    }

    /// A field path in Danish, part by part ("budget.amount" → "budget.beløb",
    /// "challenge" → "udfordring"); parts without a Danish name stay.
    static func danishField(_ path: String) -> String {
        let names: [String: String] = [
            "amountRequested": "ansøgt beløb", "round": "runde", "participants": "deltagere", "milestones": "milepæle",
            "comments": "kommentarer", "extraSections": "ekstra afsnit", "versionName": "versionsnavn", "amount": "beløb",
            "role": "rolle", "source": "kilde", "year": "år", "title": "titel", "heading": "overskrift", "contactEmail": "e-mail",
            "contactName": "kontakt", "item": "post", "text": "tekst", "date": "dato", "range": "tekststykke",
            "grantedAmount": "bevilget beløb", "secretariat": "sekretariatet", "cofinancingCash": "medfinansiering",
            "cofinancingHours": "timer", "kind": "type",
        ]
        // Only a path's first part can be a section ("organisation" in "participants.organisation" is not).
        return path.split(separator: ".").enumerated().map { index, part in
            let key = String(part)
            return names[key] ?? (index == 0 ? Section.named(key)?.danishKey : nil) ?? key
        }.joined(separator: ".")
    }

    /// "participants[0751/ab3k@12].role" → "participants.role".
    static func withoutItemIDs(_ field: String) -> String {
        var out = ""
        var depth = 0
        for character in field {
            if character == "[" { depth += 1 } else if character == "]" { depth = max(0, depth - 1) } else if depth == 0 { out.append(character) }
        }
        return out
    }

    static func badInput(_ message: String, hint: String = "") -> CommandFailure {
        CommandFailure(message: message, hint: hint, name: "invalidArgument", exitCode: 2)
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(Help.text("Skriv JSON (til scripts) i stedet for tekst.", "Print JSON (for scripts) instead of text.")))
    var json = false
}

/// The workspace and clock a command works with.
struct Context {
    let workspace: Workspace
    let now: Date
    let calendar: RoundCalendar
    /// What text output is written in (`Language`).
    let language: Language

    static func open() throws -> Context {
        let workspace = try Workspace(directory: Workspace.defaultDirectory())
        let language = Language.resolve(preference: try workspace.languagePreference(), environment: ProcessInfo.processInfo.environment)
        return Context(workspace: workspace, now: try currentTime(), calendar: try workspace.roundCalendar(), language: language)
    }

    static func currentTime() throws -> Date {
        guard let text = ProcessInfo.processInfo.environment["SPOR_NOW"], !text.isEmpty else { return Date() }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw CommandFailure.badInput(Help.text("SPOR_NOW=\(text) er ikke et ISO 8601-tidspunkt", "SPOR_NOW=\(text) is not an ISO 8601 instant"), hint: Help.text("For eksempel SPOR_NOW=2024-03-01T12:00:00Z.", "For example SPOR_NOW=2024-03-01T12:00:00Z."))
        }
        return date
    }

    func proposalID(_ text: String) throws -> String { try workspace.resolveProposalID(text) }

    /// The section `text` names, in Danish or English (``Section/named(_:)``).
    func section(_ text: String) throws -> Section {
        if let section = Section.named(text) { return section }
        throw CommandFailure(message: language.text("der er intet afsnit \(String(reflecting: text))",
                                                    "there is no section \(String(reflecting: text))"),
                             hint: language.text("Afsnit: ", "Sections: ")
                                 + Section.allCases.map { language.key(of: $0) }.joined(separator: ", ") + ".",
                             name: "unknownSection", exitCode: 2)
    }
}
