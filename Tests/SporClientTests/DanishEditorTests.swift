import Foundation
import SporProposal
import SporTestSupport
import Testing

/// `spor` for a Danish climate coordinator: the locale (or `spor config language`)
/// chooses Danish; sections are named in Danish; `check` says what each finding is
/// about as a person calls it and how to fix it; participants are entered once.
@Suite("spor in Danish", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct DanishEditorTests {
    static let danish = ["LANG": "da_DK.UTF-8"]

    /// A set-up workspace of Aarhus Kommune with one new proposal.
    static func workspace() throws -> (ServerProcess, SporCLI, String) {
        let server = try ServerProcess()
        let cli = try SporCLI()
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try cli.ok("new", "Skybrudssikring i Østjylland").trimmingCharacters(in: .whitespacesAndNewlines)
        return (server, cli, id)
    }

    /// Whether `text` shows an agent or item id ("0751/ab3kd8fj2m@12") to a person.
    static func showsInternalID(_ text: String) -> Bool {
        text.range(of: #"[0-9a-z-]+/[0-9a-z]{6,}@[0-9]+"#, options: .regularExpression) != nil
    }

    @Test("a Danish locale: check is Danish, names what each finding concerns and ends with the command that fixes it")
    func checkInDanish() throws {
        let (server, cli, id) = try Self.workspace()
        _ = server
        let check = try cli.run("check", id, environment: Self.danish)
        #expect(check.status == 1, "a new proposal is not ready")
        let lines = check.stdout.split(separator: "\n").map(String.init)
        let errors = lines.filter { $0.hasPrefix("✗ ") }
        #expect(!errors.isEmpty)
        // The challenge is required and empty: named by its Danish title, fixed by
        // `spor edit` with its Danish name.
        let challenge = try #require(lines.first { $0.hasPrefix("✗ \(Section.challenge.danishTitle): ") }, "\(check.stdout)")
        #expect(challenge.hasSuffix("→ spor edit \(id) udfordring"), "\(challenge)")
        // Fewer than three public participants: about the participants, not an id.
        #expect(lines.contains { $0.hasPrefix("✗ Deltagere: ") && $0.hasSuffix("→ spor participant add \(id) --org KOMMUNE --role partner") },
                "\(check.stdout)")
        #expect(lines.last == "\(errors.count) problemer blokerer indsendelsen.", "\(lines.last ?? "")")
        #expect(!Self.showsInternalID(check.stdout), "\(check.stdout)")
        for english in ["block", "Ready", "problems", "submission"] {
            #expect(!check.stdout.contains(english), "English \"\(english)\" in: \(check.stdout)")
        }

        // The same in English, with the English names.
        let english = try cli.run("check", id)
        let englishLines = english.stdout.split(separator: "\n").map(String.init)
        let englishChallenge = try #require(englishLines.first { $0.hasPrefix("✗ \(Section.challenge.englishTitle): ") })
        #expect(englishChallenge.hasSuffix("→ spor edit \(id) challenge"))
        #expect(englishLines.last == "\(errors.count) problems block submission.")
        #expect(englishLines.count == lines.count, "the same findings in both languages")
    }

    @Test("spor config language overrides the locale, and auto goes back to it")
    func configLanguage() throws {
        let (server, cli, id) = try Self.workspace()
        _ = server
        #expect(try cli.ok("config", "language").hasPrefix("Language: English (from the locale"))
        #expect(try cli.ok("config", "language", environment: Self.danish).hasPrefix("Sprog: dansk (fra systemets"))
        try cli.ok("config", "language", "en")
        let overridden = try cli.run("check", id, environment: Self.danish)
        #expect(overridden.stdout.contains("problems block submission."), "\(overridden.stdout)")
        try cli.ok("config", "language", "da")
        #expect(try cli.run("status", id).stdout.contains("Kladde"))
        try cli.ok("config", "language", "auto")
        #expect(try cli.run("status", id).stdout.contains("Draft"))
        let unknown = try cli.run("config", "language", "fr")
        #expect(unknown.status == 2 && unknown.stderr.contains("da, en, auto"))
        // JSON does not depend on the language.
        let json = try cli.run("check", id, "--json", environment: Self.danish)
        #expect(json.stdout.contains("\"code\"") && json.stdout.contains("tooFewPublicParticipants"))
    }

    @Test("sections by their Danish names, with or without æ/ø/å and dashes; an unknown one lists the Danish names")
    func danishSectionNames() throws {
        let (server, cli, id) = try Self.workspace()
        _ = server
        #expect(try cli.ok("set", id, "udfordring", "Skybrud oversvømmer kældre.", environment: Self.danish) == "Gemt: Udfordringen.\n")
        #expect(try cli.ok("edit", id, "klimaplan", "--from", "-", input: "Indgår i DK2020-planen.\n", environment: Self.danish)
                == "Gemt: Kobling til klimahandlingsplaner.\n")
        try cli.ok("set", id, "ikke-kendt-losning", "Ingen har prøvet det.")
        try cli.ok("set", id, "Resumé", "Kort fortalt.")
        let shown = try cli.ok("show", id)
        #expect(shown.contains("Skybrud oversvømmer kældre."))
        #expect(shown.contains("Indgår i DK2020-planen."))
        #expect(shown.contains("Ingen har prøvet det."))
        #expect(shown.contains("Kort fortalt."))
        let unknown = try cli.run("edit", id, "konklusion", "--from", "-", input: "x", environment: Self.danish)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("der er intet afsnit \"konklusion\"") && unknown.stderr.contains("udfordring, klimaplan"),
                "\(unknown.stderr)")
    }

    @Test("a participant is entered once and a proposal has one lead; participant edit changes an entry")
    func participantsOnceAndEdited() throws {
        let (server, cli, id) = try Self.workspace()
        _ = server
        try cli.ok("participant", "add", id, "--org", "Odense", "--role", "partner")
        let again = try cli.run("participant", "add", id, "--org", "0461", "--role", "partner")
        #expect(again.status == 2 && again.stderr.contains("Odense Kommune is a participant already"), "\(again.stderr)")
        // Aarhus, the creator, is the lead: a second lead is refused.
        let secondLead = try cli.run("participant", "add", id, "--org", "Vejle", "--role", "lead")
        #expect(secondLead.status == 2, "\(secondLead.stderr)")
        try cli.ok("participant", "edit", id, "2", "--cash", "250.000", "--contact-name", "Mette Hansen")
        let listed = try cli.json("participant", "list", id)
        let participants = try #require(listed["participants"] as? [[String: Any]])
        #expect(participants.count == 2)
        let odense = try #require(participants.first { (($0["organisation"] as? [String: Any])?["name"] as? String)?.contains("Odense") == true },
                                  "\(participants)")
        #expect(odense["cofinancingCash"] as? Int == 250_000)
        #expect(odense["contactName"] as? String == "Mette Hansen")
        let toLead = try cli.run("participant", "edit", id, "2", "--role", "lead")
        #expect(toLead.status == 2 && toLead.stderr.contains("is the lead partner already"), "\(toLead.stderr)")
        let nothing = try cli.run("participant", "edit", id, "2")
        #expect(nothing.status == 2 && nothing.stderr.contains("nothing to change"))
    }

    @Test("a negative amount is refused for being negative, not as a command-line error")
    func negativeAmount() throws {
        let (server, cli, id) = try Self.workspace()
        _ = server
        let negative = try cli.run("budget", "add", id, "--item", "Pumper", "--amount", "-5", "--source", "own", "--year", "2025")
        #expect(negative.status == 2)
        #expect(!negative.stderr.contains("Missing expected argument"), "\(negative.stderr)")
        #expect(negative.stderr.contains("negative") || negative.stderr.contains("below zero"), "\(negative.stderr)")
    }

    @Test("an idea can start when no round is open: the proposal has no round until one is set, and check says how")
    func newWithoutOpenRound() throws {
        let server = try ServerProcess()
        var cli = try SporCLI()
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        cli.now = "2031-06-01T12:00:00Z"  // after every built-in round
        let created = try cli.run("new", "En idé til senere", environment: Self.danish)
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("0751."))
        #expect(created.stderr.contains("Ingen ansøgningsrunde er åben nu") && created.stderr.contains("spor set \(id) round"))
        let check = try cli.run("check", id, environment: Self.danish)
        #expect(check.stdout.contains("✗ Runde: ") && check.stdout.contains("→ spor set \(id) round RUNDE"), "\(check.stdout)")
        let json = try cli.json("new", "Endnu en")
        #expect(json["round"] is NSNull)
    }

    @Test("show shows the whole proposal in Danish: every section (empty required ones marked), co-financing, budget totals, milestones")
    func showWholeProposalInDanish() throws {
        let (server, cli, id) = try Self.workspace()
        _ = server
        try cli.ok("participant", "add", id, "--org", "Odense", "--role", "partner", "--cash", "150.000", "--hours", "400",
                   "--contact-name", "Mette Hansen")
        let added = try cli.ok("budget", "add", id, "--item", "Regnvandsbede", "--amount", "1.200.000", "--source", "klimaalliancen",
                               "--year", "2025", environment: Self.danish)
        #expect(added == "Budgetlinjen »Regnvandsbede« er tilføjet.\n", "no item id in it: \(added)")
        try cli.ok("budget", "add", id, "--item", "Projektledelse", "--amount", "300.000", "--source", "klimaalliancen", "--year", "2026")
        try cli.ok("milestone", "add", id, "--title", "Første bede anlagt", "--date", "2025-05-01")
        try cli.ok("set", id, "udfordring", "Skybrud oversvømmer kældre.")
        let shown = try cli.run("show", id, environment: Self.danish)
        #expect(shown.status == 0)
        let text = shown.stdout
        #expect(text.contains("Status: Kladde"))
        #expect(text.contains("Odense Kommune — Partner (Mette Hansen; medfinansiering 150.000 kr.; 400 timer)"), "\(text)")
        #expect(text.contains("I alt, Klimaalliancen: 1.500.000 kr."), "\(text)")
        #expect(text.contains("1. maj 2025  Første bede anlagt"), "milestone dates as people write them")
        // Every section of the call, in its order; the filled one shows its text, an
        // empty required one says so and how to fill it, an empty optional one is empty.
        var position = text.startIndex
        for section in Section.allCases where section != .title {
            let heading = "## \(section.danishTitle) [\(section.danishKey)]"
            let found = try #require(text.range(of: heading, range: position..<text.endIndex), "\(heading) missing or out of order")
            position = found.upperBound
        }
        #expect(text.contains("## Udfordringen [udfordring]\nSkybrud oversvømmer kældre."))
        #expect(text.contains("## Klimaeffekt [klimaeffekt]\n(tomt)"))
        #expect(text.contains("## Kort resumé [resumé]\n(mangler – skal udfyldes: spor edit \(id) resumé)"), "\(text)")
        #expect(!Self.showsInternalID(text), "\(text)")

        // Comments are signed with the organisation's name, not its code.
        try cli.ok("comment", "add", id, "udfordring", "--text", "Uddyb gerne.")
        let comments = try cli.ok("comment", "list", id, environment: Self.danish)
        #expect(comments.contains("1. [Udfordringen] Aarhus Kommune: Uddyb gerne."), "\(comments)")
    }

    @Test("sync says whose changes arrived in which proposal, and which conflicts are new")
    func syncSaysWhoAndWhatConflicts() throws {
        let server = try ServerProcess()
        let aarhus = try SporCLI(), odense = try SporCLI()
        try aarhus.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try odense.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        let id = try aarhus.ok("new", "Skybrud på Fyn").trimmingCharacters(in: .whitespacesAndNewlines)
        try aarhus.ok("participant", "add", id, "--org", "0461", "--role", "partner")
        try aarhus.ok("sync")
        let first = try odense.ok("sync", environment: Self.danish)
        #expect(first.contains("Fra Aarhus Kommune: \(id) (Skybrud på Fyn)"), "\(first)")
        #expect(first.contains("(1 nyt: \(id))") && first.contains("Alt er synkroniseret."), "\(first)")
        // Nothing new: no such line.
        #expect(!(try odense.ok("sync")).contains("From "))
        try aarhus.ok("set", id, "amountRequested", "1.500.000")
        try odense.ok("set", id, "amountRequested", "2.000.000")
        try aarhus.ok("sync")
        let odenseSync = try odense.ok("sync", environment: Self.danish)
        #expect(odenseSync.contains("Fra Aarhus Kommune: \(id)"), "\(odenseSync)")
        #expect(odenseSync.contains("Ny konflikt i \(id): amountRequested") && odenseSync.contains("spor conflicts \(id)"), "\(odenseSync)")
        let aarhusSync = try aarhus.ok("sync")
        #expect(aarhusSync.contains("From Odense Kommune: \(id)") && aarhusSync.contains("New conflict in \(id): amountRequested"), "\(aarhusSync)")
        // Known now: the next sync does not call it new.
        #expect(!(try aarhus.ok("sync")).contains("New conflict"))
    }

    @Test("errors in Danish for a Danish user: the proposal's refusals, the argument parser's, an unknown command; field names in Danish, no item ids")
    func errorsInDanish() throws {
        let (server, cli, id) = try Self.workspace()
        _ = server
        func error(_ arguments: String...) throws -> String {
            let output = try runProcess(cli.executable, arguments, environment: cli.environment.merging(Self.danish) { $1 })
            #expect(output.status == 2, "\(arguments): \(output.stderr)")
            return output.stderr
        }
        #expect(try error("set", id, "amountRequested", "mange penge")
                == "spor: ansøgt beløb: \"mange penge\" er ikke et beløb i kroner (skriv fx 1250000 eller 1.250.000)\n")
        #expect(try error("set", id, "amountRequested", "-5") == "spor: ansøgt beløb: et beløb kan ikke være negativt (-5)\n")
        // A value may start with "-": a Markdown list item.
        try cli.ok("set", id, "risici", "- Forsinkede sensorer", environment: Self.danish)
        #expect((try cli.json("show", id)["sections"] as? [String: Any])?["risks"] as? String == "- Forsinkede sensorer")
        #expect(try error("budget", "add", id, "--item", "Sensorer", "--amount", "-5", "--source", "own", "--year", "2025")
                == "spor: budget.beløb: et beløb kan ikke være negativt (-5)\n")
        let unknownOrganisation = try error("participant", "add", id, "--org", "9999", "--role", "partner")
        #expect(unknownOrganisation == "spor: deltagere.organisation: 9999 er ikke koden for en dansk kommune eller region\n",
                "\(unknownOrganisation)")
        let duplicateLead = try error("participant", "add", id, "--org", "0461", "--role", "lead")
        #expect(duplicateLead == "spor: deltagere.rolle: Aarhus Kommune er allerede tovholder; et forslag har én\n")
        #expect(!Self.showsInternalID(duplicateLead))
        let missing = try error("edit", id)
        #expect(missing.hasPrefix("spor: mangler argumentet '<section>'") && missing.contains("Brug: spor edit")
                && missing.hasSuffix("`spor help edit` forklarer kommandoen.\n"), "\(missing)")
        let unknown = try error("frobnicate")
        #expect(unknown.hasPrefix("spor: der er ingen kommando \"frobnicate\"\nKommandoer: setup,"), "\(unknown)")
        // English otherwise, word for word as before.
        let english = try cli.run("set", id, "amountRequested", "mange penge")
        #expect(english.stderr == "spor: amountRequested: \"mange penge\" is not an amount in kroner (write e.g. 1250000 or 1.250.000)\n")
    }

    @Test("help in Danish for a Danish user: the overview, each command's abstract, options and the parser's own headings; English otherwise; completion scripts untouched")
    func helpInDanish() throws {
        let cli = try SporCLI()
        let overview = try cli.ok("help", environment: Self.danish)
        #expect(overview.hasPrefix("OVERSIGT: Skriv klimaudviklingsspor-forslag sammen, offline, og synkronisér"), "\(overview)")
        for text in ["AFSLUTNINGSKODER", "KOMMANDOER:", "Eksportér et forslag som Word (.docx)", "Læs et Word-dokument (.docx)"] {
            #expect(overview.contains(text), "\(text) in: \(overview)")
        }
        let export = try cli.ok("export", "--help", environment: Self.danish)
        for text in ["BRUG: spor export", "ARGUMENTER:", "Forslagets id.", "TILVALG:", "docx, html eller md.", "(standard: da)", "Vis hjælpen."] {
            #expect(export.contains(text), "\(text) in: \(export)")
        }
        for english in ["OVERVIEW", "OPTIONS", "The proposal's id", "Show help information"] {
            #expect(!export.contains(english), "English \"\(english)\" in: \(export)")
        }
        let englishHelp = try cli.ok("export", "--help")
        #expect(englishHelp.contains("OVERVIEW: Export a proposal as Word (.docx), print-ready HTML or Markdown.")
                && englishHelp.contains("The proposal's id."))
        let completion = try cli.ok("--generate-completion-script", "bash", environment: Self.danish)
        #expect(completion.hasPrefix("#!/bin/bash"), "\(completion.prefix(80))")
    }
}
