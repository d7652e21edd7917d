import Foundation
import SporClient
import SporWire
import Synchronization
import SporTestSupport
import Testing

/// A server that is connected and talking but does not answer — a stuck request
/// behind a busy or broken server, a path that drops one direction. The session
/// must notice by itself: other traffic (the server's pings, relays) is no answer.
@Suite("Sessions with a server that stops answering", .blockingCallsAllowed)
struct StalledServerTests {
    /// Short, so the tests are quick; long enough that a busy CI machine answers the
    /// requests the scripted server does answer well within it. (At 2 s a full run on
    /// two cores, its session tasks waiting seconds for a thread, timed each session
    /// out before its first push for 150 s: `watchReconnectsAfterStall` failed.)
    static let stallTimeout: Duration = .seconds(5)

    /// A scripted server that accepts creations (and lists what was created) and
    /// subscriptions, and never answers a push; with `answeringPings` false it never
    /// answers a ping either.
    static func server(pingEvery: Duration?, answeringPings: Bool = true, idleTimeoutSeconds: Int = 3,
                       answerPush: (@Sendable (UInt64, String) -> [SporMessage])? = nil) async throws -> ScriptedServer {
        let created = CreatedDocuments()
        return try await ScriptedServer(pingEvery: pingEvery) { (message: SporMessage) -> [SporMessage] in
            switch message {
            case .hello:
                return [.welcome(.init(version: SporProtocol.supportedVersions.upperBound, organisation: "0751",
                                organisationName: "Aarhus Kommune", organisationKind: "kommune", agentPrefix: "0751/",
                                maxFrameBytes: 1 << 20, maxBatchEvents: 10_000, idleTimeoutSeconds: idleTimeoutSeconds))]
            case let .listRounds(request): return [.rounds(request: request, rounds: [])]
            case let .listDocuments(request):
                return [.documents(request: request, documents: created.ids.withLock { $0.map { .init(document: $0, events: 0) } })]
            case let .createDocument(request, document):
                created.ids.withLock { _ = $0.insert(document) }
                return [.ok(request: request)]
            case let .subscribe(_, document, version): return [.caughtUp(document: document, version: version)]
            case let .push(request, document, _): return answerPush?(request, document) ?? []
            case let .ping(nonce): return answeringPings ? [.pong(nonce: nonce)] : []
            default: return []
            }
        }
    }

    final class CreatedDocuments: Sendable {
        let ids = Mutex<Set<String>>([])
    }

    static func workspace(server: ScriptedServer, withChange: Bool) throws -> Workspace {
        let workspace = try offlineWorkspace()
        _ = try workspace.configure(server: ServerSettings(host: "127.0.0.1", port: server.port, token: "spor_test"),
                                    organisation: "0751", organisationName: "Aarhus Kommune", organisationKind: "kommune",
                                    agentPrefix: "0751/")
        if withChange {
            let id = try workspace.createProposal(title: "Skybrud", roundID: "2024-spring", now: february2024)
            try workspace.change(id) { try $0.setSection(.summary, to: "Regn.\n") }
        }
        return workspace
    }

    @Test("a push refused for dependencies the server does not have yet is sent again in the same session, and goes through once they arrive",
          .timeLimit(.minutes(3)))
    func missingDependenciesRetried() async throws {
        // The server refuses the first two pushes it sees as missing dependencies (an
        // earlier push still on its way through a broken connection), then accepts.
        let refusedSoFar = Mutex(0)
        let server = try await Self.server(pingEvery: nil, idleTimeoutSeconds: 30) { request, document in
            let refuse = refusedSoFar.withLock { count -> Bool in
                guard count < 2 else { return false }
                count += 1
                return true
            }
            return refuse ? [.error(.init(request: request, code: .missingDependencies, message: "the changes depend on 0751/x@3"))]
                          : [.pushAck(request: request, document: document, newEvents: 1, storedAt: nil)]
        }
        defer { Task { await server.stop() } }
        let workspace = try Self.workspace(server: server, withChange: true)
        let report = try await SyncEngine(workspace: workspace, stallTimeout: .seconds(20)).sync()
        #expect(report.refusals.isEmpty, "\(report.refusals)")
        #expect(try workspace.outbox().isEmpty, "sent again and acknowledged in the same sync")
        #expect(server.received(.push) >= 3)
    }

