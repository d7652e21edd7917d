import Foundation
import GRDB
import SporCRDT
import SporProposal
import SporTestSupport
import Testing
@testable import SporClient

/// Three organisations' workspaces against one real `spor-server` process.
struct Partners {
    let server: ServerProcess
    let aarhus: Workspace
    let odense: Workspace
    let midtjylland: Workspace

    static func start() async throws -> Partners {
        let server = try ServerProcess()
        let tokens = try [("Aarhus Kommune", "kommune", "0751"), ("Odense Kommune", "kommune", "0461"),
                          ("Region Midtjylland", "region", "1082")].map { try server.addOrganisation($0.0, kind: $0.1, code: $0.2) }
        return Partners(server: server,
                        aarhus: try await setUpWorkspace(temporaryDirectory(), server: server, token: tokens[0]),
                        odense: try await setUpWorkspace(temporaryDirectory(), server: server, token: tokens[1]),
                        midtjylland: try await setUpWorkspace(temporaryDirectory(), server: server, token: tokens[2]))
    }

    var all: [Workspace] { [aarhus, odense, midtjylland] }

    @discardableResult
    func sync(_ workspace: Workspace) async throws -> SyncReport {
        try await SyncEngine(workspace: workspace).sync()
    }
}

/// Number of change batches the server stored for `document` and their events: to
/// check that nothing was stored twice.
func serverEvents(_ server: ServerProcess, _ document: String) throws -> Int {
    let database = try DatabaseQueue(path: (server.directory as NSString).appendingPathComponent("spor.sqlite"))
    return try database.read { db in try Int.fetchOne(db, sql: "SELECT eventCount FROM document WHERE id = ?", arguments: [document]) ?? -1 }
}

