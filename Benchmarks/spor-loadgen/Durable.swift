import ArgumentParser
import Foundation
import SporCRDT
import SporServer
import SporWire

/// Durable throughput: clients push real typing history (a trace, cut into
/// batches) as fast as the server acknowledges, with a window of pushes in flight.
/// An acknowledgement means the batch is committed to disk (WAL, synchronous=FULL).
struct Durable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Acknowledged (on-disk) events per second for batched pushes.")

    @OptionGroup var options: ServerOptions
    @Option(help: "A sequential trace (.json or .json.gz).") var trace = "../shared/traces/sequential/automerge-paper.json.gz"
    @Option(help: "Events per pushed batch.") var batchEvents = 1000
    @Option(help: "Clients pushing at once, each to its own proposal.") var clients = 4
    @Option(help: "Pushes in flight per client.") var window = 8

    func run() async throws {
        let directory = temporaryDirectory("durable")
        let store = try SporStore(directory: directory)
        var tokens: [String] = []
        for index in 0..<clients {
            tokens.append(try store.addAccount(name: "Institut \(index)", kind: .institution, code: "k\(index)").token)
        }
        var work: [[[UInt8]]] = []
        var events = 0
        for index in 0..<clients {
            let (batches, document) = try traceBatches(path: trace, agent: try AgentID("k\(index)/trace"), eventsPerBatch: batchEvents)
            work.append(batches)
            events += document.eventCount
        }
        let server = options.makeServer(directory: directory)
        try server.start()
        defer { server.stop() }
        let window = window
        let port = server.port
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, token) in tokens.enumerated() {
                let batches = work[index]
                group.addTask {
                    var client = try await LoadClient.connect(port: port, token: token)
                    guard case .ok? = try await client.request({ .createDocument(request: $0, document: "k\(index).durable") }) else {
                        throw LoadError("create failed")
                    }
                    var sent = 0
                    var acknowledged = 0
                    while acknowledged < batches.count {
                        while sent < batches.count && sent - acknowledged < window {
                            try await client.connection.send(.push(request: UInt64(1000 + sent), document: "k\(index).durable", changes: batches[sent]))
                            sent += 1
                        }
                        guard let message = try await client.iterator.next() else { throw LoadError("closed") }
                        switch message {
                        case .pushAck: acknowledged += 1
                        case let .error(report): throw LoadError("push refused: \(report.message)")
                        default: break
                        }
                    }
                    await client.connection.close()
                }
            }
            try await group.waitForAll()
        }
        let seconds = milliseconds(ContinuousClock.now - start) / 1000
        let batches = work.reduce(0) { $0 + $1.count }
        let bytes = work.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
        try printJSON([
            "scenario": "durable", "clients": clients, "window": window, "batchEvents": batchEvents,
            "events": events, "batches": batches, "bytes": bytes, "seconds": seconds,
            "eventsPerSecond": Double(events) / seconds, "batchesPerSecond": Double(batches) / seconds,
            "serverPeakRSSBytes": server.memory().peakBytes,
        ])
    }
}
