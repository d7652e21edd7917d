import Foundation
import GRDB
import SporClient
import SporCRDT
import SporProposal
import SporTestSupport
@testable import SporClient

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// How many times the long form repeats a fault: `SPOR_<NAME>` or `short` (CI).
func repetitions(_ name: String, short: Int) -> Int {
    getenvString("SPOR_\(name)").flatMap(Int.init) ?? short
}

/// Polls `condition` until it holds, for at most `limit` (a guard against hangs,
/// not a measurement).
func waitUntil(_ limit: Duration = .seconds(120), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("condition not met within \(limit)")
}

/// Sets a workspace up against `address` with the library's own setup.
func setUpWorkspace(_ address: String, token: String) async throws -> Workspace {
    let workspace = try Workspace(directory: temporaryTestDirectory("spor-system-workspace"))
    guard let (host, port) = ServerSettings.parseAddress(address) else { throw TestFailure("bad address \(address)") }
    _ = try await SyncEngine.setUp(workspace, settings: ServerSettings(host: host, port: port, token: token), clientName: "system-test")
    return workspace
}

/// Points a set-up workspace at another address (a fault proxy in front of the server).
func redirect(_ workspace: Workspace, to address: String, token: String) throws {
    let identity = try workspace.identity()
    guard let (host, port) = ServerSettings.parseAddress(address) else { throw TestFailure("bad address \(address)") }
    _ = try workspace.configure(server: ServerSettings(host: host, port: port, token: token), organisation: identity.organisation,
                                organisationName: identity.organisationName, organisationKind: identity.organisationKind,
                                agentPrefix: "\(identity.organisation)/")
}

extension Workspace {
    /// This workspace's own events of proposal `id` that the server has acknowledged:
    /// its agent's events minus those still in the outbox, read in one transaction.
    func acknowledgedOwnEvents(of id: String) throws -> Int {
        let agent = try identity().agent
        let path = path
        return try read { db in
            guard let loaded = try Workspace.load(id, agent: agent, db: db, path: path) else { return 0 }
            let waiting = try Workspace.outbox(db).reduce(0) { total, entry in
                if case let .push(_, events) = entry.kind, entry.document == id { return total + events }
                return total
            }
            return loaded.document.versionVector[agent] - waiting
        }
    }
}

/// What the server's database holds for document `id`: its event count and each
/// agent's stored events (read straight from the file, e.g. right after a kill -9).
func serverState(_ server: ServerProcess, _ id: String) throws -> (events: Int, agents: [String: Int]) {
    let database = try DatabaseQueue(path: (server.directory as NSString).appendingPathComponent("spor.sqlite"))
    defer { try? database.close() }
    return try database.read { db in
        let events = try Int.fetchOne(db, sql: "SELECT eventCount FROM document WHERE id = ?", arguments: [id]) ?? 0
        var agents: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT agent, nextSeq FROM documentAgent WHERE documentID = ?", arguments: [id]) {
            agents[row["agent"]] = row["nextSeq"]
        }
        return (events, agents)
    }
}

/// Three organisations with workspaces on one shared proposal, all synced once.
struct Consortium {
    let server: ServerProcess
    let tokens: [String]
    let workspaces: [Workspace]
    let proposal: String

    static let organisations = [("Aarhus Kommune", "kommune", "0751"), ("Odense Kommune", "kommune", "0461"),
                                ("Region Midtjylland", "region", "1082")]

    static func start(server given: ServerProcess? = nil, address: String? = nil) async throws -> Consortium {
        let server = try given ?? ServerProcess()
        let tokens = try organisations.map { try server.addOrganisation($0.0, kind: $0.1, code: $0.2) }
        var workspaces: [Workspace] = []
        for token in tokens { workspaces.append(try await setUpWorkspace(address ?? server.address, token: token)) }
        let id = try workspaces[0].createProposal(title: "Fælles spor", roundID: "2024-spring",
                                                  now: Date(timeIntervalSince1970: 1_706_788_800))
        for (_, _, code) in organisations.dropFirst() { try workspaces[0].queueMember(.add(code, .partner), of: id) }
        for workspace in workspaces { _ = try await SyncEngine(workspace: workspace).sync() }
        return Consortium(server: server, tokens: tokens, workspaces: workspaces, proposal: id)
    }

    /// Where each workspace and the server are: for failure messages.
    func describe() -> String {
        var lines: [String] = []
        for workspace in workspaces {
            let outbox = (try? workspace.outbox()) ?? []
            let errors = Set(outbox.compactMap(\.lastError))
            let events = (try? workspace.document(proposal).eventCount) ?? -1
            lines.append("\((try? workspace.identity().organisation) ?? "?"): \(events) events, outbox \(outbox.count) \(errors.isEmpty ? "" : "\(errors)")")
        }
        lines.append("server: \((try? serverState(server, proposal).events) ?? -1) events")
        return lines.joined(separator: "; ")
    }

    /// Every workspace has an empty outbox and the same version as the server.
    func converged() throws -> Bool {
        let documents = try workspaces.map { try $0.document(proposal) }
        guard try workspaces.allSatisfy({ try $0.outbox().isEmpty }) else { return false }
        guard documents.allSatisfy({ $0.version == documents[0].version }) else { return false }
        return try serverState(server, proposal).events == documents[0].eventCount
    }
}

/// `@unchecked Sendable`: every access goes through `lock`.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}

/// `@unchecked Sendable`: every access goes through `lock`.
final class ErrorLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ entry: String) { lock.withLock { list.append(entry) } }
    var entries: [String] { lock.withLock { list } }
}

/// `body`'s result, or a failure after `seconds` (a hang guard).
func withTimeout<T: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else { throw TestFailure("no result within \(seconds) s") }
        return result
    }
}

/// A loop on its own thread, not the cooperative pool: the system tests' writers call
/// the workspace's synchronous API (SQLite, fsync) without pause, which on a task
/// would hold one of the few cooperative threads the rest of the test run (and the
/// in-process servers of other suites) needs.
final class WriterThread: @unchecked Sendable {
    // `@unchecked Sendable`: `stopped`, `failure` and `done` are only touched under `lock`.
    private let lock = NSLock()
    private var stopped = false
    private var failure: (any Error)?
    private var done = false

    init(_ body: @escaping @Sendable (Int) throws -> Void, pause: TimeInterval) {
        Thread { [self] in
            var step = 0
            while !lock.withLock({ stopped }) {
                do {
                    try body(step)
                } catch {
                    lock.withLock { failure = error }
                    break
                }
                step += 1
                Thread.sleep(forTimeInterval: pause)
            }
            lock.withLock { done = true }
        }.start()
    }

    /// Stops the loop and waits for it; rethrows what stopped it early.
    func stop() async throws {
        lock.withLock { stopped = true }
        while !lock.withLock({ done }) { try await Task.sleep(for: .milliseconds(10)) }
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}

/// Runs `body` on a thread of its own and returns its result: for test bodies that
/// wait on child processes for seconds at a time, which on the cooperative pool would
/// hold one of its few threads from the rest of the test run.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
