import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporProposal

/// `spor`, the offline editor for klimaudviklingsspor proposals.
@main
struct Spor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor",
        abstract: "Draft klimaudviklingsspor proposals together, offline, and sync later.",
        discussion: """
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
              LC_ALL, LC_MESSAGES, LANG
                         a Danish locale (da_DK.UTF-8) makes spor speak Danish, unless
                         `spor config language en` says otherwise
            """,
        version: "0.2.0",
        subcommands: [
            Setup.self, WhoAmI.self, New.self, List.self, Show.self, Edit.self, SetField.self,
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
                report(CommandFailure(message: "there is no command \(String(reflecting: "\(path) \(argument)".dropFirst(5)))",
                                      hint: "\(path == "spor" ? "Commands" : "`\(path)` commands"): \(names.joined(separator: ", ")). `spor help COMMAND` explains one.",
                                      name: "unknownCommand", exitCode: 2))
            }
            command = next
            path += " \(argument)"
        }
    }

    /// Prints `error` for people on stderr (and as JSON on stdout with --json) and exits
    /// with its documented code.
    static func report(_ error: any Error) -> Never {
        let failure = CommandFailure(error)
        let wantsJSON = CommandLine.arguments.contains("--json")
        if wantsJSON {
            Output.printJSON(["error": ["code": failure.name, "message": failure.message, "hint": failure.hint]])
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

    init(_ error: any Error) {
        switch error {
        case let error as CommandFailure:
            self = error
        case let error as WorkspaceError:
            let code: Int32 = switch error.code {
            case .unknownProposal, .ambiguousProposal: 2
            case .syncRunning: 3
            case .notSetUp, .damaged, .tooNew, .busy, .cannotWrite, .storage: 4
            }
            self.init(message: error.message, hint: error.hint, name: error.code.rawValue, exitCode: code)
        case let error as SyncError:
            self.init(message: error.message, hint: error.hint, name: error.code.rawValue, exitCode: 3)
        case let error as ProposalError:
            let refused: Set<ProposalError.Code> = [.validationFailed, .deadlinePassed, .stepNotAllowed, .notPermitted]
            var message = error.message
            if let field = error.field, !message.contains(field) { message = "\(field): \(message)" }
            for finding in error.findings where finding.severity == .error {
                message += "\n  ✗ [\(finding.field)] \(finding.english)"
            }
            self.init(message: message, name: error.code.rawValue, exitCode: refused.contains(error.code) ? 1 : 2)
        case let error as CRDTError:
            self.init(message: "\(error)", name: "document", exitCode: 2)
        default:
            let text = Spor.message(for: error)
            if text.contains("nexpected argument") || text.contains("nknown") || text.contains("Missing") || text.contains("Error:") {
                let usage = Spor.fullMessage(for: error)
                self.init(message: usage.hasPrefix("Error: ") ? String(usage.dropFirst(7)) : usage,
                          hint: "Commands: \(Spor.commandNames.joined(separator: ", ")). `spor help COMMAND` explains one.",
                          name: "usage", exitCode: 2)
            } else {
                self.init(message: text, name: "usage", exitCode: 2)
            }
        }
    }

    static func badInput(_ message: String, hint: String = "") -> CommandFailure {
        CommandFailure(message: message, hint: hint, name: "invalidArgument", exitCode: 2)
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(help: "Print JSON (for scripts) instead of text.")
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
            throw CommandFailure.badInput("SPOR_NOW=\(text) is not an ISO 8601 instant", hint: "For example SPOR_NOW=2024-03-01T12:00:00Z.")
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
