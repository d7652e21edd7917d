import ArgumentParser
import Foundation
import SporCRDT
import SporProposal
import SporServer
import SporTraces
import SporWire
import SporWireClient

/// Measures a real `spor-server` process over loopback: relay latency under many
/// connections, durable push throughput, catch-up time and restart time. Every
/// scenario starts its own server with a fresh data directory (accounts are created
/// through the store, as `spor-server org add` does) and prints one JSON object.
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor-loadgen",
        abstract: "Load and timing benchmarks for spor-server (release builds only give meaningful numbers).",
        subcommands: [Relay.self, UnderAttack.self, Durable.self, CatchUp.self, ClientCatchUp.self, Restart.self, WebOverview.self]
    )
}

/// `relay` while one more account attacks the server in a loop (``Attacker``): what
/// hostile pushes do to everybody else's latency, and to the server's memory.
struct UnderAttack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "under-attack",
        abstract: "The relay load while one account attacks the server in a loop.",
        discussion: "Takes every option of `relay`; --attackers defaults to 1 here."
    )

    @Argument(parsing: .allUnrecognized, help: "Options of `relay`.") var relayArguments: [String] = []

    func run() async throws {
        var relay = try Relay.parse(relayArguments)
        if !relayArguments.contains("--attackers") { relay.attackers = 1 }
        try await relay.run()
    }
}

/// Options every scenario shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "The spor-server executable (default: next to spor-loadgen).")
    var server: String?

    @Option(help: "Run the server on these CPUs only (a taskset list such as 0 or 0-1); run the generator itself under `taskset` on the others, so the two do not compete.")
    var serverCpus: String?

    func makeServer(directory: String, extraArguments: [String] = []) -> ServerProcess {
        ServerProcess(executable: serverPath, directory: directory, extraArguments: extraArguments, cpus: serverCpus)
    }

    var serverPath: String {
        server ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("spor-server").path
    }
}

/// A `spor-server serve` child process on a free port.
final class ServerProcess: @unchecked Sendable {
    // @unchecked: `process` and `port` are set once in `start` before the object is
    // shared and only read afterwards.
    let process = Process()
    let directory: String
    private(set) var port = 0
    private(set) var startedAt = ContinuousClock.now
    private(set) var listeningAfter: Duration = .zero
    /// The web overview's port, when started with `--web`.
    private(set) var webPort: Int?

    init(executable: String, directory: String, extraArguments: [String] = [], cpus: String? = nil) {
        self.directory = directory
        let arguments = ["serve", "--data", directory, "--listen", "127.0.0.1:0", "--log-level", "error",
                         "--max-connections", "8192"] + extraArguments
        if let cpus {
            // taskset execs the server: the same process id, every thread pinned.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["--cpu-list", cpus, executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
    }

    func start() throws {
        let output = Pipe()
        process.standardOutput = output
        startedAt = .now
        try process.run()
        let handle = output.fileHandleForReading
        var buffer = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { throw LoadError("spor-server exited before listening") }
            buffer.append(chunk)
            let text = String(decoding: buffer, as: UTF8.self)
            let wantsWeb = process.arguments?.contains("--web") == true
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
               let portText = line.split(separator: ":").last, let port = Int(portText),
               !wantsWeb || (text.contains("web overview on ") && text.hasSuffix("\n")) {
                self.port = port
                webPort = text.split(separator: "\n").first { $0.hasPrefix("web overview on ") }
                    .flatMap { Int($0.split(separator: ":").last?.dropLast() ?? "") }
                listeningAfter = ContinuousClock.now - startedAt
                return
            }
        }
    }

