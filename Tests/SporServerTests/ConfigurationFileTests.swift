import Foundation
import SporTestSupport
import Testing

/// `spor-server serve --config FILE`: the settings from a YAML file, flags over it,
/// JSON log lines on request, and mistakes in the file refused by name.
@Suite("the server's configuration file", .blockingCallsAllowed, .timeLimit(.minutes(3)))
struct ConfigurationFileTests {
    struct Started {
        let process: Process
        let port: Int
        let metricsPort: Int?
        let stderr: Pipe
    }

    /// Starts `spor-server serve` with `arguments` and reads stdout until it listens
    /// (and, when `metrics`, until it names its operations port).
    static func start(_ arguments: [String], metrics: Bool) throws -> Started {
        let process = Process()
        process.executableURL = try SpawnedServer.builtExecutable("spor-server")
        process.arguments = ["serve"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var text = ""
        func port(after prefix: String) -> Int? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
            return Int(line.dropFirst(prefix.count).prefix { $0.isNumber })
        }
        while true {
            if let listening = port(after: "listening on 127.0.0.1:") {
                let operations = port(after: "metrics on http://127.0.0.1:")
                if !metrics || operations != nil { return Started(process: process, port: listening, metricsPort: operations, stderr: err) }
            }
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw TestFailure("spor-server exited before listening: \(text) \(stderr)")
            }
            text += String(decoding: chunk, as: UTF8.self)
        }
    }

    static func write(_ yaml: String) throws -> String {
        let directory = temporaryTestDirectory("spor-config")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = (directory as NSString).appendingPathComponent("spor-server.yaml")
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    @Test("the file's data directory, addresses, limits and JSON logs are used; a flag wins over the file")
    func fileAndFlags() async throws {
        let data = temporaryTestDirectory("spor-config-data")
        let secretDirectory = temporaryTestDirectory("spor-config-secret")
        try FileManager.default.createDirectory(atPath: secretDirectory, withIntermediateDirectories: true)
        let secretFile = (secretDirectory as NSString).appendingPathComponent("webhook-secret")
        try Data("0123456789abcdef0123\n".utf8).write(to: URL(fileURLWithPath: secretFile))
        let file = try Self.write("""
            webhooks:
              - url: http://127.0.0.1:9/spor
                secretFile: \(secretFile)
                events: [proposal.submitted, proposal.decided]
            data: \(data)
            listen: 127.0.0.1:0
            metrics: 127.0.0.1:0
            log: { level: info, format: json }
            limits:
              idleTimeout: 60
              helloTimeout: 30
              maxConnections: 100
            """)
        let server = try Self.start(["--config", file], metrics: true)
        #expect(FileManager.default.fileExists(atPath: (data as NSString).appendingPathComponent("spor.sqlite")), "the file's data directory")
        let port = try #require(server.metricsPort)
        let ready = try await TLSAndOperationsTests.httpGet(port: port, path: "/readyz")
        #expect(ready.hasPrefix("HTTP/1.1 200 OK"), "\(ready)")
        let deliveries = try runProcess(try SpawnedServer.builtExecutable("spor-server"), ["webhooks", "--data", data])
        #expect(deliveries.status == 0 && deliveries.stdout == "No webhook deliveries yet.\n", "\(deliveries.stdout) \(deliveries.stderr)")
        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
        let lines = String(decoding: server.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "every log line is one JSON object: \(lines)")
        #expect(objects.allSatisfy { $0["time"] is String && $0["level"] is String && $0["label"] as? String == "spor.server" })
        #expect(objects.contains { $0["message"] as? String == "listening" && ($0["metadata"] as? [String: Any])?["address"] != nil }, "\(lines)")

        // --data on the command line wins over the file's; --log-format text over its json.
        let other = temporaryTestDirectory("spor-config-flag")
        let flagged = try Self.start(["--config", file, "--data", other, "--log-format", "text"], metrics: true)
        #expect(FileManager.default.fileExists(atPath: (other as NSString).appendingPathComponent("spor.sqlite")))
        kill(flagged.process.processIdentifier, SIGTERM)
        flagged.process.waitUntilExit()
        let text = String(decoding: flagged.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("listening") && !text.hasPrefix("{"), "\(text)")
    }

    @Test("an unknown key, a value of the wrong kind, bad YAML and a missing file are refused by name; the server does not start",
          arguments: [
              ("metrix: 127.0.0.1:9464", "unknown key metrix"),
              ("limits: { idleTimout: 5 }", "unknown key limits.idleTimout"),
              ("limits: { maxConnections: many }", "limits.maxConnections must be a whole number"),
              ("limits: { maxConnections: 0 }", "maxConnections must be at least 1"),
              ("tls: { cert: /etc/spor.crt }", "tls.key is missing"),
              ("metrics: [1, 2", "not valid YAML"),
              ("log: { format: xml }", "log.format"),
              ("webhooks: [{ url: 'https://x.org/h', secret: short }]", "webhooks[0]: a webhook secret must be at least 16 bytes"),
              ("webhooks: [{ url: 'https://x.org/h', secret: 0123456789abcdef, events: [proposal.eaten] }]", "no event \"proposal.eaten\""),
              ("webhooks: [{ url: 'https://x.org/h' }]", "webhooks[0] needs secret or secretFile"),
              ("webhooks: [{ url: 'file:///etc/passwd', secret: 0123456789abcdef }]", "must be http:// or https://"),
              ("webhooks: [{ url: 'https://x.org/h', secretFile: /nonexistent/secret }]", "webhooks[0].secretFile: cannot read"),
          ])
    func refused(yaml: String, message: String) throws {
        // On a free port if it were wrongly accepted: the test's time limit, not a port clash, would say so.
        let file = try Self.write("listen: 127.0.0.1:0\n" + yaml)
        let output = try runProcess(try SpawnedServer.builtExecutable("spor-server"), ["serve", "--config", file, "--data", temporaryTestDirectory()])
        #expect(output.status != 0)
        #expect(output.stderr.contains(message), "\(output.stderr)")
        #expect(!output.stdout.contains("listening"), "\(output.stdout)")
    }

    @Test("a missing configuration file is named")
    func missingFile() throws {
        let output = try runProcess(try SpawnedServer.builtExecutable("spor-server"), ["serve", "--config", "/nonexistent/spor.yaml"])
        #expect(output.status != 0 && output.stderr.contains("cannot read the configuration file /nonexistent/spor.yaml"), "\(output.stderr)")
    }
}
