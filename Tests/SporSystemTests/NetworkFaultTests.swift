import Foundation
import SporClient
import SporCRDT
import SporProposal
import SporTestSupport
import Testing

/// Three organisations syncing through fault proxies while they edit: connections cut
/// mid-frame, delays, stalls, a partition, half-open duplicate sessions. Short form in
/// CI; the long form repeats the fault cycle: `SPOR_FAULT_ROUNDS=10`.
@Suite("Broken networks", .timeLimit(.minutes(20)), .blockingCallsAllowed)
struct NetworkFaultTests {
    @Test("clients converge through cut, delayed, stalled and partitioned connections; nothing is stored twice; no reconnect storm")
    func convergeThroughFaults() async throws {
        let rounds = repetitions("FAULT_ROUNDS", short: 1)
        let server = try ServerProcess()
        let consortium = try await Consortium.start(server: server)
        let id = consortium.proposal
        var proxies: [FaultProxy] = []
        for (workspace, token) in zip(consortium.workspaces, consortium.tokens) {
            let proxy = try await FaultProxy(upstreamPort: server.port)
            try redirect(workspace, to: "127.0.0.1:\(proxy.port)", token: token)
            proxies.append(proxy)
        }
        // What each watcher went through, for the failure message: the last retries,
        // and how a watcher ended if it did (it must not, until cancelled).
        let watcherLog = ErrorLog()
        let watchers = consortium.workspaces.enumerated().map { index, workspace in
            Task {
                do {
                    try await SyncEngine(workspace: workspace).watch(
                        onRetry: { failure, _ in watcherLog.append("\(index) retry: \(failure.message)") },
                        backoff: ReconnectBackoff(base: .milliseconds(50), cap: .milliseconds(1000)))
                    if !Task.isCancelled { watcherLog.append("\(index) ENDED without an error") }
                } catch {
                    watcherLog.append("\(index) ENDED: \(error)")
                }
            }
        }
        let writes = Counter()
        let writers = consortium.workspaces.enumerated().map { index, workspace in
            WriterThread({ step in
                try workspace.change(id) { proposal in
                    let section: Section = step % 2 == 0 ? .summary : [.activities, .organisation, .risks][index]
                    let text = proposal.document.text(ProposalSchema.text(of: section))
                    try proposal.setSection(section, to: text + "\(index)·\(step) ")
                }
                writes.increment()
            }, pause: 0.010)
        }

        var partitionAttempts: [Int] = []
        for _ in 0..<rounds {
            // Cut Aarhus's connections a few hundred bytes into the server's answers: mid-frame.
            proxies[0].set { $0.cutAfterServerBytes = 700 }
            try await Task.sleep(for: .seconds(1))
            proxies[0].set { $0.cutAfterServerBytes = nil }
            // Odense's traffic delayed, then stalled.
            proxies[1].set { $0.delay = .milliseconds(150) }
            try await Task.sleep(for: .seconds(1))
            proxies[1].set { $0.delay = .zero; $0.stalled = true }
            try await Task.sleep(for: .seconds(1))
            proxies[1].set { $0.stalled = false }
            // Region Midtjylland partitioned for 3 s: it keeps editing offline.
            let before = proxies[2].connectionAttempts
            proxies[2].set { $0.partitioned = true }
            try await Task.sleep(for: .seconds(3))
            partitionAttempts.append(proxies[2].connectionAttempts - before)
            proxies[2].set { $0.partitioned = false }
            // Aarhus cut again, its old sessions left open at the server: the server
            // sees two sessions of one workspace.
            proxies[0].set { $0.cutAfterServerBytes = 400; $0.leaveServerSideOpen = true }
            try await Task.sleep(for: .seconds(1))
            proxies[0].set { $0.cutAfterServerBytes = nil; $0.leaveServerSideOpen = false }
        }
        for writer in writers { try await writer.stop() }
        do {
            // Converged — or failed once nothing has moved for longer than a stalled
            // session takes to notice (30 s) and reconnect. Slow is allowed (debug
            // builds on two cores catching up thousands of events); stuck is not.
            var lastState = consortium.describe()
            var lastMove = ContinuousClock.now
            let deadline = ContinuousClock.now + .seconds(300)
            while try !consortium.converged() {
                let now = ContinuousClock.now
                let state = consortium.describe()
                if state != lastState { (lastState, lastMove) = (state, now) }
                if now - lastMove > .seconds(45) || now > deadline {
                    throw TestFailure("not converged: nothing moved for \(now - lastMove)")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        } catch {
            // Still moving (a slow server) or stuck (sessions waiting)? Look again in 10 s.
            let before = (consortium.describe(), server.cpuSeconds ?? -1)
            try await Task.sleep(for: .seconds(10))
            Issue.record("10 s apart: \(before.0), server CPU \(before.1) s → \(consortium.describe()), server CPU \(server.cpuSeconds ?? -1) s")
            Issue.record("not converged: \(consortium.describe()); faults \(proxies.map(\.faults)); watchers: \(watcherLog.entries.suffix(12))")
            throw error
        }
        #expect(!watcherLog.entries.contains { $0.contains("ENDED") }, "a watcher gave up: \(watcherLog.entries.suffix(12))")
        watchers.forEach { $0.cancel() }

        let documents = try consortium.workspaces.map { try $0.document(id) }
        let contents = try documents.map { try Proposal(document: $0, actor: Actor(organisation: "0751", role: .member)).content() }
        #expect(contents.allSatisfy { $0 == contents[0] })
        #expect(try serverState(server, id).events == documents[0].eventCount, "each event stored once")
        // Each organisation's text pieces appear exactly once in the merged summary.
        let summary = contents[0].text(.summary)
        for index in 0..<3 {
            let pieces = summary.split(separator: " ").filter { $0.hasPrefix("\(index)·") }
            #expect(pieces.count == Set(pieces).count, "no edit applied twice")
        }
        // Backoff, not a storm: with waits from 50 ms doubling to 1 s, a 3 s partition
        // costs a handful of attempts, not hundreds.
        #expect(partitionAttempts.allSatisfy { $0 >= 1 && $0 <= 12 }, "connection attempts during partitions: \(partitionAttempts)")
        print("network faults: \(rounds) rounds, \(proxies[0].cuts) connections cut mid-frame, \(writes.count) edit rounds, "
              + "attempts while partitioned \(partitionAttempts), \(documents[0].eventCount) events converged")
        for proxy in proxies { await proxy.close() }
    }
}
