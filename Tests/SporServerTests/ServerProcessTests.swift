import Foundation
import SporCRDT
import SporTestSupport
import SporWire
import Testing

/// The `spor-server` executable as an operator runs it: admin commands, `serve`
/// announcing its port, the secretariat created on first start, and a `kill -9`
/// after acknowledgements losing nothing.
@Suite("spor-server process", .blockingCallsAllowed)
struct ServerProcessTests {
    /// The spor-server built next to the test bundle (`swift build` builds it with the tests).
    static var executable: URL {
        get throws { try SpawnedServer.builtExecutable("spor-server") }
    }

    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = try executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Starts `serve` and returns the process, the port it announced and everything
    /// it printed before.
    static func serve(_ directory: String) throws -> (Process, Int, String) {
        try SpawnedServer.serve(directory: directory)
    }

    /// Kills a server the test started, whatever state it is in.
    static func stop(_ process: Process) {
        SpawnedServer.stop(process)
    }

    @Test("admin commands: the token alone on the last line, JSON on request, clear refusals")
    func adminCommands() throws {
        let directory = TestServer.temporaryDirectory()
        // A directory that is no Spor data directory is refused (a mistyped --data
        // must not create a store the running server does not know), and not created.
        let wrong = (directory as NSString).appendingPathComponent("WRONG")
        let mistyped = try Self.run(["org", "list", "--data", wrong])
        #expect(mistyped.status == 1 && mistyped.stderr.contains("is not a Spor data directory"), "\(mistyped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: wrong))
        #expect(try Self.run(["org", "add", "Aarhus Kommune", "--kind", "kommune", "--code", "0751", "--data", directory]).status == 1)
        let added = try Self.run(["org", "add", "Aarhus Kommune", "--kind", "kommune", "--code", "0751", "--data", directory, "--init"])
        #expect(added.status == 0)
        let token = try #require(added.stdout.split(separator: "\n").last.map(String.init))
        #expect(token.hasPrefix("spor_") && token.count > 40 && !token.contains(" "))

        let json = try Self.run(["org", "add", "Rambøll Danmark", "--kind", "company", "--data", directory, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let organisation = object?["organisation"] as? [String: Any]
        #expect(organisation?["id"] as? String == "ramboell-danmark")
        #expect((object?["token"] as? String)?.hasPrefix("spor_") == true)

        let duplicate = try Self.run(["org", "add", "Aarhus Kommune", "--kind", "kommune", "--data", directory])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already exists"))
        let badKind = try Self.run(["org", "add", "X", "--kind", "county", "--data", directory])
        #expect(badKind.status != 0)
        #expect(badKind.stderr.contains("kind"))
        let notAMunicipality = try Self.run(["org", "add", "Fake Kommune", "--kind", "kommune", "--code", "9999", "--data", directory])
        #expect(notAMunicipality.status == 1)
        #expect(notAMunicipality.stderr.contains("9999 is not the code of a kommune"))
        let regionAsKommune = try Self.run(["org", "add", "Region X", "--kind", "kommune", "--code", "1082", "--data", directory])
        #expect(regionAsKommune.status == 1)
        // Without --code a municipality gets its official code from the reference data,
        // so participants naming it (`--org Vejle`) and its account agree.
        let vejle = try Self.run(["org", "add", "Vejle Kommune", "--kind", "kommune", "--data", directory, "--json"])
        let vejleAccount = (try JSONSerialization.jsonObject(with: Data(vejle.stdout.utf8)) as? [String: Any])?["organisation"] as? [String: Any]
        #expect(vejleAccount?["id"] as? String == "0630", "\(vejle.stdout) \(vejle.stderr)")
        let unknownKommune = try Self.run(["org", "add", "Gotham Kommune", "--kind", "kommune", "--data", directory])
        #expect(unknownKommune.status == 1 && unknownKommune.stderr.contains("not a kommune in the reference data"), "\(unknownKommune.stderr)")
        #expect(try Self.run(["org", "add", "Acme", "--kind", "company", "--code", "acme.dk", "--data", directory]).status == 1,
                "no dots in ids: namespaces of proposal ids")
        let unknown = try Self.run(["org", "revoke", "nobody", "--data", directory])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("nobody"))

        let list = try Self.run(["org", "list", "--data", directory])
        #expect(list.stdout.contains("0751\tkommune\tactive\tAarhus Kommune"))
        #expect(try Self.run(["org", "revoke", "0751", "--data", directory]).status == 0)
        #expect(try Self.run(["org", "list", "--data", directory]).stdout.contains("0751\tkommune\trevoked"))
        let rotated = try Self.run(["token", "rotate", "0751", "--data", directory])
        #expect(rotated.stdout.split(separator: "\n").last?.hasPrefix("spor_") == true)

        let round = try Self.run(["round", "add", "--id", "2025-spring", "--danish-name", "Forår 2025", "--english-name", "Spring 2025",
                                  "--qualification-deadline", "2025-03-03 12:00", "--approval-deadline", "2025-04-07 12:00",
                                  "--committee-meeting", "2025-05-20", "--data", directory])
        #expect(round.status == 0, "\(round.stderr)")
        #expect(try Self.run(["round", "list", "--data", directory]).stdout.contains("2025-spring"))
        let badRound = try Self.run(["round", "add", "--id", "2025-bad", "--danish-name", "x", "--english-name", "x",
                                     "--qualification-deadline", "2025-13-03 12:00", "--approval-deadline", "2025-04-07 12:00",
                                     "--committee-meeting", "2025-05-20", "--data", directory])
        #expect(badRound.status == 1)
        // Round ids clients cannot read are refused at the door.
        let badID = try Self.run(["round", "add", "--id", "forår 2028!", "--danish-name", "Forår 2028", "--english-name", "Spring 2028",
                                  "--qualification-deadline", "2028-03-03 12:00", "--approval-deadline", "2028-04-07 12:00",
                                  "--committee-meeting", "2028-05-20", "--data", directory])
        #expect(badID.status == 1 && badID.stderr.contains("round id"), "\(badID.stderr)")
        #expect(try Self.run(["round", "remove", "--id", "2025-spring", "--data", directory]).status == 0)
        #expect(!(try Self.run(["round", "list", "--data", directory]).stdout.contains("2025-spring")))
        #expect(try Self.run(["round", "remove", "--id", "2024-autumn", "--data", directory]).status == 1, "built in")
        #expect(try Self.run(["round", "remove", "--id", "2025-spring", "--data", directory]).status == 1, "gone already")
    }

