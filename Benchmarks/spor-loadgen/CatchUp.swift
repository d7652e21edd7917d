import ArgumentParser
import Foundation
import SporCRDT
import SporServer
import SporTraces
import SporWire

/// A client far behind: the whole automerge-paper history (259,778 events) — or any
/// trace, a concurrent one pushed as its agents would have pushed it — is on the
/// server; a fresh client subscribes with an empty version and merges what it is
/// sent until CAUGHT_UP, its text then checked against the trace. With `--protocol 4`
/// the catch-up may start with the server's document file (SNAPSHOT), opened as a
/// client opens it; with 3 it is every batch, as before protocol 4.
struct CatchUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catchup", abstract: "Time for a fresh client to catch up a long history.")

    @OptionGroup var options: ServerOptions
    @Option(help: "A trace (.json or .json.gz), sequential or concurrent.") var trace = "../shared/traces/sequential/automerge-paper.json.gz"
    @Option(help: "Events per batch as a sequential history was pushed.") var batchEvents = 1000
    @Option(help: "A concurrent history: each agent pushes after this many of its transactions.") var transactionsPerPush = 20
    @Option(help: "The protocol version the catching-up client speaks (3: batches only; 4: SNAPSHOT first).") var `protocol` = 4
    @Option(help: "Catch-ups to time (median reported).") var runs = 5

    func run() async throws {
        let stored = try await StoredTrace.start(trace: trace, batchEvents: batchEvents, transactionsPerPush: transactionsPerPush,
                                                 options: options, name: "catchup")
        defer { stored.server.stop() }
        let (server, token, batches, source) = (stored.server, stored.token, stored.batches, stored.source)
        var timings: [Double] = []
        var frames = 0
        var snapshotBytes = 0
        var batchesAfterSnapshot = 0
        for _ in 0..<runs {
            let start = ContinuousClock.now
            var client = try await LoadClient.connect(port: server.port, token: token, versions: 2...self.protocol)
            var replica = Document()
            try await client.connection.send(.subscribe(request: 0, document: "0751.paper", version: VersionVector()))
            frames = 0
            snapshotBytes = 0
            batchesAfterSnapshot = 0
            loop: while let message = try await client.iterator.next() {
                switch message {
                case let .snapshot(snapshot):
                    snapshotBytes = snapshot.file.count
                    try replica.merge(encodedChanges: snapshot.file, trustingTexts: true)
                case let .events(events):
                    frames += 1
                    if snapshotBytes > 0 { batchesAfterSnapshot += events.batches.count }
                    for batch in events.batches { try replica.merge(encodedChanges: batch) }
                case .caughtUp: break loop
                default: continue
                }
            }
            _ = replica.text()
            timings.append(milliseconds(ContinuousClock.now - start))
            guard replica.text() == source.text() else { throw LoadError("caught-up text differs from the trace") }
            await client.connection.close()
        }
        timings.sort()
        try printJSON([
            "scenario": "catchup", "protocol": self.protocol, "events": source.eventCount, "storedBatches": batches.count, "eventsFrames": frames,
            "snapshotBytes": snapshotBytes, "batchesAfterSnapshot": batchesAfterSnapshot,
            "bytes": batches.reduce(0) { $0 + $1.count }, "runs": runs,
            "catchUpMsMedian": timings[timings.count / 2], "catchUpMsMin": timings.first ?? 0, "catchUpMsMax": timings.last ?? 0,
        ])
    }
}

/// A trace pushed to a fresh `spor-server` process as document "0751.paper" by Aarhus
/// Kommune (0751), in `batchEvents`-event batches: the starting point of the
/// catch-up scenarios. The caller stops the server.
struct StoredTrace {
    let server: ServerProcess
    let token: String
    let batches: [[UInt8]]
    let source: Document

    static func start(trace: String, batchEvents: Int, transactionsPerPush: Int = 20, options: ServerOptions,
                      name: String) async throws -> StoredTrace {
        let directory = temporaryDirectory(name)
        let store = try SporStore(directory: directory)
        let token = try store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: "0751").token
        let loaded = try EditingTrace(contentsOf: trace)
        let batches: [[UInt8]], source: Document
        if loaded.agentCount > 1 {
            // A concurrent history: its agents (named "0751/agent-…") push as they go.
            var replicas = try TraceReplicas(trace: loaded, agentPrefix: "0751/")
            batches = try replicas.replay(pushingEvery: transactionsPerPush)
            var merged = Document()
            try merged.merge(encodedChanges: batches)
            guard merged.text() == loaded.endContent else { throw LoadError("the pushed batches do not give the trace's text") }
            source = merged
        } else {
            (batches, source) = try traceBatches(path: trace, agent: try AgentID("0751/paper"), eventsPerBatch: batchEvents)
        }
        let server = options.makeServer(directory: directory)
        try server.start()
        do {
            var writer = try await LoadClient.connect(port: server.port, token: token)
            guard case .ok? = try await writer.request({ .createDocument(request: $0, document: "0751.paper") }) else { throw LoadError("create") }
            for batch in batches {
                let answer = try await writer.request({ .push(request: $0, document: "0751.paper", changes: batch) })
                guard case .pushAck? = answer else {
                    if case let .error(report)? = answer { throw LoadError("push refused: \(report.message)") }
                    throw LoadError("push refused")
                }
            }
            await writer.connection.close()
        } catch {
            server.stop()
            throw error
        }
        return StoredTrace(server: server, token: token, batches: batches, source: source)
    }
}
