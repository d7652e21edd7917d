import Foundation
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