    @Test("first start creates the secretariat and prints its token once; kill -9 after acks loses nothing")
    func firstStartAndKill() async throws {
        let directory = TestServer.temporaryDirectory()
        let (first, port, banner) = try Self.serve(directory)
        defer { Self.stop(first) }
        // The token goes to an owner-only file, never to stdout (a service's journal).
        #expect(!banner.contains("spor_"), "\(banner)")
        let tokenFile = (directory as NSString).appendingPathComponent("secretariat-token")
        #expect(banner.contains(tokenFile))
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("spor_"))
        func mode(_ path: String) throws -> Int? {
            try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        }
        #expect(try mode(tokenFile) == 0o600)
        #expect(try mode(directory) == 0o700)
        for file in ["spor.sqlite", "spor.sqlite-wal", "spor.sqlite-shm"] {
            #expect(try mode((directory as NSString).appendingPathComponent(file)) == 0o600, "\(file)")
        }
        var office = try await TestClient.connect(port: port)
        try await office.hello(token: token)
        #expect(office.welcome?.organisationKind == "secretariat")
        await office.close()
        // A municipality writes (the secretariat does not lead proposals).
        let added = try Self.run(["org", "add", "Aarhus Kommune", "--kind", "kommune", "--code", "0751", "--data", directory])
        var client = try await TestClient.connect(port: port)
        try await client.hello(token: try #require(added.stdout.split(separator: "\n").last.map(String.init)))
        try await client.createDocument("0751.p")
        var document = Document(agent: try AgentID("0751/laptop"))
        var pushed = VersionVector()
        for index in 0..<20 {
            try document.insert("Punkt \(index). ", at: document.textLength())
            guard case .pushAck = try await client.push(try document.encodedChanges(since: pushed), to: "0751.p") else {
                throw TestFailure("push refused")
            }
            pushed = document.versionVector
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        await client.close()

        let (second, newPort, secondBanner) = try Self.serve(directory)
        defer { Self.stop(second) }
        #expect(!secondBanner.contains("spor_"))  // the token is printed only on the first start
        var reader = try await TestClient.connect(port: newPort)
        try await reader.hello(token: token)  // the secretariat reads every proposal
        var replica = Document()
        try await reader.subscribeAndCatchUp("0751.p", into: &replica)
        #expect(replica.text() == document.text())
        await reader.close()
    }

    @Test("SIGTERM: acknowledged pushes stay, clients are told the server is shutting down, exit status 0")
    func sigtermDrains() async throws {
        let directory = TestServer.temporaryDirectory()
        let added = try Self.run(["org", "add", "Aarhus Kommune", "--kind", "kommune", "--code", "0751", "--data", directory, "--init"])
        let token = try #require(added.stdout.split(separator: "\n").last.map(String.init))
        let (process, port, _) = try Self.serve(directory)
        defer { Self.stop(process) }
        var client = try await TestClient.connect(port: port)
        try await client.hello(token: token)
        try await client.createDocument("0751.p")
        var document = Document(agent: try AgentID("0751/laptop"))
        try document.insert("Gemt før nedlukning", at: 0)
        guard case .pushAck = try await client.push(try document.encodedChanges(), to: "0751.p") else { throw TestFailure("push") }

        kill(process.processIdentifier, SIGTERM)
        var sawShutdown = false
        while let message = try await client.receive() {
            if case let .error(report) = message, report.knownCode == .shuttingDown { sawShutdown = true }
        }
        process.waitUntilExit()
        #expect(sawShutdown)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)

        let (again, newPort, _) = try Self.serve(directory)
        defer { Self.stop(again) }
        var reader = try await TestClient.connect(port: newPort)
        try await reader.hello(token: token)
        var replica = Document()
        try await reader.subscribeAndCatchUp("0751.p", into: &replica)
        #expect(replica.text() == "Gemt før nedlukning")
        await reader.close()
    }
}
