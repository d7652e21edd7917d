import ArgumentParser
import Foundation
import SporClient
import SporCRDT
import SporWire

/// The client library's catch-up: the whole automerge-paper history (259,778 events)
/// on the server; a fresh workspace's `SyncEngine.sync()` — connect, authenticate,
/// list, subscribe, merge and store every batch in SQLite (checked, durable, one
/// snapshot at the end) — timed until it returns, the workspace's text then checked
/// against the trace.
struct ClientCatchUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "client-catchup",
                                                    abstract: "Time for a fresh SporClient workspace to catch up a long history.")

    @OptionGroup var options: ServerOptions
    @Option(help: "A sequential trace (.json or .json.gz).") var trace = "../shared/traces/sequential/automerge-paper.json.gz"
    @Option(help: "Events per batch as the history was pushed.") var batchEvents = 1000
    @Option(help: "Catch-ups to time (median reported).") var runs = 5

    func run() async throws {
        let stored = try await StoredTrace.start(trace: trace, batchEvents: batchEvents, options: options, name: "client-catchup")
        defer { stored.server.stop() }
        let (server, token, batches, source) = (stored.server, stored.token, stored.batches, stored.source)
        var timings: [Double] = []
        var workspaceBytes = 0
        for _ in 0..<runs {
            let home = temporaryDirectory("client-catchup-workspace")
            let workspace = try Workspace(directory: home)
            let settings = ServerSettings(host: "127.0.0.1", port: server.port, token: token)
            _ = try await SyncEngine.setUp(workspace, settings: settings, clientName: "loadgen")
            let start = ContinuousClock.now
            let report = try await SyncEngine(workspace: workspace).sync()
            timings.append(milliseconds(ContinuousClock.now - start))
            guard report.receivedEvents["0751.paper"] == source.eventCount,
                  try workspace.document("0751.paper").text() == source.text() else {
                throw LoadError("the workspace's text differs from the trace")
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: home)
            workspaceBytes = try files.reduce(0) { total, file in
                total + ((try FileManager.default.attributesOfItem(atPath: (home as NSString).appendingPathComponent(file))[.size] as? Int) ?? 0)
            }
            try? FileManager.default.removeItem(atPath: home)
        }
        timings.sort()
        try printJSON([
            "scenario": "client-catchup", "events": source.eventCount, "storedBatches": batches.count, "runs": runs,
            "workspaceBytes": workspaceBytes,
            "catchUpMsMedian": timings[timings.count / 2], "catchUpMsMin": timings.first ?? 0, "catchUpMsMax": timings.last ?? 0,
        ])
    }
}
