import Foundation
import GRDB
import SporTestSupport
import Testing

/// What a new user does in normal use, through the real `spor` and `spor-server`
/// processes: copying and restoring workspaces, pasting a long section, a round the
/// secretariat mistyped, a municipality added without its code, a partner without an
/// account. None of it may fork a proposal, lose text, or stop a proposal from
/// syncing. (Mistyped `--data` is in `ServerProcessTests.adminCommands`; a second
/// decision, a granted amount above the request and `check` against `submit` are in
/// `CLIProcessTests.process`.)
@Suite("normal use never forks a proposal, loses text or stops sync", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct NormalUseTests {
    static func sections(_ cli: SporCLI, _ id: String) throws -> [String: String] {
        (try cli.json("show", id)["sections"] as? [String: String]) ?? [:]
    }

    /// Aarhus (the lead) and Odense (a partner) set up on `server`, and a proposal
    /// `title` of Aarhus's with Odense a partner — queued, not synced yet.
    static func leadAndPartner(_ server: ServerProcess, title: String) throws -> (lead: SporCLI, partner: SporCLI, id: String) {
        let lead = try SporCLI(), partner = try SporCLI()
        try lead.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try partner.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        let id = try lead.newProposal(title, "--round", "2024-spring")
        try lead.ok("participant", "add", id, "--org", "Odense", "--role", "partner")
        return (lead, partner, id)
    }

    /// A copy of `home` made as `cp -R` makes one: new files.
    static func copyDirectory(_ home: String) throws -> String {
        let target = temporaryTestDirectory("spor-copy")
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: home, toPath: target)
        return target
    }

    /// Restores `backup` into `home` as a backup tool that writes files in place
    /// does: the workspace file keeps its inode, so the workspace cannot tell from
    /// the file that it was restored; only the server's events can show it. SQLite's
    /// shared-memory index is left for SQLite to rebuild.
    static func restoreInPlace(_ backup: String, into home: String) throws {
        let files = FileManager.default
        let saved = Set(try files.contentsOfDirectory(atPath: backup)).filter { !$0.hasSuffix("-shm") }
        for name in try files.contentsOfDirectory(atPath: home) where !saved.contains(name) {
            try files.removeItem(atPath: (home as NSString).appendingPathComponent(name))
        }
        for name in saved {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: (backup as NSString).appendingPathComponent(name)))
            let target = (home as NSString).appendingPathComponent(name)
            if files.fileExists(atPath: target) {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: target))
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: bytes)
                try handle.close()
            } else {
                try bytes.write(to: URL(fileURLWithPath: target))
            }
        }
    }

    @Test("a copied workspace and its original both edit, then an old backup is restored and edits: every word reaches the partners")
    func copiedAndRestoredWorkspaces() throws {
        let server = try ServerProcess()
        let aarhus = try SporCLI(), odense = try SporCLI(), midtjylland = try SporCLI()
        try aarhus.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try odense.setUp(server, "Odense Kommune", kind: "kommune", code: "0461")
        try midtjylland.setUp(server, "Region Midtjylland", kind: "region", code: "1082")
        let id = try aarhus.newProposal("Grønne tage", "--round", "2024-spring")
        try aarhus.ok("participant", "add", id, "--org", "Odense", "--role", "partner")
        try aarhus.ok("participant", "add", id, "--org", "1082", "--role", "partner")
        try aarhus.ok("set", id, "summary", "Tre parter tester grønne tage.")
        try aarhus.ok("sync")
        try odense.ok("sync")
        try midtjylland.ok("sync")
        // The backup the README describes: the workspace directory, copied.
        let backup = try Self.copyDirectory(aarhus.home)

        // A copy on a second computer; both write offline, the copy syncs first.
        let copy = try SporCLI(home: try Self.copyDirectory(aarhus.home))
        try aarhus.ok("set", id, "anchoring", "Forankres i kommunens klimaplan.")
        try copy.ok("set", id, "risks", "Leverandører kan blive forsinket.")
        #expect(try copy.ok("sync").contains("Everything is synced."))
        #expect(try aarhus.ok("sync").contains("Everything is synced."))
        try midtjylland.ok("sync")
        var shown = try Self.sections(midtjylland, id)
        #expect(shown["anchoring"] == "Forankres i kommunens klimaplan.", "the original's text was lost: \(shown)")
        #expect(shown["risks"] == "Leverandører kan blive forsinket.")

        // Later work, synced; then the old backup is restored over the workspace and used.
        try aarhus.ok("set", id, "activities", "Workshops i april.")
        try aarhus.ok("sync")
        try Self.restoreInPlace(backup, into: aarhus.home)
        #expect(try Self.sections(aarhus, id)["activities"] == "", "the backup is from before the later work")
        try aarhus.ok("set", id, "challenge", "Skybrud rammer kældre.")
        let restored = try aarhus.run("sync")
        #expect(restored.status == 0, "\(restored.stdout)\n\(restored.stderr)")
        #expect(restored.stdout.contains("restored backup") && restored.stdout.contains("Everything is synced."), "\(restored.stdout)")

        for cli in [odense, midtjylland, copy, aarhus] { try cli.ok("sync") }
        let everyone = try [aarhus, odense, midtjylland, copy].map { try $0.ok("show", id, "--json") }
        #expect(Set(everyone).count == 1, "the four workspaces show different proposals")
        shown = try Self.sections(odense, id)
        #expect(shown["summary"] == "Tre parter tester grønne tage.")
        #expect(shown["anchoring"] == "Forankres i kommunens klimaplan.")
        #expect(shown["risks"] == "Leverandører kan blive forsinket.")
        #expect(shown["activities"] == "Workshops i april.", "the work synced before the restore was lost")
        #expect(shown["challenge"] == "Skybrud rammer kældre.", "the restored workspace's text was lost")
        // And the restored workspace keeps syncing as any other.
        try aarhus.ok("set", id, "expectedResults", "Færre oversvømmede kældre.")
        #expect(try aarhus.ok("sync").contains("Everything is synced."))
        try odense.ok("sync")
        #expect(try Self.sections(odense, id)["expectedResults"] == "Færre oversvømmede kældre.")
    }

    @Test("a 200 KB section pasted at once syncs whole, and the changes after it are not held back")
    func longSectionSyncs() throws {
        let server = try ServerProcess()
        let (lead, partner, id) = try Self.leadAndPartner(server, title: "Lang risikoanalyse")
        try lead.ok("sync")
        try partner.ok("sync")

        var text = ""
        var line = 0
        while text.utf8.count < 200_000 {
            line += 1
            text += "Afsnit \(line): risikoen for skybrud i Å-dalen stiger, og kældre i Ærøskøbing oversvømmes.\n"
        }
        let file = (lead.home as NSString).appendingPathComponent("risici.txt")
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        #expect(try lead.ok("edit", id, "risks", "--from", file).contains("Saved Risks."))
        try lead.ok("set", id, "summary", "Efter den lange tekst.")
        let sync = try lead.run("sync")
        #expect(sync.status == 0 && sync.stdout.contains("Everything is synced."), "\(sync.stdout)\n\(sync.stderr)")
        try partner.ok("sync")
        let shown = try Self.sections(partner, id)
        #expect(shown["risks"] == text, "the partner has \(shown["risks"]?.count ?? 0) of \(text.count) characters")
        #expect(shown["summary"] == "Efter den lange tekst.")
    }

    @Test("a stored round no client can read is left out: every workspace syncs, round list names it, round remove takes it away")
    func unreadableRoundStored() throws {
        let server = try ServerProcess()
        #expect(try server.admin(["round", "add", "--id", "2028-spring", "--danish-name", "Forår 2028", "--english-name", "Spring 2028",
                                  "--qualification-deadline", "2028-03-01 12:00", "--approval-deadline", "2028-04-03 12:00",
                                  "--committee-meeting", "2028-05-16"]).status == 0)
        // What an older server accepted: an id clients cannot read, and a date that does not exist.
        let database = try DatabaseQueue(path: (server.directory as NSString).appendingPathComponent("spor.sqlite"))
        try database.write { db in
            try db.execute(sql: "INSERT INTO round (id, json) VALUES (?, ?)", arguments: ["forår 2028!", """
                {"id":"forår 2028!","danishName":"Forår 2028","englishName":"Spring 2028","qualificationDeadline":"2028-03-06 12:00",\
                "approvalDeadline":"2028-04-10 12:00","committeeMeeting":"2028-05-23"}
                """])
            try db.execute(sql: "INSERT INTO round (id, json) VALUES (?, ?)", arguments: ["2028-autumn", """
                {"id":"2028-autumn","danishName":"Efterår 2028","englishName":"Autumn 2028","qualificationDeadline":"2028-09-31 12:00",\
                "approvalDeadline":"2028-10-09 12:00","committeeMeeting":"2028-11-21"}
                """])
        }
        try database.close()

        var lead = try SporCLI()
        lead.now = "2027-12-01T12:00:00Z"
        try lead.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let id = try lead.newProposal("Skybrud", "--round", "2028-spring")
        let sync = try lead.run("sync")
        #expect(sync.status == 0 && sync.stdout.contains("Everything is synced."), "\(sync.stdout)\n\(sync.stderr)")
        let rounds = try lead.ok("rounds")
        #expect(rounds.contains("2028-spring") && !rounds.contains("forår") && !rounds.contains("2028-autumn"), "\(rounds)")
        #expect(try lead.json("show", id)["round"] as? String == "2028-spring")

        let listed = try server.admin(["round", "list"])
        #expect(listed.status == 0 && listed.stdout.contains("2028-spring"), "\(listed.stdout)\n\(listed.stderr)")
        #expect(listed.stderr.contains("round forår 2028! cannot be read") && listed.stderr.contains("round 2028-autumn cannot be read"),
                "\(listed.stderr)")
        // A round can still be added beside them, and each bad one removed.
        #expect(try server.admin(["round", "add", "--id", "2029-spring", "--danish-name", "Forår 2029", "--english-name", "Spring 2029",
                                  "--qualification-deadline", "2029-03-05 12:00", "--approval-deadline", "2029-04-09 12:00",
                                  "--committee-meeting", "2029-05-22"]).status == 0)
        #expect(try server.admin(["round", "remove", "--id", "forår 2028!"]).status == 0)
        #expect(try server.admin(["round", "remove", "--id", "2028-autumn"]).status == 0)
        let after = try server.admin(["round", "list"])
        #expect(after.stderr.isEmpty && after.stdout.contains("2029-spring"), "\(after.stderr)")
        try lead.ok("sync")
        #expect(try lead.ok("rounds").contains("2029-spring"))
    }

    @Test("a municipality added without --code gets its official code: naming it as a participant gives it the proposal")
    func municipalityWithoutCode() throws {
        let server = try ServerProcess()
        let lead = try SporCLI(), vejle = try SporCLI()
        try lead.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        try vejle.ok("setup", "--server", server.address, "--token", try server.addOrganisation("Vejle Kommune", kind: "kommune"))
        #expect(try vejle.ok("whoami").contains("Vejle Kommune (0630"))
        let id = try lead.newProposal("Kystsikring", "--round", "2024-spring")
        try lead.ok("participant", "add", id, "--org", "Vejle", "--role", "partner")
        try lead.ok("sync")
        #expect(try vejle.ok("sync").contains("1 new: \(id)"))
        #expect(try vejle.json("show", id)["title"] as? String == "Kystsikring")
    }

    @Test("the outbox tells the truth: a partner without an account waits for nothing; list and status count the same changes")
    func outboxCounts() throws {
        let server = try ServerProcess()
        let (lead, partner, id) = try Self.leadAndPartner(server, title: "Klimatilpasning")
        // Region Syddanmark has no account on this server yet.
        try lead.ok("participant", "add", id, "--org", "Region Syddanmark", "--role", "partner")
        let sync = try lead.ok("sync")
        #expect(sync.contains("Everything is synced."), "\(sync)")
        #expect(try lead.ok("status", id).contains("Synced: nothing waits in the outbox."))
        #expect(!(try lead.ok("list")).contains("waiting"))
        try partner.ok("sync")
        let participants = (try partner.json("show", id)["participants"] as? [[String: Any]]) ?? []
        #expect(participants.contains { ($0["organisation"] as? [String: Any])?["code"] as? String == "1083" }, "\(participants)")

        // Offline: what waits is counted once, the same everywhere.
        try lead.ok("set", id, "risks", "Tørke.")
        try lead.ok("set", id, "challenge", "Skybrud.")
        try lead.ok("member", "role", id, "Odense", "observer")
        let waiting = (try lead.json("status", id)["outbox"] as? [Any])?.count ?? -1
        #expect(try lead.ok("list").contains("(\(waiting) waiting to sync)"), "list and status disagree")
        #expect(try lead.ok("status", id).contains("\(waiting) changes wait to sync:"))
        #expect(waiting == 3)
        let second = try lead.ok("sync")
        #expect(second.contains("Everything is synced."), "\(second)")
    }
}
