import Foundation
import SporClient
import SporTestSupport

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func temporaryDirectory() -> String { temporaryTestDirectory("spor-client-test") }

/// An executable built next to the test bundle.
func builtExecutable(_ name: String) throws -> URL {
    try SpawnedServer.builtExecutable(name)
}

/// Sets a workspace up against `server` without the CLI: the library's own setup.
func setUpWorkspace(_ directory: String, server: ServerProcess, token: String) async throws -> Workspace {
    let workspace = try Workspace(directory: directory)
    guard let (host, port) = ServerSettings.parseAddress(server.address) else { throw TestFailure("bad address") }
    _ = try await SyncEngine.setUp(workspace, settings: ServerSettings(host: host, port: port, token: token), clientName: "test")
    return workspace
}

