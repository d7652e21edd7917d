import Foundation
import SporCRDT
import SporTestSupport
import SporWire
import Testing
@testable import SporClient

/// A proposal whose changes from the server do not merge (an older or broken server
/// stored them) must not stop a workspace from syncing its other proposals.
@Suite("one bad proposal from the server", .timeLimit(.minutes(2)), .blockingCallsAllowed)
struct BadDocumentTests {
    @Test("changes that do not merge are named and left out; the other proposals sync; the bad one's changes wait")
    func badDocumentSkipped() async throws {
        // The bad document's history: its own events ("a"), then an edit that does not apply there.
        let fixture = try EditOutsideItsText(agent: "0461/partner")
        let stored = try fixture.storedHistory.encodedChanges()
        let edit = fixture.edit, badVersion = fixture.author.versionVector
        var writer = Document(agent: try AgentID("0461/partner"))
        try writer.insert("Skybrud i Odense", at: 0)
        let goodBatch = try writer.encodedChanges(), goodVersion = writer.versionVector
        let server = try await ScriptedServer { message in
            switch message {
            case .hello:
                return [.welcome(.init(version: SporProtocol.supportedVersions.upperBound, organisation: "0751",
                                organisationName: "Aarhus Kommune", organisationKind: "kommune", agentPrefix: "0751/",
                                maxFrameBytes: 1 << 20, maxBatchEvents: 10_000, idleTimeoutSeconds: 30))]
            case let .listRounds(request): return [.rounds(request: request, rounds: [])]
            case let .listDocuments(request):
                return [.documents(request: request, documents: [.init(document: "0461.daarlig", events: 4),
                                                                 .init(document: "0461.god", events: 1)])]
            case let .subscribe(_, document, _) where document == "0461.daarlig":
                return [.events(.init(document: document, isCatchUp: true, batches: [stored, edit])),
                        .caughtUp(document: document, version: badVersion)]
            case let .subscribe(_, document, _):
                return [.events(.init(document: document, isCatchUp: true, batches: [goodBatch])),
                        .caughtUp(document: document, version: goodVersion)]
            default: return []
            }
        }
        defer { Task { await server.stop() } }
        let workspace = try offlineWorkspace()
        _ = try workspace.configure(server: ServerSettings(host: "127.0.0.1", port: server.port, token: "spor_test"),
                                    organisation: "0751", organisationName: "Aarhus Kommune", organisationKind: "kommune",
                                    agentPrefix: "0751/")
        let report = try await SyncEngine(workspace: workspace, stallTimeout: .seconds(20)).sync()
        #expect(report.refusals.map(\.document) == ["0461.daarlig"], "\(report.refusals)")
        #expect(report.refusals.first?.message.contains("do not merge") == true)
        #expect(try workspace.document("0461.god").text() == "Skybrud i Odense")
        #expect(report.newDocuments == ["0461.god"], "nothing of the bad document stored")
        // Sent before the session ended; the scripted server counts it as it reads it.
        let deadline = ContinuousClock.now + .seconds(30)
        while server.received(.unsubscribe) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.received(.unsubscribe) == 1)
    }
}
