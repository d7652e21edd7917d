import ArgumentParser
import Foundation
import SporClient

/// `spor config`: settings of this workspace that are not the server's.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: Help.text("Indstillinger for dette arbejdsområde: det sprog, spor taler.", "Settings of this workspace: the language spor speaks."),
                                                    subcommands: [ConfigLanguage.self])
}

/// `spor config language [da|en|auto]`: shows or sets the language of text output.
struct ConfigLanguage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "language",
        abstract: Help.text("Vis eller vælg det sprog, spor taler: da (dansk), en (English) eller auto (systemets).", "Show or set the language spor speaks: da (dansk), en (English) or auto (the locale's)."),
        discussion: Help.text("Uden værdi viser den sproget i brug og hvorfor. --json-output er det samme på alle sprog.", "Without a value it prints the language in use and why. --json output is the same in every language."))

    @Argument(help: ArgumentHelp(Help.text("da, en eller auto.", "da, en or auto."))) var value: String?
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let workspace = try Workspace(directory: Workspace.defaultDirectory())
        if let value {
            switch value.lowercased() {
            case "auto": try workspace.setLanguagePreference(nil)
            case "da", "dansk", "danish": try workspace.setLanguagePreference(Language.danish.rawValue)
            case "en", "english", "engelsk": try workspace.setLanguagePreference(Language.english.rawValue)
            default:
                throw CommandFailure.badInput(Help.text("der er intet sprog \(String(reflecting: value))", "there is no language \(String(reflecting: value))"), hint: Help.text("Sprog: da, en, auto.", "Languages: da, en, auto."))
            }
        }
        let preference = try workspace.languagePreference()
        let language = Language.resolve(preference: preference, environment: ProcessInfo.processInfo.environment)
        Output.emit(options, json: { LanguageJSON(language: language.rawValue, chosen: preference != nil) }, text: {
            switch (language, preference != nil) {
            case (.danish, true): "Sprog: dansk (valgt med `spor config language da`; `spor config language auto` følger systemet)."
            case (.danish, false): "Sprog: dansk (fra systemets sprogindstilling; `spor config language en` for engelsk)."
            case (.english, true): "Language: English (chosen with `spor config language en`; `spor config language auto` follows the locale)."
            case (.english, false): "Language: English (from the locale; `spor config language da` for Danish)."
            }
        })
    }
}
