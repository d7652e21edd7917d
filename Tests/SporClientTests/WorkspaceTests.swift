import Foundation
import GRDB
import SporCRDT
import SporProposal
import SporTestSupport
import SporWire
import Testing
@testable import SporClient

/// A workspace set up offline for `organisation` (no server needed).
func offlineWorkspace(_ directory: String = temporaryDirectory(), organisation: String = "0751",
                      name: String = "Aarhus Kommune", kind: String = "kommune") throws -> Workspace {
    let workspace = try Workspace(directory: directory)
    _ = try workspace.configure(server: ServerSettings(host: "127.0.0.1", port: 9, token: "spor_test"), organisation: organisation,
                                organisationName: name, organisationKind: kind, agentPrefix: "\(organisation)/")
    return workspace
}

let february2024 = Date(timeIntervalSince1970: 1_706_788_800) // 2024-02-01 12:00 UTC, round 2024-spring open

@Suite("Workspace: the local replica", .blockingCallsAllowed)
struct WorkspaceTests {
    @Test("a workspace in a directory that existed, readable by others, with an old readable WAL: all made owner-only at open")
    func ownerOnlyFiles() throws {
        let directory = temporaryDirectory()
        do {
            let workspace = try offlineWorkspace(directory)
            _ = try workspace.createProposal(title: "Skybrud", roundID: "2024-spring", now: february2024)
        }
        let path = (directory as NSString).appendingPathComponent("workspace.sqlite")
        // As an earlier version left them (the WAL was created before the chmod).
        chmod(directory, 0o755)
        chmod(path + "-wal", 0o644)
        _ = try Workspace(directory: directory)
        func mode(_ path: String) throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }
        #expect(try mode(directory) == 0o700)
        #expect(try mode(path) == 0o600)
        #expect(try mode(path + "-wal") == 0o600)
    }

    @Test("rounds from the server: one the workspace cannot read is left out and named, the others kept")
    func unreadableServerRound() async throws {
        let workspace = try offlineWorkspace()
        func entry(_ id: String, qualification: String) -> SporMessage.RoundEntry {
            SporMessage.RoundEntry(id: id, danishName: "Runde \(id)", englishName: "Round \(id)", opens: "",
                                   qualificationDeadline: qualification, approvalDeadline: "2028-04-03 12:00", committeeMeeting: "2028-05-16")
        }
        let skipped = try await workspace.storeServerRounds([
            entry("2028-spring", qualification: "2028-03-01 12:00"),
            entry("2028-bad", qualification: "2028-02-30 12:00"),
            entry("2028-spring", qualification: "2028-03-02 12:00"),
        ])
        #expect(skipped.count == 2, "\(skipped)")
        #expect(skipped.first?.hasPrefix("round 2028-bad (Round 2028-bad): ") == true, "\(skipped)")
        let rounds = try workspace.roundCalendar().rounds.filter { $0.id.hasPrefix("2028") }
        #expect(rounds.map(\.id) == ["2028-spring"])
        #expect(rounds.first?.qualificationDeadline.description == "2028-03-01T12:00", "the first of two with one id is kept")
    }

    @Test("a change is durable when the call returns: a new process (a new Workspace) sees it, outbox included")
    func durableChanges() throws {
        let directory = temporaryDirectory()
        let id: String
        do {
            let workspace = try offlineWorkspace(directory)
            id = try workspace.createProposal(title: "Skybrud på tværs", roundID: "2024-spring", now: february2024)
            try workspace.change(id) { try $0.setSection(.summary, to: "Æblegrød med fløde 🍏 og ål") }
        }
        let reopened = try Workspace(directory: directory)
        // It holds the organisation's token: readable by its owner only.
        func mode(_ path: String) throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }
        #expect(try mode(reopened.path) == 0o600)
        #expect(try mode(reopened.path + "-wal") == 0o600, "the WAL holds the token too")
        #expect(try mode(directory) == 0o700)
        let content = try reopened.proposal(id).content()
        #expect(content.title == "Skybrud på tværs")
        #expect(content.text(.summary) == "Æblegrød med fløde 🍏 og ål")
        let outbox = try reopened.outbox()
        #expect(outbox.map(\.kind.name) == ["create", "push", "push"])
        #expect(outbox.allSatisfy { $0.document == id })
        // The outbox's batches rebuild the document exactly: they are what the server gets.
        var rebuilt = Document()
        for case let .push(changes, _) in outbox.map(\.kind) { _ = try rebuilt.merge(encodedChanges: changes) }
        #expect(rebuilt.text(ProposalSchema.text(of: .summary)) == "Æblegrød med fløde 🍏 og ål")
        #expect(rebuilt.eventCount == (try reopened.document(id).eventCount))
    }

    @Test("every commit fsyncs the WAL (synchronous = FULL on the connection that writes), so a saved edit survives a power cut")
    func commitsAreSynchronous() throws {
        let workspace = try offlineWorkspace()
        // GRDB sets NORMAL when it switches a connection to WAL; what counts is the
        // setting in force on the connection that commits.
        let level = try workspace.database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(level == 2, "PRAGMA synchronous is \(level.map(String.init) ?? "nil"); 2 is FULL")
    }

    @Test("a refused edit writes nothing: same document bytes, same outbox")
    func refusedEditWritesNothing() throws {
        let workspace = try offlineWorkspace()
        let id = try workspace.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        let before = try workspace.document(id).encoded()
        let outboxBefore = try workspace.outbox()
        #expect(throws: ProposalError.self) {
            try workspace.change(id) { proposal in
                try proposal.setSection(.summary, to: "this part would be written first")
                try proposal.set("amountRequested", to: "minus fem")
            }
        }
        #expect(throws: ProposalError.self) { try workspace.change(id) { try $0.set("nonsense", to: "x") } }
        #expect(try workspace.document(id).encoded() == before)
        #expect(try workspace.outbox() == outboxBefore)
        // A change that changes nothing writes nothing either.
        try workspace.change(id) { try $0.setSection(.title, to: "T") }
        #expect(try workspace.outbox() == outboxBefore)
    }

    @Test("a full disk: the change is refused with a clear error, nothing half-written, everything saved before intact")
    func fullDisk() async throws {
        let workspace = try offlineWorkspace()
        let id = try workspace.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        try workspace.change(id) { try $0.setSection(.summary, to: "gemt før disken blev fuld") }
        let before = try workspace.document(id).encoded()
        let outboxBefore = try workspace.outbox()
        // SQLite's page limit makes every write beyond the current size fail with
        // SQLITE_FULL, as a full disk does.
        let pages = try await workspace.database.writeWithoutTransaction { db in
            try db.checkpoint(.truncate)
            let count = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(count)")
            return count
        }
        #expect(pages > 0)
        // Text that does not compress (change batches are deflated).
        var random = SeededRandom(seed: 11)
        let letters = Array("abcdefghijklmnopqrstuvwxyzæøå 🌊")
        let big = String((0..<200_000).map { _ in letters[Int.random(in: 0..<letters.count, using: &random)] })
        let error = #expect(throws: WorkspaceError.self) {
            try workspace.change(id) { try $0.setSection(.activities, to: big) }
        }
        #expect(error?.code == .cannotWrite)
        #expect(error?.message.contains("disk is full") == true)
        #expect(try workspace.document(id).encoded() == before)
        #expect(try workspace.outbox() == outboxBefore)
        // Space again: the same change goes through.
        try await workspace.database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1000000") }
        try workspace.change(id) { try $0.setSection(.activities, to: "aktivitet") }
        #expect(try workspace.proposal(id).content().text(.activities) == "aktivitet")
        #expect(try workspace.proposal(id).content().text(.summary) == "gemt før disken blev fuld")
    }

    @Test("two writers on one workspace (an editor and a sync) never lose each other's changes")
    func concurrentWriters() async throws {
        let directory = temporaryDirectory()
        let first = try offlineWorkspace(directory)
        let id = try first.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        let second = try Workspace(directory: directory)
        let rounds = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (writer, workspace) in [("a", first), ("b", second)] {
                group.addTask {
                    for index in 0..<rounds {
                        try workspace.change(id) { proposal in
                            _ = try proposal.addBudgetLine(BudgetLineInput(item: "\(writer)\(index)", amount: 1000, source: .own, year: 2025))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let items = Set(try first.proposal(id).content().budget.map(\.item))
        #expect(items == Set((0..<rounds).flatMap { ["a\($0)", "b\($0)"] }))
        #expect(try first.outbox().filter { $0.kind.name == "push" }.count == 2 * rounds + 1)
        // Every event is in exactly one outbox batch: the agent's sequence has no gaps or repeats.
        var seen = 0
        for case let .push(changes, events) in try first.outbox().map(\.kind) {
            let summary = try ChangeSummary(encodedChanges: changes)
            #expect(summary.eventCount == events)
            seen += events
        }
        #expect(seen == (try first.document(id).eventCount))
    }

    @Test("snapshots: batches fold into a new snapshot as they outgrow it; the state is the same")
    func compaction() throws {
        let workspace = try offlineWorkspace()
        let id = try workspace.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        for index in 0..<150 {
            try workspace.change(id) { try $0.setSection(.activities, to: String(repeating: "aktivitet \(index) ", count: 3)) }
        }
        let pending = try workspace.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change WHERE documentID = ?", arguments: [id]) ?? -1 }
        #expect(pending <= 65, "batches since the snapshot stay bounded: \(pending)")
        let before = try workspace.document(id)
        try workspace.compact(id)
        let after = try workspace.document(id)
        #expect(after.version == before.version)
        #expect(after.text(ProposalSchema.text(of: .activities)) == before.text(ProposalSchema.text(of: .activities)))
        #expect(try workspace.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change") } == 0)
        #expect(try workspace.outbox().count == 152, "compaction never touches the outbox")
    }

    @Test("proposal ids: full id or an unambiguous prefix; unknown ones are named with the valid ones")
    func resolvingIDs() throws {
        let workspace = try offlineWorkspace()
        let id = try workspace.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        #expect(try workspace.resolveProposalID(id) == id)
        #expect(try workspace.resolveProposalID(String(id.prefix(4))) == id)
        do {
            _ = try workspace.resolveProposalID("zzzz")
            Issue.record("an unknown id resolved")
        } catch let error as WorkspaceError {
            #expect(error.code == .unknownProposal)
            #expect(error.message.contains("\"zzzz\"") && error.message.contains(id))
        }
    }

    @Test("a damaged workspace file is reported with a recovery hint and never written")
    func damagedFiles() throws {
        // Not SQLite at all, and an empty file.
        for content in [Data("not a database, just text".utf8), Data()] {
            let directory = temporaryDirectory()
            let path = (directory as NSString).appendingPathComponent(Workspace.fileName)
            try content.write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: WorkspaceError.self) { try Workspace(directory: directory) }
            #expect(error?.code == .damaged)
            #expect(error?.hint.contains("mv ") == true)
            #expect(FileManager.default.contents(atPath: path) == content)
        }
        // A real workspace with its pages overwritten in the middle.
        let directory = temporaryDirectory()
        let id: String
        do {
            let workspace = try offlineWorkspace(directory)
            id = try workspace.createProposal(title: "T", roundID: "2024-spring", now: february2024)
            for index in 0..<20 { try workspace.change(id) { try $0.setSection(.risks, to: String(repeating: "risiko \(index) ", count: 200)) } }
        }
        let path = (directory as NSString).appendingPathComponent(Workspace.fileName)
        // Everything in the database file itself (closing does not checkpoint).
        let writer = try DatabaseQueue(path: path)
        _ = try writer.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try writer.close()
        var bytes = try #require(FileManager.default.contents(atPath: path))
        for offset in stride(from: 4096, to: bytes.count, by: 4096) {
            bytes.replaceSubrange(offset..<min(offset + 2048, bytes.count), with: Data(repeating: 0xA5, count: min(2048, bytes.count - offset)))
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        do {
            let workspace = try Workspace(directory: directory)
            _ = try workspace.proposals()
            _ = try workspace.document(id)
            Issue.record("a corrupted workspace read without error")
        } catch let error as WorkspaceError {
            #expect(error.code == .damaged, "\(error)")
        }
        #expect(FileManager.default.contents(atPath: path) == bytes)
    }

    @Test("a workspace stays with its organisation: another organisation's token is refused once it holds proposals")
    func oneOrganisationPerWorkspace() throws {
        let directory = temporaryDirectory()
        let workspace = try offlineWorkspace(directory)
        let agent = try workspace.identity().agent
        // Same organisation again (a rotated token): same agent, nothing lost.
        _ = try offlineWorkspace(directory)
        #expect(try workspace.identity().agent == agent)
        _ = try workspace.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        let error = #expect(throws: WorkspaceError.self) {
            try offlineWorkspace(directory, organisation: "0461", name: "Odense Kommune")
        }
        #expect(error?.code == .notSetUp)
        #expect(try workspace.identity().organisation == "0751")
    }

    @Test("one sync engine per workspace: the second lock is refused at once, and freed with the first")
    func syncLock() throws {
        let workspace = try offlineWorkspace()
        var lock: SyncLock? = try SyncLock(workspace: workspace)
        #expect(lock != nil)
        let error = #expect(throws: WorkspaceError.self) { try SyncLock(workspace: workspace) }
        #expect(error?.code == .syncRunning)
        lock = nil
        #expect(throws: Never.self) { _ = try SyncLock(workspace: workspace) }
    }

    @Test("workspace location: SPOR_HOME, then XDG_DATA_HOME/spor, then ~/.local/share/spor")
    func location() {
        #expect(Workspace.defaultDirectory(environment: ["SPOR_HOME": "/a", "XDG_DATA_HOME": "/b", "HOME": "/h"]) == "/a")
        #expect(Workspace.defaultDirectory(environment: ["XDG_DATA_HOME": "/b", "HOME": "/h"]) == "/b/spor")
        #expect(Workspace.defaultDirectory(environment: ["HOME": "/h"]) == "/h/.local/share/spor")
    }

    @Test("server addresses: host:port and [v6]:port; anything else is refused")
    func addresses() {
        #expect(ServerSettings.parseAddress("spor.example.dk:7070")! == ("spor.example.dk", 7070))
        #expect(ServerSettings.parseAddress("[::1]:7070")! == ("::1", 7070))
        for bad in ["spor.example.dk", ":7070", "host:0", "host:70000", "host:x", "[::1]"] {
            #expect(ServerSettings.parseAddress(bad) == nil, "\(bad)")
        }
    }
}

extension OutboxEntry.Kind {
    var name: String {
        switch self {
        case .create: "create"
        case .push: "push"
        case .member: "member"
        case .step: "step"
        }
    }
}

@Suite("Reconnect backoff", .blockingCallsAllowed)
struct ReconnectBackoffTests {
    @Test("full jitter: each wait is within [0, bound], bounds double up to the cap, reset starts over", arguments: propertySeeds(10, base: 0x5b0))
    func bounds(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var backoff = ReconnectBackoff(base: .milliseconds(500), cap: .seconds(60))
        var expectedBound = Duration.milliseconds(500)
        for _ in 0..<12 {
            #expect(backoff.currentBound == expectedBound)
            let delay = backoff.nextDelay(using: &random)
            #expect(delay >= .zero && delay <= expectedBound, "seed \(seed)")
            expectedBound = min(expectedBound * 2, .seconds(60))
        }
        #expect(backoff.currentBound == .seconds(60))
        backoff.reset()
        #expect(backoff.currentBound == .milliseconds(500))
    }

    @Test("clients dropped at once spread out: 1,000 clients' fifth retries cover the 8 s window evenly")
    func spread() {
        var random = SeededRandom(seed: 42)
        var buckets = [Int](repeating: 0, count: 8)
        for _ in 0..<1000 {
            var backoff = ReconnectBackoff(base: .milliseconds(500), cap: .seconds(60))
            for _ in 0..<4 { _ = backoff.nextDelay(using: &random) }
            let delay = backoff.nextDelay(using: &random)
            buckets[min(7, Int(delay.components.seconds))] += 1
        }
        // Uniform over 0-8 s: about 125 per second; no second gets a storm.
        #expect(buckets.allSatisfy { $0 > 80 && $0 < 170 }, "\(buckets)")
    }
}