@Suite("Sync engine against a real spor-server", .timeLimit(.minutes(3)), .blockingCallsAllowed)
struct SyncEngineTests {
    @Test("offline work by three organisations on the same section merges to one identical proposal everywhere")
    func threeOrganisationsConverge() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "Skybrud på tværs", roundID: "2024-spring", now: february2024)
        try partners.aarhus.change(id) { proposal in
            try proposal.setSection(.summary, to: "Tre parter løser skybrud sammen.\n")
            try proposal.addParticipant(ParticipantInput(organisation: .registered(#require(Organisation.withCode("0461"))), role: .partner))
        }
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        try partners.aarhus.queueMember(.add("1082", .partner), of: id)
        let created = try await partners.sync(partners.aarhus)
        #expect(created.createdOnServer == [id])
        #expect(Set(created.membershipChanges.map(\.organisation)) == ["0461", "1082"])
        #expect(created.outboxRemaining == 0)

        let odenseFirst = try await partners.sync(partners.odense)
        #expect(odenseFirst.newDocuments == [id])
        try await partners.sync(partners.midtjylland)

        // Offline: all three edit the same section and other fields.
        try partners.aarhus.change(id) { try $0.setSection(.summary, to: "Tre parter løser skybrud sammen i Aarhus.\n") }
        try partners.odense.change(id) { try $0.setSection(.summary, to: "Odense: Tre parter løser skybrud sammen.\n") }
        try partners.midtjylland.change(id) { proposal in
            try proposal.setSection(.summary, to: "Tre parter løser skybrud og stormflod 🌊 sammen.\n")
            _ = try proposal.addBudgetLine(BudgetLineInput(item: "Analyse", amount: 500_000, source: .klimaalliancen, year: 2025))
        }
        try partners.odense.change(id) { _ = try $0.addBudgetLine(BudgetLineInput(item: "Workshops", amount: 200_000, source: .own, year: 2025)) }

        for workspace in [partners.midtjylland, partners.odense, partners.aarhus, partners.midtjylland, partners.odense] {
            try await partners.sync(workspace)
        }
        let contents = try partners.all.map { try $0.proposal(id).content() }
        #expect(contents[0] == contents[1] && contents[1] == contents[2])
        #expect(contents[0].text(.summary) == "Odense: Tre parter løser skybrud og stormflod 🌊 sammen i Aarhus.\n")
        #expect(Set(contents[0].budget.map(\.item)) == ["Analyse", "Workshops"])
        #expect(try partners.all.allSatisfy { try $0.outbox().isEmpty })
        #expect(try serverEvents(partners.server, id) == (try partners.aarhus.document(id).eventCount))
    }

    @Test("an unreachable server or a revoked token: a clear error, and every local change stays in the outbox")
    func failuresKeepTheOutbox() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        try partners.aarhus.change(id) { try $0.setSection(.risks, to: "Regn 🌧") }
        let outbox = try partners.aarhus.outbox()

        partners.server.kill()
        let unreachable = await #expect(throws: SyncError.self) { try await partners.sync(partners.aarhus) }
        #expect(unreachable?.code == .unreachable)
        #expect(unreachable?.message.contains(partners.server.address) == true)
        #expect(try partners.aarhus.outbox() == outbox)

        try partners.server.restart()
        #expect(try partners.server.admin(["org", "revoke", "0751"]).status == 0)
        let revoked = await #expect(throws: SyncError.self) { try await partners.sync(partners.aarhus) }
        #expect(revoked?.code == .authenticationFailed)
        #expect(revoked?.hint.contains("spor setup") == true)
        #expect(try partners.aarhus.outbox() == outbox)

        // A new token: everything goes up, once.
        let rotated = try partners.server.admin(["token", "rotate", "0751"])
        let token = try #require(rotated.stdout.split(separator: "\n").last.map(String.init))
        _ = try await setUpWorkspace(partners.aarhus.directory, server: partners.server, token: token)
        let report = try await partners.sync(partners.aarhus)
        #expect(report.pushedChanges == 2)
        #expect(try partners.aarhus.outbox().isEmpty)
        #expect(try serverEvents(partners.server, id) == (try partners.aarhus.document(id).eventCount))
    }

    @Test("a member without an account yet: the server records it at once (saying nothing about accounts), and it sees the proposal once its account exists")
    func memberWithoutAccount() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        try partners.aarhus.queueMember(.add("0101", .partner), of: id)  // København: no account on this server
        let first = try await partners.sync(partners.aarhus)
        #expect(first.membershipChanges.map(\.organisation) == ["0101"])
        #expect(first.refusals.isEmpty)
        #expect(try partners.aarhus.outbox().isEmpty)
        #expect(try partners.aarhus.proposal(id).content().members.map(\.organisation).sorted() == ["0101", "0751"])

        let token = try partners.server.addOrganisation("Københavns Kommune", kind: "kommune", code: "0101")
        let copenhagen = try await setUpWorkspace(temporaryDirectory(), server: partners.server, token: token)
        #expect(try await partners.sync(copenhagen).newDocuments == [id])
    }

    @Test("a server that is not Spor: a clear error naming the address, nothing sent, the outbox kept")
    func wrongServer() async throws {
        let web = try NotASporServer(reply: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        let workspace = try offlineWorkspace()
        let settings = ServerSettings(host: "127.0.0.1", port: web.port, token: "spor_x")
        let error = await #expect(throws: SyncError.self) {
            _ = try await SyncEngine.setUp(workspace, settings: settings, clientName: "test")
        }
        #expect(error?.code == .incompatibleServer)
        #expect(error?.message.contains("127.0.0.1:\(web.port)") == true)
        // Set up before, then pointed at the wrong server: the outbox stays.
        _ = try workspace.configure(server: settings, organisation: "0751", organisationName: "Aarhus Kommune",
                                    organisationKind: "kommune", agentPrefix: "0751/")
        _ = try workspace.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        let outbox = try workspace.outbox()
        await #expect(throws: SyncError.self) { try await SyncEngine(workspace: workspace).sync() }
        #expect(try workspace.outbox() == outbox)
    }

    @Test("acknowledgements lost in a crash: the outbox is sent again and the server stores each change once")
    func resendAfterLostAcknowledgement() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        for index in 0..<5 { try partners.aarhus.change(id) { try $0.setSection(.risks, to: "risiko \(index)") } }
        // The workspace as it was before the sync — as if the process died after the
        // server acknowledged but before the outbox entries were removed.
        _ = try await partners.aarhus.database.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        let savedAfterCheckpoint = try Data(contentsOf: URL(fileURLWithPath: partners.aarhus.path))
        try await partners.sync(partners.aarhus)
        let stored = try serverEvents(partners.server, id)
        #expect(stored == (try partners.aarhus.document(id).eventCount))

        let copy = temporaryDirectory()
        try savedAfterCheckpoint.write(to: URL(fileURLWithPath: (copy as NSString).appendingPathComponent(Workspace.fileName)))
        let restored = try Workspace(directory: copy)
        #expect(try restored.outbox().count == 7)
        let report = try await SyncEngine(workspace: restored).sync()
        #expect(report.pushedChanges == 6, "the creation is recognised as done; the six batches are acknowledged again")
        #expect(try restored.outbox().isEmpty)
        #expect(try serverEvents(partners.server, id) == stored)
    }

    @Test("catch-up of a long history into a fresh workspace, and resuming from the version it has", .timeLimit(.minutes(3)))
    func catchUp() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "Lang historie", roundID: "2024-spring", now: february2024)
        var random = SeededRandom(seed: 7)
        var expected = ""
        for round in 0..<60 {
            var text = try partners.aarhus.proposal(id).content().text(.activities)
            for _ in 0..<20 {
                let position = text.isEmpty ? 0 : Int.random(in: 0...text.count, using: &random)
                let index = text.index(text.startIndex, offsetBy: position)
                text.insert(contentsOf: "ø\(round) ", at: index)
            }
            try partners.aarhus.change(id) { try $0.setSection(.activities, to: text) }
            expected = text
        }
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        try await partners.sync(partners.aarhus)

        let progress = ProgressLog()
        let report = try await SyncEngine(workspace: partners.odense).sync(progress: { progress.append($0) })
        let total = try partners.aarhus.document(id).eventCount
        #expect(report.receivedEvents[id] == total)
        #expect(try partners.odense.proposal(id).content().text(.activities) == expected)
        #expect(progress.last?.eventsReceived == total)
        #expect(progress.last?.documentsCaughtUp == 1)
        // Caught up: one snapshot, no batches left to merge on open.
        #expect(try partners.odense.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change") } == 0)
        // The first sync started from the server's document file (60 batches: SNAPSHOT):
        // the same saves as the author's (concurrent ones in the order each replica
        // learnt them: the server's creation record first here, as in the batches), each
        // with the time the server stored it, as the author learnt it.
        let serverDatabase = try DatabaseQueue(path: (partners.server.directory as NSString).appendingPathComponent("spor.sqlite"))
        let checkpoints = try await serverDatabase.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM checkpoint WHERE documentID = ?", arguments: [id])
        }
        try serverDatabase.close()
        #expect(checkpoints == 1)
        let authorSaves = try partners.aarhus.proposal(id).saves()
        let readerSaves = try partners.odense.proposal(id).saves()
        #expect(readerSaves.count == authorSaves.count && Set(readerSaves) == Set(authorSaves))
        let lasts = authorSaves.map(\.last)
        let authorTimes = try partners.aarhus.storedTimes(of: id, for: lasts)
        #expect(authorTimes.count == lasts.count)
        #expect(try partners.odense.storedTimes(of: id, for: lasts) == authorTimes)

        // Resume: the next sync receives only what is new.
        try partners.aarhus.change(id) { try $0.setSection(.risks, to: "ny") }
        try await partners.sync(partners.aarhus)
        let again = try await partners.sync(partners.odense)
        #expect(again.receivedEvents[id] == (try partners.aarhus.document(id).eventCount) - total)
        #expect(try partners.odense.document(id).eventCount == (try partners.aarhus.document(id).eventCount))
    }

    @Test("watching: a partner's saved change arrives live; the engine reconnects after the server restarts")
    func watchAndReconnect() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "T", roundID: "2024-spring", now: february2024)
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        try await partners.sync(partners.aarhus)
        try await partners.sync(partners.odense)

        let retries = ProgressLog()
        let caughtUp = ProgressLog()
        let activity = ActivityLog()
        let watchers = [partners.aarhus, partners.odense].map { workspace in
            Task {
                try await SyncEngine(workspace: workspace).watch(onCaughtUp: { _ in caughtUp.append(SyncProgress()) },
                                                                 onActivity: { activity.append(workspace.directory, $0) },
                                                                 onRetry: { _, _ in retries.append(SyncProgress()) },
                                                                 backoff: ReconnectBackoff(base: .milliseconds(100), cap: .milliseconds(400)))
            }
        }
        defer { watchers.forEach { $0.cancel() } }
        try await waitUntil { caughtUp.count == 2 }

        try partners.aarhus.change(id) { try $0.setSection(.summary, to: "live fra Aarhus") }
        try await waitUntil { try partners.odense.proposal(id).content().text(.summary) == "live fra Aarhus" }
        try await waitUntil { activity.contains(partners.aarhus.directory, { if case .sent(id, _) = $0 { true } else { false } }) }
        // Reported just after the merge is committed: waited for, not raced.
        try await waitUntil { activity.contains(partners.odense.directory, { if case .received(id, _) = $0 { true } else { false } }) }

        partners.server.kill()
        try partners.odense.change(id) { try $0.setSection(.risks, to: "skrevet mens serveren var nede") }
        try await Task.sleep(for: .milliseconds(300))
        try partners.server.restart()
        try await waitUntil { try partners.aarhus.proposal(id).content().text(.risks) == "skrevet mens serveren var nede" }
        #expect(retries.count >= 2, "both watchers noticed the drop and retried")
        #expect(retries.count < 40, "no reconnect storm: \(retries.count) attempts")
        try await waitUntil { try partners.odense.outbox().isEmpty }
    }
}

