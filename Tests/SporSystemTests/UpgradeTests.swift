import Foundation
import GRDB
import SporClient
import SporCRDT
import SporProposal
import SporTestSupport
import Testing

/// A server data directory and a workspace written by the previous main (protocol 1,
/// `Tests/Fixtures/README.md`) open, migrate in place and keep working.
@Suite("Upgrading from protocol 1", .blockingCallsAllowed)
struct UpgradeTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    /// Aarhus's token in the fixture (test data; `Tests/Fixtures/README.md`).
    static let aarhusToken = "spor__E5n8zruBOrt9MJ_dK9CWvR33Ed0ZtNo__elQI6_56I"
    static let synced = "vxg6kh3rr4", unsynced = "3ygw5d9bwd"

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
        let (migrations, roles, oldTable, spans) = try await database.read { db in
            (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"),
             try Row.fetchAll(db, sql: "SELECT organisation, role FROM membership ORDER BY organisation").map { "\($0["organisation"] as String):\($0["role"] as String)" },
             try db.tableExists("member"),
             try Row.fetchAll(db, sql: "SELECT agent, startSeq, endSeq FROM agentSpan WHERE documentID = ? ORDER BY agent, startSeq",
                              arguments: [Self.synced]).map { ($0["agent"] as String, ($0["startSeq"] as Int)..<($0["endSeq"] as Int)) })
        }
        try database.close()
        #expect(migrations == ["v1", "v2-membership-roles", "v3-agent-spans"])
        // v3 wrote the spans of every stored event, each agent's from 0 without gaps:
        // what the server compares a repeated event with.
        let covered = Dictionary(grouping: spans, by: \.0).mapValues { $0.map(\.1) }
        for (agent, count) in state.agents {
            let seqs = covered[agent] ?? []
            #expect(seqs.first?.lowerBound == 0 && seqs.last?.upperBound == count
                    && zip(seqs, seqs.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(agent): \(seqs) of \(count)")
        }
        #expect(Set(covered.keys) == Set(state.agents.keys))
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
}