    @Test("sync: a push left unanswered while the server keeps pinging ends in a timeout, and the outbox keeps the change",
          .timeLimit(.minutes(3)))
    func unansweredPushWhilePinged() async throws {
        let server = try await Self.server(pingEvery: .milliseconds(200))
        defer { Task { await server.stop() } }
        let workspace = try Self.workspace(server: server, withChange: true)
        let outbox = try workspace.outbox()
        let started = ContinuousClock.now
        let error = await #expect(throws: SyncError.self) {
            _ = try await SyncEngine(workspace: workspace, stallTimeout: Self.stallTimeout).sync()
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("not answered") == true)
        // Not before the stall timeout. (No upper bound but the time limit: the old
        // rule never ended this session at all, and a busy CI machine can starve these
        // tasks for tens of seconds.)
        #expect(elapsed >= Self.stallTimeout)
        #expect(server.received(.push) >= 1)
        // The unacknowledged change stays, unchanged (the creation was acknowledged,
        // unless a starved machine timed the session out before that).
        #expect(try workspace.outbox().filter { $0.kind != .create } == outbox.filter { $0.kind != .create })
        #expect(outbox.contains { $0.kind != .create })
    }

    @Test("watch: a stalled session is dropped and the unacknowledged push is sent again on a new connection",
          .timeLimit(.minutes(3)))
    func watchReconnectsAfterStall() async throws {
        let server = try await Self.server(pingEvery: .milliseconds(200))
        defer { Task { await server.stop() } }
        let workspace = try Self.workspace(server: server, withChange: true)
        let retries = Mutex<[SyncError.Code]>([])
        let watcher = Task {
            try await SyncEngine(workspace: workspace, stallTimeout: Self.stallTimeout)
                .watch(onRetry: { error, _ in retries.withLock { $0.append(error.code) } },
                       backoff: ReconnectBackoff(base: .milliseconds(50), cap: .milliseconds(200)))
        }
        defer { watcher.cancel() }
        let pushEntries = try workspace.outbox().filter { if case .push = $0.kind { true } else { false } }.count
        #expect(pushEntries > 0)
        // A session sends each entry once: more pushes than entries means a new
        // session sent them again.
        try await waitUntil(within: .seconds(150)) { server.received(.push) > pushEntries }
        watcher.cancel()
        #expect(server.connections >= 2)
        #expect(!retries.withLock { $0.isEmpty } && retries.withLock { $0.allSatisfy { $0 == .timeout } })
    }

    @Test("watch: an idle session whose pings go unanswered is dropped and reconnects", .timeLimit(.minutes(3)))
    func unansweredPing() async throws {
        let server = try await Self.server(pingEvery: nil, answeringPings: false)
        defer { Task { await server.stop() } }
        let workspace = try Self.workspace(server: server, withChange: false)
        let retries = Mutex<[SyncError]>([])
        let watcher = Task {
            try await SyncEngine(workspace: workspace, stallTimeout: Self.stallTimeout)
                .watch(onRetry: { error, _ in retries.withLock { $0.append(error) } },
                       backoff: ReconnectBackoff(base: .milliseconds(50), cap: .milliseconds(200)))
        }
        defer { watcher.cancel() }
        // (On a starved machine an earlier session may also time out waiting for the
        // list; what matters is that unanswered pings end one.)
        try await waitUntil(within: .seconds(150)) {
            retries.withLock { $0.contains { $0.code == .timeout && $0.message.contains("ping") } } && server.connections >= 2
        }
        watcher.cancel()
        #expect(retries.withLock { $0.allSatisfy { $0.code == .timeout } })
        #expect(server.received(.ping) >= 1)
    }
}
