import Foundation
import SporTestSupport
import SporWire
import Testing

/// The server operator's day, through the real `spor-server` and `spor`: a backup
/// taken while the server serves, a new data directory restored from it and served,
/// the audit of admin actions, and `--version`.
@Suite("backup, restore and audit", .blockingCallsAllowed, .timeLimit(.minutes(5)))
struct BackupAndAuditTests {
    static func mode(_ path: String) throws -> Int? {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
    }

    @Test("a backup of a serving server restores into a new directory that serves what was committed before it; nothing is overwritten; bad files are refused")
    func backupAndRestore() throws {
        let server = try ServerProcess()
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        let aarhus = try SporCLI()
        try aarhus.ok("setup", "--server", server.address, "--token", token)
        let id = try aarhus.newProposal("Skybrud i Aarhus", "--round", "2024-autumn")
        try aarhus.ok("set", id, "resumé", "Skrevet før backuppen.")
        try aarhus.ok("sync")

        let backups = temporaryTestDirectory()
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        let file = (backups as NSString).appendingPathComponent("spor-2024-10-01.sqlite")
        let backup = try server.admin(["backup", file, "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(backup.stdout.utf8)) as? [String: Any])
        #expect(summary["documents"] as? Int == 1)
        #expect(summary["organisations"] as? Int == 2, "the secretariat and Aarhus")
        #expect(try Self.mode(file) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: backups) == ["spor-2024-10-01.sqlite"], "no partial file left")
        let again = try server.admin(["backup", file])
        #expect(again.status == 1 && again.stderr.contains("exists"), "an existing file is never replaced: \(again.stderr)")

        // After the backup: not in it.
        try aarhus.ok("set", id, "resumé", "Skrevet efter backuppen.")
        try aarhus.ok("sync")

        let restored = temporaryTestDirectory()
        let restore = try runProcess(server.executable, ["restore", file, "--data", restored])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try Self.mode((restored as NSString).appendingPathComponent("spor.sqlite")) == 0o600)
        let overwrite = try runProcess(server.executable, ["restore", file, "--data", restored])
        #expect(overwrite.status == 1 && overwrite.stderr.contains("already has a store"), "\(overwrite.stderr)")
        let notABackup = (backups as NSString).appendingPathComponent("notes.txt")
        try Data("ikke en database".utf8).write(to: URL(fileURLWithPath: notABackup))
        let refused = try runProcess(server.executable, ["restore", notABackup, "--data", temporaryTestDirectory()])
        #expect(refused.status == 1 && refused.stderr.contains("not a Spor backup"), "\(refused.stderr)")

        // The restored directory serves the proposal as it was at the backup, to the same token.
        let second = try ServerProcess(directory: restored)
        let reader = try SporCLI()
        try reader.ok("setup", "--server", second.address, "--token", token)
        try reader.ok("sync")
        let shown = try reader.json("show", id)
        let sections = try #require(shown["sections"] as? [String: Any])
        #expect(sections["summary"] as? String == "Skrevet før backuppen.")
    }

    @Test("the audit lists admin actions oldest first, by who did them; --version names the release")
    func auditAndVersion() throws {
        let server = try ServerProcess()
        _ = try server.addOrganisation("Odense Kommune", kind: "kommune", code: "0461")
        #expect(try server.admin(["org", "revoke", "0461"]).status == 0)
        #expect(try server.admin(["token", "rotate", "0461"]).status == 0)
        let refused = try server.admin(["org", "revoke", "9999"])
        #expect(refused.status != 0, "an unknown organisation is refused")

        let audit = try server.admin(["audit", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["action"] as? String } == ["organisation.add", "organisation.add", "token.revoke", "token.rotate"],
                "a refused command leaves no entry: \(entries)")
        #expect(entries.first?["actor"] as? String == "spor-server (first start)")
        let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        #expect(entries.dropFirst().allSatisfy { $0["actor"] as? String == "local admin (\(user))" }, "\(entries)")
        #expect(entries.dropFirst().map { $0["subject"] as? String } == ["0461", "0461", "0461"])
        #expect(entries.last?["detail"] as? String == "reinstated")
        let text = try server.admin(["audit", "--limit", "1"])
        #expect(text.stdout.split(separator: "\n").count == 1 && text.stdout.contains("token.rotate\t0461\treinstated"), "\(text.stdout)")

        let version = try runProcess(server.executable, ["--version"])
        #expect(version.status == 0 && version.stdout == SporRelease.version + "\n", "\(version.stdout)")
    }
}
