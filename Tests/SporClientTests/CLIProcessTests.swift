import Foundation
import SporProposal
import SporClient
import SporTestSupport
import Testing

/// `spor` as people and scripts run it: real processes against a real `spor-server`.
@Suite("spor CLI processes", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct CLIProcessTests {
    typealias CLI = SporCLI

    @Test("three organisations edit one proposal offline, sync in any order, and show the same proposal byte for byte")
    func threeOrganisations() throws {
        let server = try ServerProcess()
        let aarhus = try CLI(), odense = try CLI(), midtjylland = try CLI()
        for (cli, name, kind, code) in [(aarhus, "Aarhus Kommune", "kommune", "0751"), (odense, "Odense Kommune", "kommune", "0461"),
                                        (midtjylland, "Region Midtjylland", "region", "1082")] {
            let token = try server.addOrganisation(name, kind: kind, code: code)
            let setup = try cli.ok("setup", "--server", server.address, "--token", token)
            #expect(setup.contains(name))
            #expect(try cli.ok("whoami").contains("\(name) (\(code)"))
        }
        let id = try aarhus.ok("new", "Skybrud og stormflod på tværs 🌊").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("0751.") && id.count == 15, "new ids are in the organisation's namespace: \(id)")
        try aarhus.ok("participant", "add", id, "--org", "Odense", "--role", "partner")
        try aarhus.ok("participant", "add", id, "--org", "1082", "--role", "partner")
        try aarhus.ok("edit", id, "summary", "--from", "-", input: "Vi løser skybrud i Aarhus, Odense og Midtjylland.\n")
        try aarhus.ok("sync")
        #expect(try odense.ok("sync").contains("1 new: \(id)"))
        try midtjylland.ok("sync")

        // Offline: the same section in all three, through $EDITOR in one of them.
        try aarhus.ok("edit", id, "summary", "--from", "-", input: "Vi løser skybrud i Aarhus, Odense og Midtjylland sammen.\n")
        let editor = (odense.home as NSString).appendingPathComponent("prepend-editor.sh")
        try Data("#!/bin/sh\n{ printf 'Odense ønsker cykelstier 🚲. '; cat \"$1\"; } > \"$1.new\" && mv \"$1.new\" \"$1\"\n".utf8)
            .write(to: URL(fileURLWithPath: editor))
        chmod(editor, 0o755)
        let edited = try odense.ok("edit", id, "summary", environment: ["EDITOR": editor])
        #expect(edited.contains("Saved Short summary."))
        try midtjylland.ok("set", id, "risks", "Risiko: tørke ☀️ i Å-dalen")
        try midtjylland.ok("budget", "add", id, "--item", "Måling af regnvand", "--amount", "1.250.000", "--source", "klimaalliancen", "--year", "2025")
        try odense.ok("comment", "add", id, "summary", "--text", "Skal vi nævne Æbelø?", "--quote", "cykelstier")

        for cli in [midtjylland, aarhus, odense, midtjylland, aarhus] { try cli.ok("sync") }
        let shown = try [aarhus, odense, midtjylland].map { try $0.ok("show", id, "--json") }
        #expect(shown[0] == shown[1] && shown[1] == shown[2])
        let content = try #require(try JSONSerialization.jsonObject(with: Data(shown[0].utf8)) as? [String: Any])
        let sections = try #require(content["sections"] as? [String: String])
        #expect(sections["summary"] == "Odense ønsker cykelstier 🚲. Vi løser skybrud i Aarhus, Odense og Midtjylland sammen.\n")
        #expect(sections["risks"] == "Risiko: tørke ☀️ i Å-dalen")
        #expect((content["comments"] as? [[String: Any]])?.first?["quote"] as? String == "cykelstier")
        #expect((content["participants"] as? [[String: Any]])?.count == 3)
        // Exports agree too, and blame attributes the text by organisation.
        let exports = try [aarhus, odense, midtjylland].map { try $0.ok("export", id, "--format", "html") }
        #expect(exports[0] == exports[1] && exports[1] == exports[2])
        let blame = try aarhus.ok("blame", id, "summary")
        #expect(blame.contains("Odense Kommune | Odense ønsker cykelstier"))
        #expect(blame.contains("Aarhus Kommune | "))
    }

    @Test("conflicting fields show up and are resolved once for everyone")
    func conflicts() throws {
        let server = try ServerProcess()
        let aarhus = try CLI(), odense = try CLI()
        try aarhus.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try odense.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        let id = try aarhus.ok("new", "T").trimmingCharacters(in: .whitespacesAndNewlines)
        try aarhus.ok("participant", "add", id, "--org", "0461", "--role", "partner")
        try aarhus.ok("sync")
        try odense.ok("sync")
        try aarhus.ok("set", id, "amountRequested", "1.500.000")
        try odense.ok("set", id, "amountRequested", "2.000.000")
        for cli in [aarhus, odense, aarhus] { try cli.ok("sync") }
        let listed = try odense.json("conflicts", id)
        let conflict = try #require((listed["conflicts"] as? [[String: Any]])?.first)
        #expect(conflict["field"] as? String == "amountRequested")
        let values = Set(((conflict["candidates"] as? [[String: Any]]) ?? []).compactMap { $0["value"] as? String })
        #expect(values == ["1500000", "2000000"])
        #expect(try odense.ok("show", id).contains("conflict in amountRequested"))
        try odense.ok("conflicts", id, "--resolve", "amountRequested", "--value", "1.750.000")
        for cli in [odense, aarhus] { try cli.ok("sync") }
        for cli in [aarhus, odense] {
            let shown = try cli.json("show", id)
            #expect((shown["conflicts"] as? [Any])?.isEmpty == true)
            #expect(shown["amountRequested"] as? Int == 1_750_000)
        }
    }

    @Test("members through the CLI: roles listed, a partner cannot add, the lead adds an observer and hands over the lead; a step asked offline waits and is judged on arrival")
    func membersAndOfflineSteps() throws {
        let server = try ServerProcess(clock: "2024-03-01T12:00:00Z")
        var lead = try CLI(), partner = try CLI()
        lead.now = "2024-03-01T12:00:00Z"
        partner.now = lead.now
        try lead.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try partner.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        let id = try lead.ok("new", "Skybrud", "--round", "2024-spring").trimmingCharacters(in: .whitespacesAndNewlines)
        try lead.ok("participant", "add", id, "--org", "Odense", "--role", "partner")
        try lead.ok("sync")
        try partner.ok("sync")
        let members = try partner.ok("member", "list", id)
        #expect(members.contains("Aarhus Kommune (0751) — Lead partner") && members.contains("Odense Kommune (0461) — Partner"), "\(members)")
        let denied = try partner.run("member", "add", id, "1082")
        #expect(denied.status == 1 && denied.stderr.contains("only the lead partner and the secretariat"), "\(denied.stderr)")
        #expect(try partner.json("member", "list", id)["waiting"].map { ($0 as? [Any])?.isEmpty } == true, "nothing queued")

        try lead.ok("member", "add", id, "kl-midt", "--role", "observer")
        #expect(try lead.ok("member", "list", id).contains("waiting to sync: add kl-midt as observer"))
        try lead.ok("member", "role", id, "Odense", "lead")
        try lead.ok("sync")
        try partner.ok("sync")
        let after = try partner.ok("member", "list", id)
        #expect(after.contains("Odense Kommune (0461) — Lead partner") && after.contains("Aarhus Kommune (0751) — Partner")
                && after.contains("kl-midt (kl-midt) — Observer"), "\(after)")
        #expect(try lead.run("withdraw", id).status == 1, "Aarhus no longer leads")

        // The new lead withdraws while the server is down: queued, said plainly, judged later.
        server.kill()
        let offline = try partner.run("withdraw", id)
        #expect(offline.status == 3)
        #expect(offline.stdout.contains("waits in the outbox") && offline.stdout.contains("by its own clock"), "\(offline.stdout)")
        #expect(try partner.json("status", id)["status"] as? String == "draft")
        // One count everywhere: the waiting request in `list` and in `status`.
        #expect(try partner.ok("list").contains("(1 waiting to sync)"))
        #expect((try partner.json("status", id)["outbox"] as? [Any])?.count == 1)
        try server.restart(clock: "2024-03-02T09:00:00Z")
        let synced = try partner.ok("sync")
        #expect(synced.contains("The server recorded withdraw of \(id)"), "\(synced)")
        #expect(try partner.json("status", id)["status"] as? String == "withdrawn")
        let shown = try partner.json("show", id)
        // Stamped by the server's clock, which started at 09:00:00 and has run since
        // (the partner's clock says 1 February).
        let stamped = ((shown["withdrawal"] as? [String: Any])?["at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
        let restarted = try #require(ISO8601DateFormatter().date(from: "2024-03-02T09:00:00Z"))
        #expect(stamped.map { $0 >= restarted && $0 < restarted + 60 } == true, "stamped by the server's clock: \(shown)")
    }

    @Test("a change the server refuses for good: sync says which and how out, status says why each change waits, discard saves and refetches")
    func refusedChangeDiscarded() throws {
        let server = try ServerProcess()
        let lead = try CLI(), partner = try CLI()
        try lead.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try partner.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        let id = try lead.ok("new", "Skybrud", "--round", "2024-spring").trimmingCharacters(in: .whitespacesAndNewlines)
        try lead.ok("participant", "add", id, "--org", "Odense", "--role", "partner")
        try lead.ok("sync")
        try partner.ok("sync")
        // Odense writes offline while the lead makes it an observer.
        try partner.ok("set", id, "risks", "Odenses tekst om risici.")
        try partner.ok("set", id, "challenge", "Odense: udfordringen.")
        try lead.ok("member", "role", id, "Odense", "observer")
        try lead.ok("sync")
        let sync = try partner.run("sync")
        #expect(sync.status == 3, "\(sync.stdout)\n\(sync.stderr)")
        #expect(sync.stdout.contains("Refused: a change to \(id)") && sync.stdout.contains("spor discard \(id)"), "\(sync.stdout)")
        let status = try partner.ok("status", id)
        #expect(status.contains("2 changes wait to sync:"), "\(status)")
        #expect(status.contains("refused by the server:") && status.contains("waits behind the refused change above"), "\(status)")
        #expect(status.contains("spor discard \(id)"))
        // Nothing is dropped without --yes.
        let asked = try partner.run("discard", id)
        #expect(asked.status == 2 && asked.stderr.contains("--yes"), "\(asked.stderr)")
        #expect((try partner.json("status", id)["outbox"] as? [Any])?.count == 2)
        let discarded = try partner.ok("discard", id, "--yes")
        // The path ends at ". " (a proposal id may itself contain ".md").
        let saved = try #require(discarded.components(separatedBy: "saved in ").last?.components(separatedBy: ". ").first)
        #expect(try String(contentsOfFile: saved, encoding: .utf8).contains("Odenses tekst om risici."), "the partner's version is kept in \(saved)")
        #expect(try partner.ok("sync").contains("Everything is synced."))
        #expect(try partner.ok("list").contains("waiting") == false)
        try lead.ok("sync")
        #expect(try partner.ok("export", id, "--format", "md") == (try lead.ok("export", id, "--format", "md")), "fetched again as the partners have it")
        #expect(try !partner.ok("export", id, "--format", "md").contains("Odenses tekst"))
    }

    @Test("the process through the CLI: check, submit before the deadline, the secretariat's decision, a late submission refused")
    func process() throws {
        let server = try ServerProcess(clock: "2024-03-01T12:00:00Z")
        var lead = try CLI(), secretariat = try CLI()
        lead.now = "2024-03-01T12:00:00Z"
        secretariat.now = lead.now
        try lead.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let rotated = try server.admin(["token", "rotate", "klimaalliancens-sekretariat"])
        try secretariat.ok("setup", "--server", server.address, "--token", String(rotated.stdout.split(separator: "\n").last ?? ""))
        let id = try lead.ok("new", "Skybrud", "--round", "2024-spring").trimmingCharacters(in: .whitespacesAndNewlines)
        try lead.ok("participant", "add", id, "--org", "0461", "--role", "partner", "--cash", "100.000")
        try lead.ok("participant", "add", id, "--org", "Region Midtjylland", "--role", "partner")
        #expect(try lead.run("submit", id).status == 1, "incomplete: refused by the rules")
        for section in Section.allCases.filter({ $0.isRequired && $0 != .title }).map(\.key) {
            try lead.ok("set", id, section, "Tekst om \(section): æøå 🌱")
        }
        try lead.ok("set", id, "amountRequested", "1.000.000")
        try lead.ok("budget", "add", id, "--item", "Analyse", "--amount", "1.000.000", "--source", "klimaalliancen", "--year", "2025")
        try lead.ok("milestone", "add", id, "--title", "Start", "--date", "2024-08-01")
        let check = try lead.json("check", id)
        #expect(check["ready"] as? Bool == true, "\(check)")
        try lead.ok("submit", id)
        try lead.ok("sync")

        try secretariat.ok("sync")
        // `check` predicts what `submit` does for whoever runs it: the secretariat is not the lead.
        let notLead = try secretariat.run("check", id, "--step", "approval")
        #expect(notLead.status == 1 && notLead.stdout.contains("Only the lead partner submits"), "\(notLead.stdout) \(notLead.stderr)")
        let memberDecides = try lead.run("decide", id, "qualified", "--note", "selv")
        #expect(memberDecides.status == 1 && memberDecides.stderr.contains("secretariat"))
        try secretariat.ok("decide", id, "qualified", "--note", "Fint")
        try secretariat.ok("sync")
        try lead.ok("sync")
        // Changes after the submission: the redline names them, the submitted version stays readable.
        try lead.ok("budget", "add", id, "--item", "Workshops", "--amount", "50.000", "--source", "own", "--year", "2025")
        try lead.ok("set", id, "summary", "Tekst om summary: æøå 🌱 Nu med workshops.")
        let diff = try lead.json("diff", id)
        let fields = (diff["fields"] as? [[String: Any]]) ?? []
        #expect(fields.contains { $0["field"] as? String == "budget" && $0["change"] as? String == "+"
            && ($0["after"] as? String)?.hasPrefix("Workshops") == true }, "\(fields)")
        let summary = ((diff["sections"] as? [String: Any])?["summary"] as? [[String: Any]]) ?? []
        #expect(summary.contains { $0["kind"] as? String == "inserted" && ($0["text"] as? String)?.contains("workshops") == true
            && $0["organisation"] as? String == "0751" }, "\(summary)")
        let submitted = try lead.json("show", id, "--at", "submitted")
        #expect((submitted["budget"] as? [Any])?.count == 1)
        #expect((try lead.json("show", id)["budget"] as? [Any])?.count == 2)
        try lead.ok("submit", id, "--step", "approval")
        try lead.ok("sync")
        try secretariat.ok("sync")
        // An extra zero is asked about, and nothing is queued.
        let typo = try secretariat.run("decide", id, "approved", "--decision", "--note", "Godkendt", "--granted", "10.000.000")
        #expect(typo.status == 2 && typo.stderr.contains("more than"), "\(typo.stderr)")
        #expect((try secretariat.json("status", id)["outbox"] as? [Any])?.isEmpty == true)
        try secretariat.ok("decide", id, "approved", "--decision", "--note", "Godkendt", "--granted", "1.000.000")
        try secretariat.ok("sync")
        try lead.ok("sync")
        var later = lead
        later.now = "2024-06-01T12:00:00Z"
        let status = try later.json("status", id)
        #expect(status["status"] as? String == "approved")
        #expect((status["submissions"] as? [Any])?.count == 2)
        let shown = try lead.json("show", id)
        #expect((shown["decision"] as? [String: Any])?["grantedAmount"] as? Int == 1_000_000)
        #expect(try later.ok("status", id).contains("Decision: approved, granted 1.000.000 kr. of 1.000.000 kr. requested"))
        #expect((status["decisions"] as? [[String: Any]])?.count == 1)
        // A corrected decision is a new, dated record: the first stays and is shown.
        try secretariat.ok("decide", id, "approved", "--decision", "--note", "Rettet: beløbet nedsat", "--granted", "900.000")
        try secretariat.ok("sync")
        try lead.ok("sync")
        let decisions = (try later.json("status", id)["decisions"] as? [[String: Any]]) ?? []
        #expect(decisions.map { $0["grantedAmount"] as? Int } == [1_000_000, 900_000], "\(decisions)")
        let corrected = try later.ok("status", id)
        #expect(corrected.contains("Decision: approved, granted 900.000 kr. of 1.000.000 kr. requested")
                && corrected.contains("it replaced 1 earlier"), "\(corrected)")
        #expect(try lead.ok("show", id).contains("earlier decision, replaced: approved, granted 1.000.000 kr."))
        #expect(try lead.ok("export", id, "--format", "md").contains("900.000"))
        // Decided: `check` no longer says ready, as `submit` refuses.
        let decided = try later.run("check", id, "--step", "approval")
        #expect(decided.status == 1 && decided.stdout.contains("approved"), "\(decided.stdout)")
        // After the deadline (and the decision): refused, nothing recorded.
        let late = try later.run("submit", id)
        #expect(late.status == 1)
        #expect(try later.json("status", id)["submissions"].map { ($0 as? [Any])?.count } == 2)
    }

    @Test("spor sync --watch in one process sends what spor commands in other processes save, while they save it")
    func watchWhileEditing() throws {
        let server = try ServerProcess()
        let aarhus = try CLI(), odense = try CLI()
        try aarhus.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try odense.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        let id = try aarhus.ok("new", "T").trimmingCharacters(in: .whitespacesAndNewlines)
        try aarhus.ok("participant", "add", id, "--org", "0461", "--role", "partner")

        let watch = Process()
        watch.executableURL = aarhus.executable
        watch.arguments = ["sync", "--watch"]
        watch.environment = ProcessInfo.processInfo.environment.merging(["SPOR_HOME": aarhus.home, "SPOR_NOW": aarhus.now]) { $1 }
        let watchOutput = Pipe()
        watch.standardOutput = watchOutput
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        defer { if watch.isRunning { kill(watch.processIdentifier, SIGKILL); watch.waitUntilExit() } }
        // Caught up (and so holding the workspace's sync lock) before going on.
        var printed = ""
        while !printed.contains("Everything is synced") {
            let chunk = watchOutput.fileHandleForReading.availableData
            if chunk.isEmpty { throw TestFailure("spor sync --watch ended: \(printed)") }
            printed += String(decoding: chunk, as: UTF8.self)
        }

        // A second sync refuses to run beside it.
        let second = try aarhus.run("sync")
        #expect(second.status == 3 && second.stderr.contains("already running"))
        for index in 0..<8 {
            try aarhus.ok("budget", "add", id, "--item", "linje \(index) æøå", "--amount", "1000", "--source", "own", "--year", "2025")
        }
        let deadline = Date().addingTimeInterval(60)
        var items: [String] = []
        while Date() < deadline {
            _ = try odense.run("sync")
            let budget = (try? odense.json("budget", "list", id))?["lines"] as? [[String: Any]] ?? []
            items = budget.compactMap { $0["item"] as? String }
            if items.count == 8 { break }
            usleep(200_000)
        }
        #expect(Set(items) == Set((0..<8).map { "linje \($0) æøå" }))
        var outbox = try aarhus.json("whoami")["outbox"] as? Int
        while outbox != 0 && Date() < deadline {
            usleep(100_000)
            outbox = try aarhus.json("whoami")["outbox"] as? Int
        }
        #expect(outbox == 0, "the watching sync removes acknowledged entries")
    }

    @Test("TLS: with the server's CA the workspace syncs; without it the certificate is refused with a clear message")
    func tls() throws {
        let server = try ServerProcess(arguments: ["--tls-cert", tlsTestFile("server.pem"), "--tls-key", tlsTestFile("server.key")])
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        let untrusted = try CLI()
        let refused = try untrusted.run("setup", "--server", "localhost:\(server.port)", "--token", token, "--tls")
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("certificate was not accepted") && refused.stderr.contains("--ca-file"), "\(refused.stderr)")
        let plain = try untrusted.run("setup", "--server", "localhost:\(server.port)", "--token", token)
        #expect(plain.status == 3, "a TLS server does not answer plain HELLO")

        let cli = try CLI()
        try cli.ok("setup", "--server", "localhost:\(server.port)", "--token", token, "--ca-file", tlsTestFile("test-ca.pem"))
        #expect(try cli.ok("whoami").contains("(TLS)"))
        let id = try cli.ok("new", "Over TLS").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cli.ok("sync").contains("Created \(id) on the server"))
    }

    @Test("rounds the secretariat publishes on the server reach workspaces at setup and at sync")
    func roundsFromTheServer() throws {
        let server = try ServerProcess()
        var cli = try CLI()
        cli.now = "2026-12-01T12:00:00Z"
        let added = try server.admin(["round", "add", "--id", "2027-spring", "--danish-name", "Forår 2027", "--english-name", "Spring 2027",
                                      "--qualification-deadline", "2027-03-01 12:00", "--approval-deadline", "2027-04-05 12:00",
                                      "--committee-meeting", "2027-05-18"])
        #expect(added.status == 0, "\(added.stderr)")
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try cli.ok("new", "Forår").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cli.json("show", id)["round"] as? String == "2027-spring")
        let status = try cli.json("status", id)
        #expect((status["deadlines"] as? [String: String])?["qualification"] == "2027-03-01T11:00:00Z", "12:00 Copenhagen winter time")

        _ = try server.admin(["round", "add", "--id", "2027-autumn", "--danish-name", "Efterår 2027", "--english-name", "Autumn 2027",
                              "--qualification-deadline", "2027-09-01 12:00", "--approval-deadline", "2027-10-04 12:00",
                              "--committee-meeting", "2027-11-16"])
        #expect(!(try cli.ok("rounds")).contains("2027-autumn"))
        try cli.ok("sync")
        #expect(try cli.ok("rounds").contains("2027-autumn"))
        try cli.ok("set", id, "round", "2027-autumn")
        let wrong = try cli.run("set", id, "round", "2031-spring")
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("2027-autumn"), "the error lists the known rounds")
    }

    @Test("setup reads the token from a file or stdin, never needs it on the command line, and refuses a remote server without TLS")
    func setupTokenSources() throws {
        let server = try ServerProcess()
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        let fromFile = try CLI()
        let file = (fromFile.home as NSString).appendingPathComponent("token.txt")
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: file))
        #expect(try fromFile.ok("setup", "--server", server.address, "--token-file", file).contains("Aarhus Kommune"))
        let fromStdin = try CLI()
        #expect(try fromStdin.ok("setup", "--server", server.address, input: token + "\n").contains("Aarhus Kommune"))
        let dash = try CLI()
        #expect(try dash.ok("setup", "--server", server.address, "--token-file", "-", input: token).contains("Aarhus Kommune"))

        let remote = try CLI()
        let clear = try remote.run("setup", "--server", "spor.example.dk:7070", "--token-file", file)
        #expect(clear.status == 2 && clear.stderr.contains("clear text") && clear.stderr.contains("--tls"), "\(clear.stderr)")
        let both = try remote.run("setup", "--server", server.address, "--token", token, "--token-file", file)
        #expect(both.status == 2)
        let empty = try remote.run("setup", "--server", server.address, input: "\n")
        #expect(empty.status == 2 && empty.stderr.contains("empty"))
    }

    @Test("bad input: the error names what was wrong and lists what is valid; exit codes follow `spor help`")
    func badInput() throws {
        let cli = try CLI()
        let notSetUp = try cli.run("new", "T")
        #expect(notSetUp.status == 4)
        #expect(notSetUp.stderr.contains("spor setup --server"))

        let unknownCommand = try cli.run("frobnicate")
        #expect(unknownCommand.status == 2)
        #expect(unknownCommand.stderr.contains("\"frobnicate\"") && unknownCommand.stderr.contains("setup, whoami, new"))

        let server = try ServerProcess()
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try cli.ok("new", "T").trimmingCharacters(in: .whitespacesAndNewlines)
        let unknownProposal = try cli.run("show", "nosuchproposal")
        #expect(unknownProposal.status == 2)
        #expect(unknownProposal.stderr.contains("\"nosuchproposal\"") && unknownProposal.stderr.contains(id))
        let unknownSection = try cli.run("edit", id, "conclusion", "--from", "-", input: "x")
        #expect(unknownSection.status == 2)
        #expect(unknownSection.stderr.contains("\"conclusion\"") && unknownSection.stderr.contains("summary, challenge"))
        let unknownField = try cli.run("set", id, "colour", "green")
        #expect(unknownField.status == 2)
        #expect(unknownField.stderr.contains("\"colour\"") && unknownField.stderr.contains("amountRequested"))
        let badAmount = try cli.run("set", id, "amountRequested", "mange penge")
        #expect(badAmount.status == 2)
        let jsonError = try cli.run("show", "nosuchproposal", "--json")
        let object = try JSONSerialization.jsonObject(with: Data(jsonError.stdout.utf8)) as? [String: Any]
        #expect((object?["error"] as? [String: Any])?["code"] as? String == "unknownProposal")

        let check = try cli.run("check", id)
        #expect(check.status == 1, "an empty proposal is not ready")
        #expect(check.stdout.contains("block submission"))
        let help = try cli.run("help")
        #expect(help.stdout.contains("EXIT CODES"))

        // The server goes away: a clear message, exit 3, the change stays in the outbox.
        try cli.ok("set", id, "risks", "Æ")
        server.kill()
        let unreachable = try cli.run("sync")
        #expect(unreachable.status == 3)
        #expect(unreachable.stderr.contains("cannot reach the server at \(server.address)"))
        #expect(try cli.ok("whoami").contains("outbox:    3 changes"))
    }

    @Test("kill -9 in the middle of writes: the workspace opens and holds every change spor reported saved, and each reaches the server once")
    func killDuringWrites() throws {
        let server = try ServerProcess()
        let cli = try CLI()
        try cli.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try cli.ok("new", "T").trimmingCharacters(in: .whitespacesAndNewlines)
        let seed = getenvString("SPOR_SEED").flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        let attempts = Int(getenvString("SPOR_KILL_ATTEMPTS") ?? "") ?? 24
        var saved: [String] = []
        var killed = 0
        let big = String(repeating: "Klimatilpasning i Ærø og Åbenrå 🌊. ", count: 600)
        // When to kill: at random within a window that follows how long a write takes
        // on this machine right now (it grows after a kill, shrinks after a finished
        // write), so that a busy full run both kills writes and lets some finish.
        let started = ContinuousClock.now
        try cli.ok("set", id, "activities", "kalibrering \(big)")
        let calibration = ContinuousClock.now - started
        var windowMicroseconds = max(120_000.0, Double(calibration.components.attoseconds) / 1e12
                                     + Double(calibration.components.seconds) * 1e6) * 1.5
        for attempt in 0..<attempts {
            let item = "linje-\(attempt)"
            let process = Process()
            process.executableURL = cli.executable
            // Alternate small writes and 20 KB section saves (longer transactions to land in).
            process.arguments = attempt % 2 == 0
                ? ["budget", "add", id, "--item", item, "--amount", "1000", "--source", "own", "--year", "2025"]
                : ["set", id, "activities", "\(item) \(big)"]
            process.environment = ProcessInfo.processInfo.environment.merging(["SPOR_HOME": cli.home, "SPOR_NOW": cli.now]) { $1 }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 0...UInt32(min(windowMicroseconds, 10_000_000)), using: &random))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
                windowMicroseconds *= 1.25
            } else {
                windowMicroseconds *= 0.9
            }
            let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            // Printed only after the commit: reported saved, even if the kill came right after.
            if printed.contains("Added") || printed.contains("Saved") {
                saved.append(item)
            }
        }
        // Opens, and every change reported saved is there.
        let shown = try cli.json("show", id)
        let items = Set(((shown["budget"] as? [[String: Any]]) ?? []).compactMap { $0["item"] as? String })
        let activities = ((shown["sections"] as? [String: String]) ?? [:])["activities"] ?? ""
        for item in saved {
            let index = Int(item.dropFirst("linje-".count)) ?? -1
            if index % 2 == 0 {
                #expect(items.contains(item), "seed \(seed): \(item) was reported saved but is missing")
            }
        }
        if let lastSection = saved.last(where: { (Int($0.dropFirst("linje-".count)) ?? 0) % 2 == 1 }) {
            // The newest saved section text is there unless a later, killed write committed after printing nothing.
            #expect(activities.hasPrefix("linje-"), "seed \(seed)")
            let shownIndex = Int(activities.prefix(while: { $0 != " " }).dropFirst("linje-".count)) ?? -1
            #expect(shownIndex >= Int(lastSection.dropFirst("linje-".count)) ?? 0, "seed \(seed)")
        }
        print("kill -9 during writes: \(attempts) runs, \(killed) killed, \(saved.count) reported saved (replay: SPOR_SEED=\(seed) SPOR_KILL_ATTEMPTS=\(attempts))")
        #expect(killed > 0 && saved.count > 0, "seed \(seed): the run should both kill and finish writes (killed \(killed), saved \(saved.count))")

        // The outbox resends; the server ends up with each change exactly once.
        try cli.ok("sync")
        let whoami = try cli.json("whoami")
        #expect(whoami["outbox"] as? Int == 0)
        let events = try serverEvents(server, id)
        let localEvents = try localEventCount(cli.home, id)
        #expect(events == localEvents, "seed \(seed)")
    }
}

func localEventCount(_ home: String, _ id: String) throws -> Int {
    let workspace = try Workspace(directory: home)
    return try workspace.document(id).eventCount
}
