import Foundation
import SporClient
import SporProposal

/// The language `spor` speaks to a person: Danish for Danish users, English otherwise.
///
/// Chosen, first match wins: the workspace's `spor config language da|en`; the locale
/// (`LC_ALL`, then `LC_MESSAGES`, then `LANG`, as POSIX orders them): Danish when it
/// names Danish (`da`, `da_DK.UTF-8`); English for anything else, `C` included.
/// `--json` output does not depend on it (keys and codes are for scripts).
enum Language: String, CaseIterable, Sendable {
    case danish = "da"
    case english = "en"

    static func resolve(preference: String?, environment: [String: String]) -> Language {
        if let preference, let chosen = Language(rawValue: preference) { return chosen }
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            guard let value = environment[name], !value.isEmpty else { continue }
            return value.lowercased().hasPrefix("da") ? .danish : .english
        }
        return .english
    }

    /// The language for a message when a command failed, maybe before it opened
    /// the workspace: the workspace's setting if there is a workspace, else the
    /// locale's. Never creates a workspace.
    static func forMessages(environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
        let directory = Workspace.defaultDirectory(environment: environment)
        var preference: String?
        if FileManager.default.fileExists(atPath: directory + "/" + Workspace.fileName) {
            preference = (try? Workspace(directory: directory)).flatMap { try? $0.languagePreference() } ?? nil
        }
        return resolve(preference: preference, environment: environment)
    }

    /// `danish` or `english`, whichever this language is.
    func text(_ danish: String, _ english: String) -> String { self == .danish ? danish : english }

    /// "1.250.000 kr." in both languages — the form amounts are typed in and the
    /// call's own — so `spor` shows one format everywhere; "–" for none.
    func kroner(_ value: Int64?) -> String { Output.kroner(value) }

    /// The name a person types for `section` in this language ("udfordring", "challenge").
    func key(of section: Section) -> String { self == .danish ? section.danishKey : section.key }

    func title(of section: Section) -> String { self == .danish ? section.danishTitle : section.englishTitle }

    func name(of step: Step) -> String { self == .danish ? step.danishName : step.englishName }

    func name(of status: ProcessStatus) -> String { self == .danish ? status.danishName : status.englishName }
}

/// Help texts in the user's language: `spor help` and `--help` in Danish for a
/// Danish user (the workspace's `spor config language`, else the locale), English
/// otherwise. Chosen once, when the first help text is read.
enum Help {
    static let language = Language.forMessages()

    static func text(_ danish: String, _ english: String) -> String { language.text(danish, english) }

    /// The argument parser's headings and built-in texts in Danish (the commands'
    /// own texts are already in the user's language).
    static func danishLayout(_ text: String) -> String {
        let words: [(String, String)] = [
            ("OVERVIEW:", "OVERSIGT:"), ("USAGE:", "BRUG:"), ("ARGUMENTS:", "ARGUMENTER:"), ("OPTIONS:", "TILVALG:"),
            ("SUBCOMMANDS:", "KOMMANDOER:"), ("(default: ", "(standard: "), ("Show the version.", "Vis versionen."),
            ("Show help information.", "Vis hjælpen."),
            ("See 'spor help <subcommand>' for detailed help.", "Se 'spor help <kommando>' for mere."),
            ("Help:  ", "Hjælp:  "),
        ]
        var text = text
        for (english, danish) in words { text = text.replacingOccurrences(of: english, with: danish) }
        return text
    }
}