    /// Peak and current resident memory of the server, from /proc.
    func memory() -> (peakBytes: Int, currentBytes: Int) {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else {
            return (0, 0)
        }
        func kilobytes(_ key: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return (kilobytes("VmHWM:") * 1024, kilobytes("VmRSS:") * 1024)
    }

    /// CPU time (user + system) the server has used so far, from /proc.
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let afterName = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are 14 and 15.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// CPU time (user + system) this process has used so far.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A connected, authenticated client with a request counter.
struct LoadClient {
    let connection: WireConnection
    var iterator: WireConnection.Messages.AsyncIterator
    var nextRequest: UInt64 = 1

    static func connect(port: Int, token: String, versions: ClosedRange<Int> = SporProtocol.supportedVersions,
                        intercept: (@Sendable (SporMessage) -> Bool)? = nil) async throws -> LoadClient {
        let connection = try await WireConnection.connect(host: "127.0.0.1", port: port, intercept: intercept)
        var client = LoadClient(connection: connection, iterator: connection.messages.makeAsyncIterator())
        try await connection.send(.hello(.init(versions: versions, token: token, client: "spor-loadgen")))
        let first = try await client.iterator.next()
        guard case .welcome? = first else {
            if case let .error(report)? = first { throw LoadError("no WELCOME: \(report.message)") }
            throw LoadError("no WELCOME")
        }
        return client
    }

    mutating func request(_ make: (UInt64) -> SporMessage) async throws -> SporMessage? {
        let id = nextRequest
        nextRequest += 1
        try await connection.send(make(id))
        while let message = try await iterator.next() {
            switch message {
            case .ok(id), .pushAck(id, _, _, _): return message
            case let .error(report) where report.request == id: return message
            default: continue
            }
        }
        return nil
    }

    /// Subscribes and merges the catch-up into `document`.
    mutating func catchUp(_ id: String, into document: inout Document) async throws {
        try await connection.send(.subscribe(request: 1, document: id, version: document.versionVector))
        while let message = try await iterator.next() {
            switch message {
            case let .events(events):
                for batch in events.batches { try document.merge(encodedChanges: batch) }
            case .caughtUp:
                return
            case let .error(report):
                throw LoadError("catch-up refused: \(report.message)")
            default:
                continue
            }
        }
        throw LoadError("closed during catch-up")
    }

    /// Subscribes from the empty version and counts the events served (from each
    /// batch's summary, without merging) until CAUGHT_UP.
    /// The server's own events (members, process records) are not counted: they are
    /// not pushes.
    mutating func countCatchUp(_ id: String) async throws -> Int {
        try await connection.send(.subscribe(request: 1, document: id, version: VersionVector()))
        var events = 0
        while let message = try await iterator.next() {
            switch message {
            case let .events(batches):
                for batch in batches.batches {
                    events += try ChangeSummary(encodedChanges: batch).runs.filter { $0.agent != ProposalSchema.serverAgent }
                        .reduce(0) { $0 + $1.seqs.count }
                }
            case .caughtUp:
                try await connection.send(.unsubscribe(document: id))
                return events
            case let .error(report):
                throw LoadError("catch-up refused: \(report.message)")
            default:
                continue
            }
        }
        throw LoadError("closed during catch-up")
    }
}

func temporaryDirectory(_ name: String) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("spor-loadgen-\(name)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// The sequential automerge-paper trace (or another) as change batches of about
/// `eventsPerBatch` events, authored by `agent`.
func traceBatches(path: String, agent: AgentID, eventsPerBatch: Int) throws -> (batches: [[UInt8]], document: Document) {
    let trace = try EditingTrace(contentsOf: path)
    var document = Document(agent: agent)
    var batches: [[UInt8]] = []
    var since = VersionVector()
    var pending = 0
    for transaction in trace.transactions {
        for patch in transaction.patches {
            if patch.deleteCount > 0 { try document.delete(patch.position..<patch.position + patch.deleteCount) }
            if !patch.insert.isEmpty { try document.insert(patch.insert, at: patch.position) }
            pending += patch.deleteCount + patch.insert.unicodeScalars.count
        }
        if pending >= eventsPerBatch {
            batches.append(try document.encodedChanges(since: since))
            since = document.versionVector
            pending = 0
        }
    }
    if pending > 0 { batches.append(try document.encodedChanges(since: since)) }
    return (batches, document)
}