/// Polls `condition` for up to 60 s (a guard against hangs, not a measurement).
func waitUntil(within limit: Duration = .seconds(60), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("condition not met within \(limit)")
}

/// `@unchecked Sendable`: every access goes through `lock`.
final class ActivityLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(String, SyncActivity)] = []
    func append(_ workspace: String, _ activity: SyncActivity) { lock.withLock { entries.append((workspace, activity)) } }
    func contains(_ workspace: String, _ match: (SyncActivity) -> Bool) -> Bool {
        lock.withLock { entries.contains { $0.0 == workspace && match($0.1) } }
    }
}

/// `@unchecked Sendable`: every access goes through `lock`.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [SyncProgress] = []
    func append(_ progress: SyncProgress) { lock.withLock { entries.append(progress) } }
    var last: SyncProgress? { lock.withLock { entries.last } }
    var count: Int { lock.withLock { entries.count } }

    @Test("a removed organisation: its workspace says the proposal is no longer shared, keeps its copy and its unsent change, and stops syncing it")
    func removedMember() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "Fælles", roundID: "2024-spring", now: february2024)
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        try await partners.sync(partners.aarhus)
        #expect(try await partners.sync(partners.odense).newDocuments == [id])
        // Odense edits offline; meanwhile the lead removes it.
        try partners.odense.change(id) { try $0.setSection(.risks, to: "Odense skrev dette offline") }
        try partners.aarhus.queueMember(.remove("0461"), of: id)
        let removal = try await partners.sync(partners.aarhus)
        #expect(removal.membershipChanges.map(\.change) == [.remove("0461")])
        #expect(try partners.aarhus.proposal(id).content().members.map(\.organisation) == ["0751"])

        let report = try await partners.sync(partners.odense)
        #expect(report.accessEnded == [id])
        #expect(report.refusals.isEmpty)
        let summary = try #require(try partners.odense.proposals().first { $0.id == id })
        #expect(summary.accessEndedAt != nil)
        #expect(try partners.odense.proposal(id).content().text(.risks) == "Odense skrev dette offline", "the local copy stays")
        #expect(try partners.odense.outbox().count == 1, "the unsent change is kept, not lost")
        #expect(try partners.aarhus.proposal(id).content().text(.risks).isEmpty, "nothing of it reached the proposal")
        // Later syncs stay quiet about it.
        let again = try await partners.sync(partners.odense)
        #expect(again.refusals.isEmpty && again.accessEnded.isEmpty)
        // Added again: it syncs again, and the kept change goes up.
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        try await partners.sync(partners.aarhus)
        let back = try await partners.sync(partners.odense)
        #expect(back.pushedChanges == 1)
        #expect(try partners.odense.proposals().first { $0.id == id }?.accessEndedAt == nil)
        try await partners.sync(partners.aarhus)
        #expect(try partners.aarhus.proposal(id).content().text(.risks) == "Odense skrev dette offline")
    }

    @Test("membership requests the server refuses are reported once and leave the outbox")
    func refusedMembershipRequest() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "Fælles", roundID: "2024-spring", now: february2024)
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        try await partners.sync(partners.aarhus)
        try await partners.sync(partners.odense)
        // A partner asks to add someone: only the lead and the secretariat may.
        try partners.odense.queueMember(.add("1082", .partner), of: id)
        let report = try await partners.sync(partners.odense)
        #expect(report.refusals.count == 1)
        #expect(report.refusals.first?.message.contains("only the lead partner and the secretariat") == true, "\(report.refusals)")
        #expect(try partners.odense.outbox().isEmpty)
        #expect(try await partners.sync(partners.midtjylland).newDocuments.isEmpty)
    }

    @Test("a section far longer than one batch may hold saves as several pushes within the server's limits, syncs, and reaches the partners whole")
    func longSectionSyncs() async throws {
        let partners = try await Partners.start()
        let id = try partners.aarhus.createProposal(title: "Lang tekst", roundID: "2024-spring", now: february2024)
        try partners.aarhus.queueMember(.add("0461", .partner), of: id)
        // 200,000 characters pasted at once (the 200 KB file): 200,000 events.
        let line = "Skybrud og tørke i Østjylland: målinger, modeller og erfaringer fra tre kommuner. "
        let text = String(String(repeating: line, count: 200_000 / line.count + 1).prefix(200_000))
        try partners.aarhus.change(id) { try $0.setSection(.risks, to: text) }
        let pushes = try partners.aarhus.outbox().filter { if case .push = $0.kind { true } else { false } }
        #expect(pushes.count >= 5, "split into batches of at most 50,000 events: \(pushes.count)")
        #expect(pushes.allSatisfy { if case let .push(_, events) = $0.kind { events <= 50_000 } else { false } })
        let report = try await partners.sync(partners.aarhus)
        #expect(report.refusals.isEmpty, "\(report.refusals)")
        #expect(try partners.aarhus.outbox().isEmpty)
        try await partners.sync(partners.odense)
        #expect(try partners.odense.proposal(id).content().text(.risks) == text)
        // Later changes are not held back.
        try partners.aarhus.change(id) { try $0.setSection(.summary, to: "Kort resumé") }
        try await partners.sync(partners.aarhus)
        try await partners.sync(partners.odense)
        #expect(try partners.odense.proposal(id).content().text(.summary) == "Kort resumé")
    }
}
