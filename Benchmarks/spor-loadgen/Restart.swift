import ArgumentParser
import Foundation
import SporCRDT
import SporServer
import SporWire

/// Restart with a large store: fills a data directory with `events` stored events
/// (the trace pushed into several proposals), stops the server, and times a new
/// process from spawn to "listening on", and to a client's first served request
/// (HELLO, SUBSCRIBE to a small proposal, CAUGHT_UP).
struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time from process start to serving, with a large store.")

    @OptionGroup var options: ServerOptions
    @Option(help: "A sequential trace (.json or .json.gz).") var trace = "../shared/traces/sequential/automerge-paper.json.gz"
    @Option(help: "Stored events to reach at least.") var events = 1_000_000
    @Option(help: "Restarts to time (median reported).") var runs = 5

    func run() async throws {
        let directory = temporaryDirectory("restart")
        let store = try SporStore(directory: directory)
        let token = try store.addAccount(name: "Aarhus Kommune", kind: .kommune, code: "0751").token
        var server = options.makeServer(directory: directory)
        try server.start()
        var client = try await LoadClient.connect(port: server.port, token: token)
        var stored = 0
        var proposal = 0
        while stored < events {
            let (batches, document) = try traceBatches(path: trace, agent: try AgentID("0751/p\(proposal)"), eventsPerBatch: 5000)
            guard case .ok? = try await client.request({ .createDocument(request: $0, document: "0751.big-\(proposal)") }) else { throw LoadError("create") }
            for batch in batches {
                guard case .pushAck? = try await client.request({ .push(request: $0, document: "0751.big-\(proposal)", changes: batch) }) else {
                    throw LoadError("push refused")
                }
            }
            stored += document.eventCount
            proposal += 1
        }
        var small = Document(agent: try AgentID("0751/small"))
        try small.insert("Lille forslag", at: 0)
        guard case .ok? = try await client.request({ .createDocument(request: $0, document: "0751.small") }) else { throw LoadError("create") }
        let smallChanges = try small.encodedChanges()
        guard case .pushAck? = try await client.request({ .push(request: $0, document: "0751.small", changes: smallChanges) }) else {
            throw LoadError("push")
        }
        await client.connection.close()
        server.stop()
        let databaseBytes = (try? FileManager.default.attributesOfItem(atPath: store.path)[.size] as? Int) ?? 0

        var listening: [Double] = []
        var serving: [Double] = []
        for _ in 0..<runs {
            server = options.makeServer(directory: directory)
            try server.start()
            listening.append(milliseconds(server.listeningAfter))
            var reader = try await LoadClient.connect(port: server.port, token: token)
            var replica = Document()
            try await reader.catchUp("0751.small", into: &replica)
            serving.append(milliseconds(ContinuousClock.now - server.startedAt))
            guard replica.text() == "Lille forslag" else { throw LoadError("wrong text after restart") }
            await reader.connection.close()
            server.stop()
        }
        listening.sort()
        serving.sort()
        try printJSON([
            "scenario": "restart", "storedEvents": stored, "proposals": proposal + 1, "databaseBytes": databaseBytes,
            "runs": runs, "listeningMsMedian": listening[listening.count / 2], "servingMsMedian": serving[serving.count / 2],
            "servingMsMax": serving.last ?? 0,
        ])
    }
}
