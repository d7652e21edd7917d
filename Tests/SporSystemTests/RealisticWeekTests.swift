import Foundation
import SporProposal
import SporTestSupport
import Testing

/// Three municipalities/regions write one proposal through a week before the
/// qualification deadline, with the real `spor` and `spor-server` processes: the
/// story the alliance's users live, told day by day through the CLI only.
@Suite("A realistic week: three organisations, one proposal, the real CLI and server", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct RealisticWeekTests {
    /// The round: qualification deadline Monday 1 March 2027 12:00 Copenhagen
    /// (11:00 UTC), approval 5 April, committee meeting 18 May.
    static let round = ["round", "add", "--id", "2027-spring", "--danish-name", "Forår 2027", "--english-name", "Spring 2027",
                        "--qualification-deadline", "2027-03-01 12:00", "--approval-deadline", "2027-04-05 12:00",
                        "--committee-meeting", "2027-05-18"]

    @Test("Aarhus, Odense and Region Midtjylland draft offline, merge, resolve a conflict, submit in time through the server; an observer comments, a member is removed; a late submission is refused; the decision reaches everyone")
    func week() async throws {
        try await onOwnThread { try Self.playWeek() }
    }

    // The scenario runs on its own thread: every step waits for a `spor` process.
    static func playWeek() throws {
        let seed = getenvString("SPOR_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        let server = try ServerProcess(clock: "2027-02-22T08:30:00Z")
        #expect(try server.admin(round).status == 0)
        var aarhus = try SporCLI(), odense = try SporCLI(), midtjylland = try SporCLI(), secretariat = try SporCLI()
        var dgo = try SporCLI(), silkeborg = try SporCLI()
        /// Moves every workspace's clock, and the server's (it judges deadlines), to `time`.
        func day(_ time: String) throws {
            aarhus.now = time
            odense.now = time
            midtjylland.now = time
            secretariat.now = time
            dgo.now = time
            silkeborg.now = time
            try server.restart(clock: time)
        }
        try aarhus.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try odense.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        try midtjylland.setUp(server, "Region Midtjylland", kind: "region", code: "1082")
        try dgo.setUp(server, "KL Midt", kind: "association", code: "kl-midt")
        try silkeborg.setUp(server, "Silkeborg Kommune", kind: "kommune", code: "0740")
        let secretariatToken = try server.admin(["token", "rotate", "klimaalliancens-sekretariat"]).requireSuccess("token rotate")
        try secretariat.ok("setup", "--server", server.address, "--token", String(secretariatToken.split(separator: "\n").last ?? ""))
        func everyone() -> [SporCLI] { [aarhus, odense, midtjylland] }
        func syncAll(_ order: [SporCLI]) throws { for cli in order { try cli.ok("sync") } }
        /// Every organisation syncs twice, each pass in a seeded random order: after
        /// two passes everyone has everything, whatever the order.
        func syncInSomeOrder() throws {
            for _ in 0..<2 { try syncAll(everyone().shuffled(using: &random)) }
        }
        let context = "replay: SPOR_SEED=\(seed)"

        // Monday 22 February: Aarhus starts the proposal and invites its partners.
        try day("2027-02-22T08:30:00Z")
        let id = try aarhus.newProposal("Skybrud og tørke i Østjylland og på Fyn", "--round", "2027-spring")
        try aarhus.ok("participant", "add", id, "--org", "Odense", "--role", "partner", "--contact-name", "Søren Ærø")
        try aarhus.ok("participant", "add", id, "--org", "1082", "--role", "partner", "--hours", "400")
        try aarhus.ok("edit", id, "summary", "--from", "-", input: "Vi samler regnvand fra skybrud og bruger det i tørkeperioder.\n")
        try aarhus.ok("sync")
        #expect(try odense.ok("sync").contains("1 new: \(id)"))
        #expect(try midtjylland.ok("sync").contains("1 new: \(id)"))
        #expect(try midtjylland.json("show", id)["title"] as? String == "Skybrud og tørke i Østjylland og på Fyn")
        // KL Midt follows as an observer (sparring); Silkeborg is invited to look.
        try aarhus.ok("member", "add", id, "kl-midt", "--role", "observer")
        try aarhus.ok("member", "add", id, "Silkeborg")
        try aarhus.ok("sync")
        #expect(try silkeborg.ok("sync").contains("1 new: \(id)"))
        try odense.ok("sync")
        #expect(try odense.ok("member", "list", id).contains("kl-midt (kl-midt) — Observer"))

        // Tuesday: the server is down for maintenance; everyone works offline, on the
        // same section (the summary) and on different ones.
        try day("2027-02-23T09:00:00Z")
        server.kill()
        let append = try editorScript(in: aarhus.home, "append", #"printf 'Vandet lagres i bassiner under p-pladser.\n' >> "$1""#)
        try aarhus.ok("edit", id, "summary", environment: ["EDITOR": append])
        try aarhus.ok("set", id, "challenge", "Skybrud oversvømmer kældre i Aarhus; om sommeren tørrer åerne ud.")
        try aarhus.ok("budget", "add", id, "--item", "Forsøgsbassin ved Brabrand", "--amount", "600.000",
                      "--source", "klimaalliancen", "--year", "2027")
        let prepend = try editorScript(in: odense.home, "prepend",
                                       #"{ printf 'Odense bidrager med erfaringer fra Åens Kvarter. '; cat "$1"; } > "$1.new" && mv "$1.new" "$1""#)
        try odense.ok("edit", id, "summary", environment: ["EDITOR": prepend])
        try odense.ok("set", id, "activities", "Vi bygger et forsøgsanlæg og måler vandstanden hver time.")
        try odense.ok("participant", "add", id, "--name", "SDU Klimalab", "--kind", "knowledgeInstitution", "--role", "observer")
        try odense.ok("budget", "add", id, "--item", "Timer til målinger", "--amount", "250.000", "--source", "own", "--year", "2027")
        try midtjylland.ok("set", id, "climatePlanLink", "Sporet følger regionens klimatilpasningsplan, indsats 4: vand i landskabet.")
        try midtjylland.ok("budget", "add", id, "--item", "Grundvandsmodel", "--amount", "400.000",
                           "--source", "klimaalliancen", "--year", "2027")
        try midtjylland.ok("comment", "add", id, "summary", "--text", "Skal grundvandet nævnes her?", "--quote", "tørkeperioder")
        let offline = try aarhus.run("sync")
        #expect(offline.status == 3 && offline.stderr.contains("cannot reach the server"), "\(offline.stderr)")
        #expect((try aarhus.json("status", id)["outbox"] as? [Any])?.isEmpty == false, "offline changes wait in the outbox")

        // Wednesday: the server is back; they sync in some order and see one proposal.
        try day("2027-02-24T10:00:00Z")
        try server.restart()
        try syncInSomeOrder()
        let merged = try everyone().map { try $0.ok("show", id, "--json") }
        #expect(merged[0] == merged[1] && merged[1] == merged[2], "\(context)")
        let wednesday = try aarhus.json("show", id)
        #expect((wednesday["sections"] as? [String: String])?["summary"] == """
            Odense bidrager med erfaringer fra Åens Kvarter. Vi samler regnvand fra skybrud og bruger det i tørkeperioder.
            Vandet lagres i bassiner under p-pladser.

            """, "both offline edits of the summary kept, \(context)")
        #expect((wednesday["budget"] as? [[String: Any]])?.compactMap { $0["item"] as? String }.sorted()
                == ["Forsøgsbassin ved Brabrand", "Grundvandsmodel", "Timer til målinger"])
        #expect((wednesday["participants"] as? [Any])?.count == 4)
        let blame = try odense.ok("blame", id, "summary")
        #expect(blame.contains("Odense Kommune | Odense bidrager") && blame.contains("Aarhus Kommune | "), "\(blame)")
        // The comment is answered in Aarhus and resolved by the region that asked.
        try aarhus.ok("comment", "reply", id, "1", "--text", "Ja, i aktiviteterne.")
        try syncAll([aarhus, midtjylland])
        let thread = try #require((try midtjylland.json("comment", "list", id)["comments"] as? [[String: Any]])?.first)
        #expect((thread["replies"] as? [[String: Any]])?.first?["text"] as? String == "Ja, i aktiviteterne.")
        try midtjylland.ok("comment", "resolve", id, "1")
        // KL Midt gives sparring: it comments; editing the text is refused before anything is queued.
        #expect(try dgo.ok("sync").contains("1 new: \(id)"))
        let dgoEdit = try dgo.run("set", id, "risks", "KL Midt skriver i forslaget")
        #expect(dgoEdit.status == 1 && dgoEdit.stderr.contains("observer"), "\(dgoEdit.stderr)")
        try dgo.ok("comment", "add", id, "activities", "--text", "Del målingerne med nabokommunerne.")
        try dgo.ok("sync")
        // Silkeborg does not join after all: the lead removes it, and its workspace is told.
        try aarhus.ok("member", "remove", id, "Silkeborg")
        try aarhus.ok("sync")
        #expect(try silkeborg.ok("sync").contains("\(id) is no longer shared with your organisation"), "\(context)")
        #expect(try silkeborg.ok("list").contains("no longer shared with you"))
        try syncAll([aarhus])
        let comments = (try aarhus.json("comment", "list", id)["comments"] as? [[String: Any]]) ?? []
        #expect(comments.contains { $0["author"] as? String == "kl-midt" && $0["text"] as? String == "Del målingerne med nabokommunerne." },
                "\(comments)")

        // Thursday: Aarhus and Odense set the amount requested at the same time.
        try day("2027-02-25T13:00:00Z")
        try aarhus.ok("set", id, "amountRequested", "1.000.000")
        try odense.ok("set", id, "amountRequested", "1.200.000")
        try odense.ok("milestone", "add", id, "--title", "Forsøgsbassin i drift", "--date", "2027-06-01")
        try midtjylland.ok("milestone", "add", id, "--title", "Erfaringer delt med alle kommuner", "--date", "2027-12-01")
        for (cli, section, author) in [(aarhus, "developmentElement", "Aarhus"), (odense, "notKnownSolution", "Odense"),
                                       (midtjylland, "knowledgeSharing", "regionen")] {
            try cli.ok("set", id, section, "Tekst om \(section) fra \(author).")
        }
        try syncInSomeOrder()
        for cli in everyone() {
            #expect(try cli.ok("show", id).contains("conflict in amountRequested"), "\(context)")
            // (Exit 1 for the partners: only the lead submits; the findings are the same.)
            let output = try cli.run("check", id, "--json")
            let check = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            let findings = (check?["findings"] as? [[String: Any]]) ?? []
            #expect(findings.contains { $0["code"] as? String == "fieldConflict" && $0["field"] as? String == "amountRequested" })
        }
        let conflict = try #require((try aarhus.json("conflicts", id)["conflicts"] as? [[String: Any]])?.first)
        let candidates = (conflict["candidates"] as? [[String: Any]]) ?? []
        #expect(Set(candidates.compactMap { $0["value"] as? String }) == ["1000000", "1200000"])
        let agreed = try #require(candidates.first { $0["value"] as? String == "1000000" }?["number"] as? Int)
        try aarhus.ok("conflicts", id, "--resolve", "amountRequested", "--pick", String(agreed))
        try syncInSomeOrder()

        // Friday: the check passes everywhere and Aarhus submits, three days early.
        try day("2027-02-26T14:00:00Z")
        // The rules pass everywhere; `check` also says what `submit` would do for whoever
        // runs it: ready for the lead, "only the lead partner submits" for the partners.
        for cli in everyone() {
            let output = try cli.run("check", id, "--json")
            let check = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
            let errors = ((check["findings"] as? [[String: Any]]) ?? []).filter { $0["severity"] as? String == "error" }
            if cli.home == aarhus.home {
                #expect(output.status == 0 && check["ready"] as? Bool == true, "\(check) \(context)")
            } else {
                #expect(output.status == 1 && errors.compactMap { $0["code"] as? String } == ["notPermitted"], "\(check) \(context)")
            }
            #expect((try cli.json("show", id)["conflicts"] as? [Any])?.isEmpty == true)
        }
        #expect(try odense.run("submit", id).status == 1, "only the lead partner submits")
        let submitted = try aarhus.json("submit", id)
        let hash = try #require((submitted["submission"] as? [String: Any])?["contentHash"] as? String)
        try syncInSomeOrder()
        for cli in everyone() {
            let status = try cli.json("status", id)
            #expect(status["status"] as? String == "submittedForQualification")
            #expect((status["submissions"] as? [[String: Any]])?.first?["contentHash"] as? String == hash)
        }

        // Region Midtjylland's own second proposal is ready only after the deadline
        // (Monday 12:30 Copenhagen): refused, nothing recorded, nothing sent.
        let late = try midtjylland.newProposal("Tørke i Midtjylland", "--round", "2027-spring")
        try fillReadyProposal(midtjylland, late, partners: ["0751", "0461"])
        try midtjylland.ok("sync")
        try day("2027-03-01T11:30:00Z")
        let refused = try midtjylland.run("submit", late)
        #expect(refused.status == 1 && refused.stderr.contains("deadline"), "\(refused.stderr)")
        #expect((try midtjylland.json("status", late)["submissions"] as? [Any])?.isEmpty == true)
        #expect((try midtjylland.json("status", late)["outbox"] as? [Any])?.isEmpty == true, "a refused submission queues nothing")

        // The secretariat qualifies the proposal; Aarhus submits it for approval.
        try day("2027-03-03T09:00:00Z")
        try secretariat.ok("sync")
        try secretariat.ok("decide", id, "qualified", "--note", "Fagligt kvalificeret.")
        try secretariat.ok("sync")
        try day("2027-03-20T09:00:00Z")
        try syncInSomeOrder()
        try aarhus.ok("submit", id, "--step", "approval")
        try aarhus.ok("sync")
        // The committee meets on 18 May; the secretariat records its decision.
        try day("2027-05-18T13:00:00Z")
        try secretariat.ok("sync")
        #expect(try aarhus.run("decide", id, "approved", "--decision", "--note", "selv").status == 1, "members cannot decide")
        try secretariat.ok("decide", id, "approved", "--decision", "--note", "Godkendt af udvalget.", "--granted", "1.000.000")
        try secretariat.ok("sync")
        try syncInSomeOrder()

        for cli in everyone() + [secretariat] {
            #expect(try cli.json("status", id)["status"] as? String == "approved", "\(context)")
        }
        let decision = try #require(try odense.json("show", id)["decision"] as? [String: Any])
        #expect(decision["grantedAmount"] as? Int == 1_000_000)
        let exports = try (everyone() + [secretariat]).map { try $0.ok("export", id, "--format", "html") }
        #expect(Set(exports).count == 1, "the exported HTML is the same in every workspace, \(context)")
        #expect(exports[0].contains("Odense bidrager med erfaringer") && exports[0].contains("Vandet lagres i bassiner"))
        let submittedViews = try everyone().map { try $0.ok("show", id, "--at", "submitted", "--json") }
        #expect(Set(submittedViews).count == 1)
        print("realistic week: proposal \(id), \(context)")
    }

    /// Writes an `$EDITOR` stand-in: a shell script running `body` on the file `$1`.
    static func editorScript(in directory: String, _ name: String, _ body: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent("\(name)-editor.sh")
        try Data("#!/bin/sh\n\(body)\n".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        return path
    }

    /// Fills every field the call requires (three public participants with `cli`'s
    /// organisation as lead, sections, amount, budget, a milestone).
    static func fillReadyProposal(_ cli: SporCLI, _ id: String, partners: [String]) throws {
        for code in partners { try cli.ok("participant", "add", id, "--org", code, "--role", "partner", "--hours", "100") }
        for section in Section.allCases.filter({ $0.isRequired && $0 != .title }).map(\.key) {
            try cli.ok("set", id, section, "Tekst om \(section).")
        }
        try cli.ok("set", id, "amountRequested", "500.000")
        try cli.ok("budget", "add", id, "--item", "Analyse", "--amount", "500.000", "--source", "klimaalliancen", "--year", "2027")
        try cli.ok("milestone", "add", id, "--title", "Start", "--date", "2027-08-01")
        let check = try cli.json("check", id)
        guard check["ready"] as? Bool == true else { throw TestFailure("not ready: \(check)") }
    }
}
