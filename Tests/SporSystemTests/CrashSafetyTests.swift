import Foundation
import SporClient
import SporCRDT
import SporProposal
import SporTestSupport
import Testing

/// `spor-server` killed with SIGKILL at random moments while three organisations
/// edit and sync continuously. Short form in CI; the long form:
/// `SPOR_SERVER_KILLS=25 swift test --filter CrashSafetyTests` (scripts/reliability).
@Suite("Crash safety", .timeLimit(.minutes(20)), .blockingCallsAllowed)
struct CrashSafetyTests {
    @Test("kill -9 of the server under steady pushes: every acknowledged change survives, and all clients converge")
    func serverKilledUnderLoad() async throws {
        let kills = repetitions("SERVER_KILLS", short: 3)
        let seed = getenvString("SPOR_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        let consortium = try await Consortium.start()
        let id = consortium.proposal
        let retries = Counter()
        let stopped = ErrorLog()
        let watchers = consortium.workspaces.map { workspace in
            Task {
                do {
                    try await SyncEngine(workspace: workspace).watch(
                        onRetry: { _, _ in retries.increment() },
                        backoff: ReconnectBackoff(base: .milliseconds(50), cap: .milliseconds(800)))
                } catch {
                    stopped.append("\(error)")
                }
            }
        }
        defer { watchers.forEach { $0.cancel() } }

        // Each organisation edits without pause: its own section and a shared one.
        let sections: [Section] = [.activities, .organisation, .risks]
        let writes = Counter()
        let writers = consortium.workspaces.enumerated().map { index, workspace in
            WriterThread({ step in
                let section = step % 3 == 0 ? Section.summary : sections[index]
                try workspace.change(id) { proposal in
                    let text = proposal.document.text(ProposalSchema.text(of: section))
                    try proposal.setSection(section, to: text + "\(index):\(step) ")
                }
                if step % 10 == 0 {
                    try workspace.change(id) { proposal in
                        _ = try proposal.addBudgetLine(BudgetLineInput(item: "linje \(index)-\(step)", amount: 1000, source: .own, year: 2025))
                    }
                }
                writes.increment()
            }, pause: 0.005)
        }

        var acknowledgedAtKills: [[Int]] = []
        for _ in 0..<kills {
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...900, using: &random)))
            // What each client has seen acknowledged, read before the kill…
            let acknowledged = try consortium.workspaces.map { try $0.acknowledgedOwnEvents(of: id) }
            consortium.server.kill()
            // …is in the server's database after it.
            let stored = try serverState(consortium.server, id)
            for (workspace, count) in zip(consortium.workspaces, acknowledged) {
                let agent = try workspace.identity().agent.name
                #expect((stored.agents[agent] ?? 0) >= count, "seed \(seed): \(agent) saw \(count) acknowledged, server kept \(stored.agents[agent] ?? 0)")
            }
            acknowledgedAtKills.append(acknowledged)
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...300, using: &random)))
            try consortium.server.restart()
        }
        for writer in writers { try await writer.stop() }

        do {
            try await waitUntil(.seconds(120)) { try consortium.converged() }
        } catch {
            Issue.record("seed \(seed): not converged: \(consortium.describe()); watchers stopped by: \(stopped.entries)")
            throw error
        }
        #expect(stopped.entries.isEmpty, "no watcher gave up: \(stopped.entries)")
        let documents = try consortium.workspaces.map { try $0.document(id) }
        let contents = try documents.map { try Proposal(document: $0, actor: Actor(organisation: "0751", role: .member)).content() }
        #expect(contents.allSatisfy { $0 == contents[0] }, "seed \(seed)")
        // Nothing was stored twice: the server's count is the number of distinct events.
        #expect(try serverState(consortium.server, id).events == documents[0].eventCount)
        print("server kill -9: \(kills) kills survived, \(writes.count) edit rounds by 3 organisations, \(documents[0].eventCount) events, "
              + "\(retries.count) reconnect waits (replay: SPOR_SEED=\(seed) SPOR_SERVER_KILLS=\(kills))")
        #expect(acknowledgedAtKills.count == kills)
    }

    @Test("kill -9 of `spor sync` mid-catch-up and mid-push: the workspace opens, resends, and the server has each change once")
    func cliKilledMidSync() async throws {
        let kills = repetitions("SYNC_KILLS", short: 4)
        let seed = getenvString("SPOR_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        let consortium = try await Consortium.start()
        let id = consortium.proposal
        let spor = try SpawnedServer.builtExecutable("spor")

        // A long history on the server for Odense to catch up, and a big outbox in Aarhus.
        let midtjylland = consortium.workspaces[2]
        for step in 0..<300 {
            try midtjylland.change(id) { proposal in
                let text = proposal.document.text(ProposalSchema.text(of: .activities))
                try proposal.setSection(.activities, to: text + "Aktivitet \(step) med skybrud og grønne tage. ")
            }
        }
        _ = try await SyncEngine(workspace: midtjylland).sync()
        let aarhus = consortium.workspaces[0]
        for step in 0..<300 {
            try aarhus.change(id) { proposal in
                let text = proposal.document.text(ProposalSchema.text(of: .risks))
                try proposal.setSection(.risks, to: text + "Risiko \(step). ")
            }
        }
        let fresh = try Workspace(directory: temporaryTestDirectory("spor-system-fresh"))
        guard let (host, port) = ServerSettings.parseAddress(consortium.server.address) else { throw TestFailure("address") }
        _ = try await SyncEngine.setUp(fresh, settings: ServerSettings(host: host, port: port, token: consortium.tokens[1]), clientName: "t")

        var killed = 0
        for _ in 0..<kills {
            for workspace in [aarhus, fresh] {
                let process = Process()
                process.executableURL = spor
                process.arguments = ["sync"]
                process.environment = ProcessInfo.processInfo.environment.merging(["SPOR_HOME": workspace.directory]) { $1 }
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                usleep(UInt32.random(in: 5_000...150_000, using: &random))
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    killed += 1
                }
                process.waitUntilExit()
                // Whatever the moment, the workspace opens and reads.
                let reopened = try Workspace(directory: workspace.directory)
                _ = try reopened.proposals()
            }
        }
        for workspace in [aarhus, fresh] {
            let output = try runProcess(spor, ["sync"], environment: ["SPOR_HOME": workspace.directory])
            #expect(output.status == 0, "\(output.stderr)")
        }
        _ = try await SyncEngine(workspace: midtjylland).sync()
        let reference = try midtjylland.document(id)
        #expect(try aarhus.outbox().isEmpty)
        #expect(try fresh.document(id).version == reference.version, "seed \(seed)")
        #expect(try aarhus.document(id).version == reference.version, "seed \(seed)")
        #expect(try serverState(consortium.server, id).events == reference.eventCount, "seed \(seed): each change stored once")
        print("spor sync kill -9: \(kills * 2) runs, \(killed) killed mid-sync (replay: SPOR_SEED=\(seed) SPOR_SYNC_KILLS=\(kills))")
    }
}
