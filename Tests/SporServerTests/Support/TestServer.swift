import Foundation
import Logging
import NIOCore
import SporCRDT
import SporServer
import SporWire
import SporWireClient

/// A real server on a free loopback port with a fresh data directory.
struct TestServer {
    let server: SporServer
    let task: Task<Void, Error>
    let port: Int
    let directory: String

    static func start(directory: String? = nil, tls: ServerConfiguration.TLSFiles? = nil,
                      configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        let directory = directory ?? temporaryDirectory()
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.tls = tls
        // Parallel tests on 2 cores can delay a HELLO; tests of the timeout set their own.
        configuration.limits.helloTimeoutSeconds = 60
        configure(&configuration)
        let store = try SporStore(directory: directory)
        var logger = Logger(label: "spor.test-server")
        logger.logLevel = .critical
        let server = try SporServer(configuration: configuration, store: store, logger: logger)
        let task = Task { try await server.run() }
        guard let address = await server.listeningAddress(), let port = address.port else {
            throw TestFailure("server did not start listening")
        }
        return TestServer(server: server, task: task, port: port, directory: directory)
    }

    var store: SporStore { server.store }

    /// Adds an organisation and returns its token.
    func addOrganisation(_ name: String, kind: AccountKind = .kommune, code: String? = nil) throws -> String {
        try store.addAccount(name: name, kind: kind, code: code).token
    }

    /// `versions`: the protocol versions the client offers in HELLO.
    func connect(token: String, client: String = "test", versions: ClosedRange<Int> = SporProtocol.supportedVersions) async throws -> TestClient {
        var client = try await TestClient.connect(port: port)
        try await client.hello(token: token, versions: versions)
        return client
    }

    /// Graceful shutdown; waits until the server has stopped.
    func stop() async throws {
        server.shutdown()
        try await task.value
    }

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spor-test-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A protocol client for tests: sends messages and reads replies in order, with a
/// timeout on every read so a missing reply fails the test instead of hanging it.
/// The timeout is generous (60 s): the suite runs tests in parallel on 2 cores, and
/// it guards against hangs, it does not measure speed.
struct TestClient {
    let connection: WireConnection
    private var iterator: WireConnection.Messages.AsyncIterator
    private(set) var welcome: SporMessage.Welcome?
    private var nextRequest: UInt64 = 1
    /// Messages ``receive(until:)`` passed over, returned first by ``receive(timeout:)``.
    private var backlog: [SporMessage] = []

    static func connect(port: Int, tls: WireConnection.TLSOptions? = nil) async throws -> TestClient {
        let connection = try await WireConnection.connect(host: "127.0.0.1", port: port, tls: tls)
        return TestClient(connection: connection, iterator: connection.messages.makeAsyncIterator())
    }

    mutating func hello(token: String, versions: ClosedRange<Int> = SporProtocol.supportedVersions) async throws {
        try await send(.hello(.init(versions: versions, token: token, client: "spor-tests")))
        let reply = try await receive()
        guard case let .welcome(welcome) = reply else { throw TestFailure("expected WELCOME, got \(String(describing: reply))") }
        self.welcome = welcome
    }

    func send(_ message: SporMessage) async throws { try await connection.send(message) }

    mutating func request() -> UInt64 {
        defer { nextRequest += 1 }
        return nextRequest
    }

    /// The next message, nil when the server closed the connection.
    mutating func receive(timeout: Duration = .seconds(60)) async throws -> SporMessage? {
        if !backlog.isEmpty { return backlog.removeFirst() }
        return try await receiveFromConnection(timeout: timeout)
    }

    /// Reads until a message `match` accepts; the others (live events, pongs) are
    /// kept for later reads.
    mutating func receive<T>(until match: (SporMessage) -> T?) async throws -> T {
        var passed: [SporMessage] = []
        defer { backlog.insert(contentsOf: passed, at: 0) }
        while true {
            if let index = backlog.firstIndex(where: { match($0) != nil }) {
                let message = backlog.remove(at: index)
                if let value = match(message) { return value }
            }
            guard let message = try await receiveFromConnection() else { throw TestFailure("connection closed while waiting") }
            if let value = match(message) { return value }
            passed.append(message)
        }
    }

    /// The next message from the socket (not the backlog); the connection is closed
    /// if none arrives within `timeout`, so a missing reply cannot hang a test.
    private mutating func receiveFromConnection(timeout: Duration = .seconds(60)) async throws -> SporMessage? {
        let connection = connection
        let timer = Task {
            try await Task.sleep(for: timeout)
            await connection.close()
        }
        defer { timer.cancel() }
        return try await iterator.next()
    }

    /// Creates the document `id` (in protocol 2 it starts with the organisation's id
    /// and a dot).
    mutating func createDocument(_ id: String) async throws {
        let request = request()
        try await send(.createDocument(request: request, document: id))
        try await expectOK(request)
    }

    mutating func addMember(_ organisation: String, to document: String, role: SporMessage.MemberRole = .partner) async throws {
        let request = request()
        try await send(.addMember(request: request, document: document, organisation: organisation, role: role))
        try await expectOK(request)
    }

    /// Sends `message` (a request with id `request`) and returns the reply to it: the
    /// first OK, STEP_RECORDED or ERROR carrying that id.
    mutating func reply(to request: UInt64, after message: SporMessage) async throws -> SporMessage {
        try await send(message)
        return try await receive { reply in
            switch reply {
            case let .ok(r) where r == request: reply
            case let .stepRecorded(r, _, _, _) where r == request: reply
            case let .error(report) where report.request == request: reply
            default: nil
            }
        }
    }

    mutating func expectOK(_ request: UInt64) async throws {
        let reply = try await receive()
        guard case .ok(request)? = reply else { throw TestFailure("expected OK for \(request), got \(String(describing: reply))") }
    }

    /// Pushes and returns the reply to the push (PUSH_ACK or ERROR).
    mutating func push(_ changes: [UInt8], to document: String) async throws -> SporMessage {
        let request = request()
        try await send(.push(request: request, document: document, changes: changes))
        return try await receive { message in
            switch message {
            case let .pushAck(r, _, _, _) where r == request: message
            case let .error(report) where report.request == request: message
            default: nil
            }
        }
    }

    /// Subscribes and merges the catch-up into `document`; returns the version the
    /// server reported in CAUGHT_UP.
    @discardableResult
    mutating func subscribeAndCatchUp(_ id: String, into document: inout Document) async throws -> VersionVector {
        try await send(.subscribe(request: request(), document: id, version: document.versionVector))
        while true {
            guard let message = try await receive() else { throw TestFailure("closed during catch-up") }
            switch message {
            case let .snapshot(snapshot) where snapshot.document == id:
                try document.merge(encodedChanges: snapshot.file, trustingTexts: true)
            case let .events(events) where events.document == id:
                for batch in events.batches { try document.merge(encodedChanges: batch) }
            case let .caughtUp(document: doc, version) where doc == id:
                return version
            case let .error(report):
                throw TestFailure("error during catch-up: \(report.knownCode.map { "\($0)" } ?? "\(report.code)") \(report.message)")
            default:
                continue
            }
        }
    }

    /// Merges live EVENTS for `id` until `done` says so.
    mutating func mergeLive(_ id: String, into document: inout Document, until done: (Document) -> Bool) async throws {
        while !done(document) {
            guard let message = try await receive() else { throw TestFailure("closed while waiting for live events") }
            if case let .events(events) = message, events.document == id {
                for batch in events.batches { try document.merge(encodedChanges: batch) }
            }
        }
    }

    func close() async { await connection.close() }
}
