import Foundation
import GRDB
import SporClient
import SporCRDT
import SporProposal
import SporTestSupport
import SporWire
import SporWireClient
import Testing

/// Server data directories and workspaces written by earlier mains (protocol 1, and
/// protocol 2 before event digests; `Tests/Fixtures/README.md`) open, migrate in
/// place and keep working.
@Suite("Upgrading from earlier versions", .blockingCallsAllowed)
struct UpgradeTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    /// Aarhus's token in the fixture (test data; `Tests/Fixtures/README.md`).
    static let aarhusToken = "spor__E5n8zruBOrt9MJ_dK9CWvR33Ed0ZtNo__elQI6_56I"
    static let synced = "vxg6kh3rr4", unsynced = "3ygw5d9bwd"
    /// The protocol 2 fixture: Aarhus's token and the shared proposal.
    static let v2AarhusToken = "spor_ing_glMiRF8SwQDceapBR-YZhDWswhCK1JIWmxG9Lng"
    static let v2Proposal = "0751.isyakmt4sp"
    /// The fixture of the main before the audit log (protocol 3): Aarhus's token, the proposal.
    static let v3AarhusToken = "spor_N0ugrZP1sLQ6JLjaXy6OwdzuT05q75tPHMep0_vocSE"
    static let v3Proposal = "0751.7pzvhdvjnn"
    /// The fixture of the main before checkpoints (protocol 3, 28 batches): Odense's token, the proposal.
    static let v4OdenseToken = "spor_kaThzROkANrP-mYD7tUErr7XNucPmjcr__ezR19ALHs"
    static let v4Proposal = "0751.m2g2zzjcu4"

    /// Per agent of `document`, the spans migration v3 (and later pushes) recorded.
    static func agentSpans(_ database: DatabaseQueue, _ document: String) throws -> [String: [Range<Int>]] {
        let spans = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT agent, startSeq, endSeq FROM agentSpan WHERE documentID = ? ORDER BY agent, startSeq",
                             arguments: [document]).map { ($0["agent"] as String, ($0["startSeq"] as Int)..<($0["endSeq"] as Int)) }
        }
        return Dictionary(grouping: spans, by: \.0).mapValues { $0.map(\.1) }
    }

    /// Every stored event of every agent is in exactly one span, from 0 without gaps:
    /// what the server compares a repeated event with.
    static func expectSpansCover(_ covered: [String: [Range<Int>]], _ agents: [String: Int]) {
        for (agent, count) in agents {
            let seqs = covered[agent] ?? []
            #expect(seqs.first?.lowerBound == 0 && seqs.last?.upperBound == count
                    && zip(seqs, seqs.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(agent): \(seqs) of \(count)")
        }
        #expect(Set(covered.keys) == Set(agents.keys))
    }

    static func copy(_ fixture: String) throws -> String {
        let target = temporaryTestDirectory("spor-upgrade")
        for file in try FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(fixture).path) {
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(fixture).appendingPathComponent(file).path,
                                             toPath: (target as NSString).appendingPathComponent(file))
        }
        return target
    }

    @Test("a protocol 1 server and workspace: data kept, members migrated with roles, the old proposal id renamed, sync works")
    func upgrade() async throws {
        let serverDirectory = try Self.copy("v1-server")
        let server = try ServerProcess(directory: serverDirectory, clock: "2027-03-01T08:00:00Z")

        // The server writes the members into the old document when it starts.
        var state = try serverState(server, Self.synced)
        for _ in 0..<100 where state.agents[serverAgentName] == nil {
            try await Task.sleep(for: .milliseconds(100))
            state = try serverState(server, Self.synced)
        }
        #expect(state.agents[serverAgentName] == 2, "the server's events: one per member in the members map")
        let database = try DatabaseQueue(path: (serverDirectory as NSString).appendingPathComponent("spor.sqlite"))
        let (migrations, roles, oldTable) = try await database.read { db in
            (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"),
             try Row.fetchAll(db, sql: "SELECT organisation, role FROM membership ORDER BY organisation").map { "\($0["organisation"] as String):\($0["role"] as String)" },
             try db.tableExists("member"))
        }
        let spans = try Self.agentSpans(database, Self.synced)
        try database.close()
        #expect(migrations == ["v1", "v2-membership-roles", "v3-agent-spans", "v4-audit", "v5-webhooks", "v6-checkpoints"])
        Self.expectSpansCover(spans, state.agents)
        #expect(roles == ["0461:partner", "0751:lead"], "the creator leads, the other member is a partner")
        #expect(!oldTable)

        // The workspace: its outbox read as before (the old add-member entry as a partner).
        let workspace = try Workspace(directory: try Self.copy("v1-workspace-aarhus"))
        let outbox = try workspace.outbox()
        #expect(outbox.map(\.document) == [Self.synced, Self.unsynced, Self.unsynced])
        #expect(outbox.first?.kind == .member(.add("1082", .partner)))
        try redirect(workspace, to: server.address, token: Self.aarhusToken)
        let report = try await SyncEngine(workspace: workspace).sync()
        #expect(report.refusals.isEmpty, "\(report.refusals)")
        #expect(try workspace.outbox().isEmpty)
        let renamed = try #require(report.renamed.first)
        #expect(renamed.from == Self.unsynced && renamed.to.hasPrefix("0751."), "\(report.renamed)")
        #expect(report.createdOnServer == [renamed.to])
        #expect(report.membershipChanges.map(\.organisation) == ["1082"])
        #expect(try workspace.proposals().map(\.id).sorted() == [renamed.to, Self.synced].sorted())
        #expect(try workspace.proposal(renamed.to).content().title == "Offline kladde")

        // The old proposal reads as it did, with the server's members and authorship from the events.
        let content = try workspace.proposal(Self.synced).content()
        #expect(content.title == "Skybrud i midtbyen")
        #expect(content.amountRequested == 1_500_000)
        #expect(content.text(.challenge).hasPrefix("Skybrud oversvømmer kældre"))
        #expect(content.members.map { "\($0.organisation):\($0.role.rawValue)" } == ["0751:lead", "0461:partner", "1082:partner"])
        #expect(content.lead == "0751")
        #expect(content.comments.map(\.author) == ["0751"])
        #expect(try workspace.proposal(Self.synced).attribution(of: .risks).map(\.organisation) == ["0461"])

        // The server judges a step on the upgraded data: the draft does not meet the rules yet.
        var version: [String: Int] = [:]
        let vector = try workspace.document(Self.synced).versionVector
        for agent in vector.agents { version[agent.name] = vector[agent] }
        try workspace.queueStep(StepRequest(kind: .submitForQualification, version: version), of: Self.synced)
        let judged = try await SyncEngine(workspace: workspace).sync()
        #expect(judged.recordedSteps.isEmpty)
        #expect(judged.refusals.first?.message.contains("requirement") == true, "\(judged.refusals)")
        #expect(try workspace.outbox().isEmpty, "a judged request leaves the outbox")
    }

    @Test("a protocol 2 server and workspace from before event digests: spans written for the stored events, a forged repeat refused, the unsynced edit syncs")
    func upgradeFromProtocol2() async throws {
        let serverDirectory = try Self.copy("v2-server")
        let server = try ServerProcess(directory: serverDirectory, clock: "2027-02-02T08:00:00Z")
        let state = try serverState(server, Self.v2Proposal)
        let database = try DatabaseQueue(path: (serverDirectory as NSString).appendingPathComponent("spor.sqlite"))
        let migrations = try await database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        #expect(migrations == ["v1", "v2-membership-roles", "v3-agent-spans", "v4-audit", "v5-webhooks", "v6-checkpoints"])
        Self.expectSpansCover(try Self.agentSpans(database, Self.v2Proposal), state.agents)
        try database.close()

        let workspace = try Workspace(directory: try Self.copy("v2-workspace-aarhus"))
        let agent = try workspace.identity().agent
        #expect(state.agents[agent.name] != nil, "the workspace's agent wrote stored events")
        let outbox = try workspace.outbox()
        #expect(outbox.count == 1 && outbox.allSatisfy { if case .push = $0.kind { $0.document == Self.v2Proposal } else { false } })

        // Other content under ids stored before the upgrade: refused, by the spans the migration wrote.
        let connection = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
        try await connection.send(.hello(.init(token: Self.v2AarhusToken, client: "upgrade-test")))
        var forged = Document(agent: agent)
        try forged.insert("Forfalsket", at: 0)
        try await connection.send(.push(request: 1, document: Self.v2Proposal, changes: try forged.encodedChanges()))
        var answer: SporMessage?
        for try await message in connection.messages {
            if case let .error(report) = message, report.request == 1 { answer = message; break }
            if case .pushAck(1, _, _, _) = message { answer = message; break }
        }
        await connection.close()
        guard case let .error(report)? = answer else {
            Issue.record("a forged repeat of stored events was not refused: \(String(describing: answer))")
            return
        }
        #expect(report.knownCode == .historyDiverged, "\(report)")
        #expect(try serverState(server, Self.v2Proposal).events == state.events, "nothing stored")

        // The workspace's edit made on the old version syncs, with nothing to repair.
        try redirect(workspace, to: server.address, token: Self.v2AarhusToken)
        let synced = try await SyncEngine(workspace: workspace).sync()
        #expect(synced.refusals.isEmpty && synced.forks.isEmpty, "\(synced.refusals) \(synced.forks)")
        #expect(try workspace.outbox().isEmpty)
        let content = try workspace.proposal(Self.v2Proposal).content()
        #expect(content.title == "Grønne tage i Aarhus og Odense")
        #expect(content.amountRequested == 1_750_000)
        #expect(content.text(.summary) == "Grønne tage på skoler i Aarhus og Odense.")
        #expect(content.text(.risks) == "Leverandører kan blive forsinket.")
        #expect(content.text(.anchoring) == "Forankres i begge kommuners klimaplaner.")
        #expect(content.comments.map(\.author) == ["0461"])
        #expect(content.members.map { "\($0.organisation):\($0.role.rawValue)" } == ["0751:lead", "0461:partner"])
        #expect(try serverState(server, Self.v2Proposal).events == (try workspace.document(Self.v2Proposal).eventCount))
        // The workspace migrated in place to keep the server's stored times (protocol 3):
        // the edit it pushed has the upgraded server's time of storing it.
        let lastEdit = EventID(agent: agent, seq: try workspace.document(Self.v2Proposal).versionVector[agent] - 1)
        let stored = try #require(try workspace.storedTimes(of: Self.v2Proposal, for: [lastEdit])[lastEdit])
        let serverStart = try Date("2027-02-02T08:00:00Z", strategy: .iso8601)
        #expect(stored >= serverStart && stored < serverStart.addingTimeInterval(600), "\(stored)")
    }

    @Test("a server data directory from before the audit log: migrated in place, the proposal and its named version served, new admin actions audited")
    func upgradeFromBeforeAudit() throws {
        let serverDirectory = try Self.copy("v3-server")
        let server = try ServerProcess(directory: serverDirectory, clock: "2027-03-02T08:00:00Z")
        let database = try DatabaseQueue(path: (serverDirectory as NSString).appendingPathComponent("spor.sqlite"))
        let migrations = try database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        #expect(migrations == ["v1", "v2-membership-roles", "v3-agent-spans", "v4-audit", "v5-webhooks", "v6-checkpoints"])
        try database.close()
        let before = try server.admin(["audit", "--json"])
        #expect(before.status == 0, "\(before.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [Any])?.isEmpty == true, "no entries yet: \(before.stdout)")

        var aarhus = try SporCLI()
        aarhus.now = "2027-03-02T08:00:00Z"
        try aarhus.ok("setup", "--server", server.address, "--token", Self.v3AarhusToken)
        try aarhus.ok("sync")
        let shown = try aarhus.json("show", Self.v3Proposal)
        #expect(shown["title"] as? String == "Skybrud i Aarhus og Odense")
        #expect(shown["amountRequested"] as? Int == 1_200_000)
        #expect((shown["sections"] as? [String: Any])?["summary"] as? String == "Aarhus og Odense tester grønne tage.")
        #expect((shown["members"] as? [[String: Any]])?.compactMap { $0["organisation"] as? String } == ["0751", "0461"])
        let log = try aarhus.json("log", Self.v3Proposal)
        #expect((log["names"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["til styregruppen"])

        _ = try server.addOrganisation("Vejle Kommune", kind: "kommune")
        let after = try server.admin(["audit", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [[String: Any]])
        #expect(entries.map { "\($0["action"] ?? "")/\($0["subject"] ?? "")" } == ["organisation.add/0630"])
    }

    @Test("a server data directory from before checkpoints: migrated in place; a fresh workspace's first sync starts from the checkpoint it makes, every save with the time its batch was stored")
    func upgradeFromBeforeCheckpoints() async throws {
        let serverDirectory = try Self.copy("v4-server")
        let database = try DatabaseQueue(path: (serverDirectory as NSString).appendingPathComponent("spor.sqlite"))
        // When the server stored each event, from the batch table the fixture came with.
        let stored = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT ranges, storedAt FROM batch WHERE documentID = ? ORDER BY id", arguments: [Self.v4Proposal])
                .map { row -> (String, Date) in (row["ranges"], row["storedAt"]) }
        }
        #expect(stored.count == 28)
        func storedAt(_ agent: String, _ seq: Int) -> Date? {
            stored.compactMap { ranges, date -> Date? in
                ranges.split(separator: "\n").contains { line in
                    let fields = line.split(separator: "\t").map(String.init)
                    return fields.count == 3 && fields[0] == agent && (Int(fields[1]) ?? .max) <= seq && seq < (Int(fields[2]) ?? 0)
                } ? date : nil
            }.min()
        }
        let server = try ServerProcess(directory: serverDirectory, clock: "2027-04-02T08:00:00Z")
        var odense = try SporCLI()
        odense.now = "2027-04-02T08:00:00Z"
        try odense.ok("setup", "--server", server.address, "--token", Self.v4OdenseToken)
        try odense.ok("sync")
        let migrations = try await database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        #expect(migrations.last == "v6-checkpoints")
        let checkpoint = try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT throughBatch FROM checkpoint WHERE documentID = ?", arguments: [Self.v4Proposal])
        }
        #expect(checkpoint != nil, "the first sync from nothing made the checkpoint")
        try database.close()

        let shown = try odense.json("show", Self.v4Proposal)
        let sections = shown["sections"] as? [String: Any]
        #expect(sections?["summary"] as? String == "Aarhus, udkast 12: regnvand ledes til grønne områder.")
        #expect(sections?["risks"] as? String == "Odense, udkast 12: risikoen er tørke om sommeren.")
        let saves = try #require(try odense.json("log", Self.v4Proposal)["saves"] as? [[String: Any]])
        let byOrganisation = Dictionary(grouping: saves.compactMap { $0["organisation"] as? String }, by: { $0 }).mapValues(\.count)
        #expect((byOrganisation["0751"] ?? 0) >= 12 && (byOrganisation["0461"] ?? 0) >= 12, "\(byOrganisation)")
        let iso = ISO8601DateFormatter()
        for save in saves {
            let head = try #require((save["heads"] as? [String])?.first)
            let parts = head.split(separator: "@")
            guard parts.count == 2, let seq = Int(parts[1]), let received = (save["receivedAt"] as? String).flatMap(iso.date) else {
                Issue.record("a save without its head or server time: \(save)")
                continue
            }
            let expected = try #require(storedAt(String(parts[0]), seq), "no stored batch holds \(head)")
            #expect(received == Date(timeIntervalSince1970: expected.timeIntervalSince1970.rounded(.down)), "\(head)")
        }
    }
}
