import Foundation
import SporTestSupport
import Testing

/// `spor log` as a coordinator reads it: one line per save, newest first, with a
/// short version, the organisation, when it was saved (by its author's clock, in
/// Copenhagen time) and what it changed; versions named with `spor tag`; and those
/// short versions and names accepted by `diff --since` and `show --at`.
@Suite("A history a person can read", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct ReadableHistoryTests {
    static let danish = ["LANG": "da_DK.UTF-8"]

    /// The lines of `spor log` without their short version, which is a hash of the
    /// workspace's random agent names; the versions separately.
    static func log(_ cli: SporCLI, _ id: String, environment: [String: String] = [:]) throws -> (lines: [String], versions: [String]) {
        let lines = try cli.ok("log", id, environment: environment).split(separator: "\n").map(String.init)
        for line in lines {
            #expect(line.range(of: #"^[0-9a-f]{8}  "#, options: .regularExpression) != nil, "a short version first: \(line)")
        }
        return (lines.map { String($0.dropFirst(10)) }, lines.map { String($0.prefix(8)) })
    }

    /// `lines` match `patterns`, where `RECEIPT` in a pattern stands for the server's
    /// receipt time (its clock starts at 10:00:30 UTC, 11:00:30 in Copenhagen, and runs on
    /// while the test does: any minute up to 11:04).
    static func expectLines(_ lines: [String], _ patterns: [String], receipt: String) {
        #expect(lines.count == patterns.count, "\(lines)")
        for (line, pattern) in zip(lines, patterns) {
            let regex = "^" + NSRegularExpression.escapedPattern(for: pattern).replacingOccurrences(of: "RECEIPT", with: receipt) + "$"
            #expect(line.range(of: regex, options: .regularExpression) != nil, "\(line) is not \(pattern)")
        }
    }

    @Test("each save: when, who and what, newest first, in Danish and English, with the server's receipt when it came later; short versions and names work in diff and show")
    func readableLog() throws {
        // The server's own clock: the receipt times it records are its, not the authors'.
        let server = try ServerProcess(clock: "2024-03-05T10:00:30Z")
        var aarhus = try SporCLI()
        try aarhus.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        var odense = try SporCLI()
        try odense.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        let id = try aarhus.newProposal("Grønne tage", "--round", "2024-spring")
        try aarhus.ok("member", "add", id, "0461")
        aarhus.now = "2024-03-05T09:15:00Z"
        try aarhus.ok("set", id, "udfordring", "Skybrud oversvømmer kældre. Det koster millioner hvert 5. år.")
        aarhus.now = "2024-03-05T10:00:00Z"
        try aarhus.ok("set", id, "amountRequested", "1.800.000")
        try aarhus.ok("sync")
        try odense.ok("sync")
        // Odense's clock is a day ahead of the server's.
        odense.now = "2024-03-06T08:00:00Z"
        try odense.ok("set", id, "udfordring", "Skybrud oversvømmer kældre. Det koster millioner hvert 5. år. Odense har 80 ramte kældre.")
        try odense.ok("sync")
        try aarhus.ok("sync")
        aarhus.now = "2024-03-06T12:00:00Z"
        #expect(try aarhus.ok("tag", id, "til styregruppen", environment: Self.danish).contains("hedder nu »til styregruppen«"))

        let (lines, versions) = try Self.log(aarhus, id, environment: Self.danish)
        // Written by hand from the steps above (Copenhagen is UTC+1 in March before the 31st).
        // Aarhus saved its first changes offline; the server's records (the lead at
        // creation, the partner it added) arrived with the sync after them. Its amount
        // reached the server within minutes (one time); its earlier saves and Odense's
        // (a clock ahead) show the server's receipt too; the name is not synced yet.
        Self.expectLines(lines, [
            "Aarhus Kommune · 6. mar 13:00 · navngivet »til styregruppen«",
            // The name is on the version Aarhus had when it named it: Odense's save, the latest.
            "Odense Kommune · 6. mar 09:00, modtaget RECEIPT · udfordring +1 sætning  »til styregruppen«",
            "Serveren · RECEIPT · medlem Odense Kommune → partner",
            "Serveren · RECEIPT · medlem Aarhus Kommune → tovholder",
            "Aarhus Kommune · 5. mar 11:00 · ansøgt beløb → 1.800.000 kr.",
            "Aarhus Kommune · 5. mar 10:15, modtaget RECEIPT · udfordring skrevet",
            "Aarhus Kommune · 1. feb 13:00, modtaget RECEIPT · titel → »Grønne tage«; runde → 2024-spring; + deltager Aarhus Kommune",
        ], receipt: #"5\. mar 11:0[0-4]"#)
        #expect(!DanishEditorTests.showsInternalID(lines.joined(separator: "\n")))

        // The same history in English.
        let english = try Self.log(aarhus, id).lines
        Self.expectLines(english, [
            "Aarhus Kommune · 6 Mar 13:00 · named \"til styregruppen\"",
            "Odense Kommune · 6 Mar 09:00, received RECEIPT · challenge +1 sentence  \"til styregruppen\"",
            "The server · RECEIPT · member Odense Kommune → partner",
            "The server · RECEIPT · member Aarhus Kommune → lead partner",
            "Aarhus Kommune · 5 Mar 11:00 · amount requested → 1.800.000 kr.",
            "Aarhus Kommune · 5 Mar 10:15, received RECEIPT · challenge written",
            "Aarhus Kommune · 1 Feb 13:00, received RECEIPT · title → \"Grønne tage\"; round → 2024-spring; + participant Aarhus Kommune",
        ], receipt: "5 Mar 11:0[0-4]")

        // A short version (or its first 5 characters) is a version for diff and show.
        let amountVersion = versions[4]
        let diff = try aarhus.ok("diff", id, "--since", String(amountVersion.prefix(5)), environment: Self.danish)
        #expect(diff.contains("## Udfordringen [udfordring]") && diff.contains("+ Odense Kommune:  Odense har 80 ramte kældre."), "\(diff)")
        #expect(!diff.contains("ansøgt"), "the amount was set before that version: \(diff)")
        let before = try aarhus.ok("show", id, "--at", versions[5], environment: Self.danish)
        #expect(before.contains("Ansøgt beløb: –"), "\(before)")
        // A name is a version too; the tagged one is the current one.
        #expect(try aarhus.ok("diff", id, "--since", "til styregruppen", environment: Self.danish).hasPrefix("Ingen ændringer siden"))
        #expect(try aarhus.ok("tag", id).contains("til styregruppen  (Aarhus Kommune)"))
        // Odense sees the same saves and the name after a sync.
        try aarhus.ok("sync")
        try odense.ok("sync")
        // (Concurrent saves may be listed in another order there: each replica lists them as it got them.)
        let synced = try Self.log(aarhus, id, environment: Self.danish).lines
        #expect(Set(try Self.log(odense, id, environment: Self.danish).lines) == Set(synced))
        #expect(synced.first?.hasPrefix("Aarhus Kommune · 6. mar 13:00, modtaget 5. mar 11:0") == true, "the name now synced: \(synced)")
        // Unknown and ambiguous versions are refused with what to give instead.
        let unknown = try aarhus.run("diff", id, "--since", "ffff0000", environment: Self.danish)
        #expect(unknown.status == 2 && unknown.stderr.contains("har ingen version") && unknown.stderr.contains("spor log"), "\(unknown.stderr)")
        let json = try aarhus.json("log", id)
        let saves = try #require(json["saves"] as? [[String: Any]])
        #expect(saves.first?["savedAt"] as? String == "2024-03-06T12:00:00Z")
        #expect((saves.first?["receivedAt"] as? String)?.hasPrefix("2024-03-05T10:0") == true, "\(saves.first ?? [:])")
        #expect(saves.dropFirst().first?["names"] as? [String] == ["til styregruppen"])
        #expect((json["names"] as? [[String: Any]])?.map { $0["version"] as? String } == [versions[1]])
        // A name must be one line of text.
        let empty = try aarhus.run("tag", id, " ", environment: Self.danish)
        #expect(empty.status == 2 && empty.stderr.contains("én linje på 1 til 80 tegn"), "\(empty.stderr)")
    }

    @Test("show and log page through $PAGER on a terminal only; a pipe, PAGER=cat and --json get the text as it is",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) from bsdutils for a terminal"))
    func pagerOnTerminal() throws {
        let server = try ServerProcess()
        let cli = try SporCLI()
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try cli.newProposal("Grønne tage")
        /// `spor ARGS` on a pseudo-terminal made by script(1), with `pager` as PAGER.
        func onTerminal(_ arguments: String, pager: String) throws -> String {
            let command = "\(cli.executable.path) \(arguments)"
            return try runProcess(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"],
                                  environment: cli.environment.merging(["PAGER": pager]) { $1 })
                .requireSuccess("script")
        }
        let paged = try onTerminal("show \(id)", pager: "sed 's/^/PAGED:/'")
        #expect(paged.contains("PAGED:Grønne tage  [\(id)]"), "\(paged)")
        #expect(try onTerminal("log \(id)", pager: "sed 's/^/PAGED:/'").contains("PAGED:"), "log pages too")
        #expect(!(try onTerminal("show \(id)", pager: "cat")).contains("PAGED:"))
        #expect(!(try onTerminal("show \(id) --json", pager: "sed 's/^/PAGED:/'")).contains("PAGED:"), "JSON is never paged")
        #expect(try cli.ok("show", id, environment: ["PAGER": "sed 's/^/PAGED:/'"]).hasPrefix("Grønne tage"), "not on a pipe")
        // A pager that is not installed: the text is shown anyway.
        #expect(try onTerminal("show \(id)", pager: "/nonexistent/pager").contains("Grønne tage"))
    }

    @Test("shell completions for bash, zsh and fish name every command, import and tag included")
    func completions() throws {
        let cli = try SporCLI()
        for shell in ["bash", "zsh", "fish"] {
            let script = try cli.ok("--generate-completion-script", shell)
            for command in ["export", "import", "tag", "log", "sync", "participant"] {
                #expect(script.contains(command), "\(shell) completion names \(command)")
            }
        }
    }

    @Test("the manual page is generated from the commands: every command, its options, the exit codes")
    func manualPage() throws {
        let generator = try SpawnedServer.builtExecutable("generate-manual")
        let cli = try SporCLI()
        let directory = temporaryTestDirectory("spor-man")
        // In English, as scripts/man makes it (generate-manual leaves out æ, ø and å).
        _ = try runProcess(generator, [cli.executable.path, "--output-directory", directory, "--section", "1", "--authors", "Spor"],
                           environment: cli.environment).requireSuccess("generate-manual")
        let page = try String(contentsOfFile: directory + "/spor.1", encoding: .utf8)
        #expect(page.contains(".Dt SPOR 1") && page.contains(".Nm spor"))
        for command in ["export", "import", "tag", "log", "sync", "participant"] {
            #expect(page.contains(".It Em \(command)"), "\(command) in the manual")
        }
        for text in ["Bring a Word document (.docx) back into a proposal", "EXIT CODES", ".It Fl -dry-run"] {
            #expect(page.contains(text), "\(text) in the manual")
        }
    }

    /// A golden file, with "ID" standing for the proposal's (random) id.
    static func golden(_ name: String, id: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Golden"))
        return try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "ID", with: id)
    }

    @Test("show, check and log of one proposal match the hand-written golden files, in Danish and in English")
    func goldenOutput() throws {
        let server = try ServerProcess()
        var cli = try SporCLI()
        try cli.setUp(server, "Silkeborg Kommune", kind: "kommune", code: "0740")
        // Copenhagen is UTC+2 in September: 08:00Z is 10:00.
        cli.now = "2024-09-02T08:00:00Z"
        let id = try cli.newProposal("Grønne tage mod skybrud", "--round", "2024-autumn")
        try cli.ok("set", id, "resumé", "Tre kommuner tester grønne tage.")
        cli.now = "2024-09-02T08:01:00Z"
        try cli.ok("set", id, "udfordring", "Skybrud oversvømmer **kældre**.\n- Silkeborg: 40 kældre")
        cli.now = "2024-09-02T08:02:00Z"
        try cli.ok("set", id, "amountRequested", "1.250.000")
        cli.now = "2024-09-02T08:03:00Z"
        try cli.ok("participant", "add", id, "--org", "0461", "--role", "partner", "--cash", "200.000", "--hours", "300")
        cli.now = "2024-09-02T08:04:00Z"
        try cli.ok("budget", "add", id, "--item", "Sensorer", "--amount", "1.250.000", "--source", "klimaalliancen", "--year", "2025")
        cli.now = "2024-09-02T08:05:00Z"
        try cli.ok("milestone", "add", id, "--title", "Tage etableret", "--date", "2025-06-30")
        cli.now = "2024-09-02T09:00:00Z"
        for (language, environment) in [("da", Self.danish), ("en", [:])] {
            expectSameLines(try cli.ok("show", id, environment: environment), try Self.golden("show.\(language).txt", id: id), "show.\(language).txt")
            let check = try cli.run("check", id, environment: environment)
            #expect(check.status == 1, "five problems block submission")
            expectSameLines(check.stdout, try Self.golden("check.\(language).txt", id: id), "check.\(language).txt")
            let log = try Self.log(cli, id, environment: environment).lines.joined(separator: "\n") + "\n"
            expectSameLines(log, try Self.golden("log.\(language).txt", id: id), "log.\(language).txt")
        }
        // --json, byte for byte: these files were written by spor's hand-written JSON
        // writer before --json moved to typed structs and JSONEncoder; the bytes must
        // not change (indentation, key order, `[]` and `{}`, null for what is absent).
        let agent = try #require(try cli.json("whoami")["agent"] as? String)
        for command in ["show", "check", "log"] {
            let output = try cli.run(command, id, "--json")
            #expect(output.status == (command == "check" ? 1 : 0), "\(command) --json: \(output.stderr)")
            let normalised = Self.withoutRandomParts(output.stdout, agent: agent)
            #expect(normalised == (try Self.golden("\(command).json", id: id)), "\(command) --json differs from Golden/\(command).json:\n\(normalised)")
        }
    }

    /// JSON output with the workspace's random agent name as AGENT, content hashes
    /// (64 hex digits) as HASH and short versions (8) as VERSION.
    static func withoutRandomParts(_ json: String, agent: String) -> String {
        json.replacingOccurrences(of: agent, with: "AGENT")
            .replacingOccurrences(of: "[0-9a-f]{64}", with: "HASH", options: .regularExpression)
            .replacingOccurrences(of: #""version" : "[0-9a-f]{8}""#, with: #""version" : "VERSION""#, options: .regularExpression)
    }
}
