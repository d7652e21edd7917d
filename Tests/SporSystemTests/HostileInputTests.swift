import Foundation
import GRDB
import NIOCore
import SporCRDT
import SporTestSupport
import SporWire
import SporWireClient
import Testing

/// A real `spor-server` process fed hostile bytes over TCP. Short form in CI; long
/// forms: `SPOR_TCP_FUZZ_FRAMES=20000`, `SPOR_GUESSED_TOKENS=10000`.
@Suite("Hostile input over TCP", .timeLimit(.minutes(20)), .blockingCallsAllowed)
struct HostileInputTests {
    /// Reads what the server answers until it closes the connection or goes quiet.
    static func drain(_ connection: WireConnection, quietFor limit: Duration = .milliseconds(300)) async -> [SporMessage] {
        var received: [SporMessage] = []
        let collected = ReceivedBox()
        let reader = Task {
            do {
                for try await message in connection.messages { collected.append(message) }
            } catch {}
        }
        try? await Task.sleep(for: limit)
        reader.cancel()
        await connection.close()
        _ = await reader.result
        received = collected.messages
        return received
    }

    /// Everything the server sends until it closes the connection, or until `limit`
    /// passes (then the connection is closed here).
    static func readUntilClosed(_ connection: WireConnection, atMost limit: Duration = .seconds(20)) async -> [SporMessage] {
        let collected = ReceivedBox()
        let reader = Task {
            do {
                for try await message in connection.messages { collected.append(message) }
            } catch {}
        }
        let timer = Task {
            try await Task.sleep(for: limit)
            reader.cancel()
        }
        _ = await reader.result
        timer.cancel()
        await connection.close()
        return collected.messages
    }

    @Test("mutated valid frames after HELLO: errors, never a crash; other clients unaffected; only valid, authorised batches stored")
    func mutatedFrames() async throws {
        let frames = repetitions("TCP_FUZZ_FRAMES", short: 400)
        let seed = getenvString("SPOR_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        let server = try ServerProcess()
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        _ = try server.addOrganisation("Odense Kommune", kind: "kommune", code: "0461")

        var document = Document(agent: try AgentID("0751/fuzz"))
        try document.insert("Skybrud i Århus 🌊", at: 0)
        let batch = try document.encodedChanges()
        let samples: [SporMessage] = [
            .ping(nonce: 7), .createDocument(request: 1, document: "0751.p1"), .addMember(request: 2, document: "0751.p1", organisation: "0461", role: .partner),
            .listDocuments(request: 3), .subscribe(request: 6, document: "0751.p1", version: VersionVector()), .unsubscribe(document: "0751.p1"),
            .push(request: 4, document: "0751.p1", changes: batch), .listRounds(request: 5),
            .removeMember(request: 7, document: "0751.p1", organisation: "0461"),
            .setRole(request: 8, document: "0751.p1", organisation: "0461", role: .lead),
            .processStep(request: 9, document: "0751.p1", step: .init(kind: .submitForQualification, version: document.versionVector)),
            .processStep(request: 10, document: "0751.p1", step: .init(kind: .recordDecision, outcome: "approved", note: "Æ", grantedAmount: 5)),
        ]
        var sent = 0, closedByServer = 0, errors = 0
        while sent < frames {
            let connection = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
            try await connection.send(.hello(.init(token: token, client: "fuzz")))
            // Up to 20 frames per connection: valid ones and mutations of them.
            for _ in 0..<20 where sent < frames {
                var bytes = samples[Int.random(in: 0..<samples.count, using: &random)].frameBytes
                switch Int.random(in: 0..<5, using: &random) {
                case 0: break
                case 1:
                    for _ in 0..<Int.random(in: 1...4, using: &random) {
                        let index = Int.random(in: 0..<bytes.count, using: &random)
                        bytes[index] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
                    }
                case 2: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
                case 3: bytes = (0..<Int.random(in: 1...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                default:
                    // A plausible length prefix with a wrong body length.
                    let length = UInt32(max(1, bytes.count - 4 + Int.random(in: -3...3, using: &random)))
                    bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: length.bigEndian, Array.init))
                }
                do {
                    try await connection.sendRaw(bytes)
                    sent += 1
                } catch {
                    closedByServer += 1
                    break
                }
            }
            errors += await Self.drain(connection).filter { if case .error = $0 { true } else { false } }.count
        }

        // The server is up and serves a well-behaved client in full.
        let odense = try server.addOrganisation("Region Midtjylland", kind: "region", code: "1082")
        let healthy = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
        try await healthy.send(.hello(.init(token: odense, client: "healthy")))
        try await healthy.send(.createDocument(request: 1, document: "1082.healthy-\(seed % 1000)"))
        var replies = healthy.messages.makeAsyncIterator()
        var answered = false
        while let message = try await replies.next() {
            if case .ok(1) = message { answered = true; break }
            if case .error = message { break }
        }
        #expect(answered, "seed \(seed): a normal client is served after the fuzzing")
        await healthy.close()

        // Everything stored is a valid change batch by the organisation that sent it.
        let database = try DatabaseQueue(path: (server.directory as NSString).appendingPathComponent("spor.sqlite"))
        let stored = try database.read { db in try Row.fetchAll(db, sql: "SELECT changes, accountID FROM batch") }
        for row in stored {
            let changes: Data = row["changes"]
            let summary = try ChangeSummary(encodedChanges: [UInt8](changes))
            let account: String = row["accountID"]
            if summary.runs.allSatisfy({ $0.agent.name == serverAgentName }) {
                // The server's own batch (asked for by `account`): only the members map.
                let members = try ContainerID.root("members", .map)
                #expect(summary.writes.allSatisfy { $0.container == members }, "seed \(seed)")
            } else {
                #expect(summary.runs.allSatisfy { $0.agent.name.hasPrefix("\(account)/") }, "seed \(seed)")
            }
        }
        try database.close()
        print("TCP fuzz: \(sent) frames sent (seed \(seed)), \(errors) ERROR answers, \(closedByServer) writes hit a closed connection, "
              + "\(stored.count) batches stored, all valid")
    }

    @Test("guessed tokens are refused with unauthenticated; the organisation's real token still works")
    func guessedTokens() async throws {
        let guesses = repetitions("GUESSED_TOKENS", short: 200)
        let server = try ServerProcess()
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        var refused = 0
        for index in 0..<guesses {
            let connection = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
            // Random tokens, and near misses of the real one.
            let guess = index % 2 == 0 ? "spor_" + UUID().uuidString : String(token.dropLast()) + (token.last == "A" ? "B" : "A")
            try await connection.send(.hello(.init(token: guess, client: "guess")))
            // The server answers and closes; a loaded machine may take its time.
            let answers = await Self.readUntilClosed(connection)
            if case let .error(report)? = answers.first, report.knownCode == .unauthenticated { refused += 1 }
            #expect(!answers.contains { if case .welcome = $0 { true } else { false } })
        }
        #expect(refused == guesses)
        let connection = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
        try await connection.send(.hello(.init(token: token, client: "real")))
        let answers = await Self.drain(connection, quietFor: .milliseconds(300))
        #expect(answers.contains { if case .welcome = $0 { true } else { false } })
    }

    @Test("slow drip: a frame sent a byte at a time is closed by the handshake or idle timeout; others are served meanwhile")
    func slowDrip() async throws {
        let server = try ServerProcess(arguments: ["--idle-timeout", "3"])
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        let dripper = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
        try await dripper.send(.hello(.init(token: token, client: "drip")))
        let frame = SporMessage.createDocument(request: 1, document: "0751.never-finished").frameBytes
        let start = ContinuousClock.now
        var closedAfter: Duration?
        let answers = ReceivedBox()
        let reader = Task {
            do { for try await message in dripper.messages { answers.append(message) } } catch {}
        }
        for byte in frame.dropLast() {
            do {
                try await dripper.sendRaw([byte])
            } catch {
                closedAfter = ContinuousClock.now - start
                break
            }
            // Meanwhile a normal client is served.
            if byte == frame[3] {
                let other = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
                try await other.send(.hello(.init(token: token, client: "normal")))
                let replies = await Self.drain(other, quietFor: .milliseconds(300))
                #expect(replies.contains { if case .welcome = $0 { true } else { false } })
            }
            try await Task.sleep(for: .milliseconds(400))
        }
        _ = await reader.result
        let timedOut = answers.messages.contains { if case let .error(report) = $0 { report.knownCode == .idleTimeout } else { false } }
        #expect(timedOut, "the server said idleTimeout: \(answers.messages)")
        #expect(closedAfter == nil || closedAfter! < .seconds(30))
    }
}

extension HostileInputTests {
    @Test("thousands of idle connections are closed with idleTimeout after the handshake timeout; a normal client is served meanwhile")
    func idleConnections() async throws {
        let count = repetitions("IDLE_CONNECTIONS", short: 100)
        // Room for the sockets in this process and in the server it starts.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let wanted = rlim_t(count * 2 + 512)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        // The server's default handshake timeout (10 s): long enough that a loaded CI
        // machine's scheduling does not close the normal client too.
        let server = try ServerProcess(arguments: ["--hello-timeout", "10", "--max-connections", "\(count + 100)"])
        let token = try server.addOrganisation("Aarhus Kommune", kind: "kommune", code: "0751")
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        for _ in 0..<count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(server.port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            sockets.append(descriptor)
        }
        // A normal client while they are open: HELLO, a request, its answer.
        let normal: WireConnection
        do {
            normal = try await WireConnection.connect(host: "127.0.0.1", port: server.port)
        } catch {
            Issue.record("STEP connect: \(error)")
            throw error
        }
        let seen = ReceivedBox()
        let served = try await withTimeout(seconds: 60) {
            do {
                try await normal.send(.hello(.init(token: token, client: "normal")))
                try await normal.send(.createDocument(request: 1, document: "0751.while-idle"))
            } catch {
                var iterator = normal.messages.makeAsyncIterator()
                let reason = try? await iterator.next()
                throw TestFailure("STEP send: \(error); the server said \(String(describing: reason))")
            }
            for try await message in normal.messages {
                seen.append(message)
                if case .ok(1) = message { return true }
                if case .error = message { return false }
            }
            return false
        }
        #expect(served, "a normal client is served while the idle connections are open: \(seen.messages)")
        await normal.close()

        // Every idle connection gets ERROR idleTimeout, then the close.
        var timedOut = 0
        for descriptor in sockets {
            var bytes = [UInt8](repeating: 0, count: 256)
            var received: [UInt8] = []
            while true {
                let n = recv(descriptor, &bytes, bytes.count, 0)
                if n <= 0 { break }
                received += bytes[0..<n]
            }
            var buffer = ByteBuffer(bytes: received)
            if case let .error(report)? = try? SporFrameDecoder.nextMessage(from: &buffer, maxFrameBytes: 4096),
               report.knownCode == .idleTimeout {
                timedOut += 1
            }
        }
        #expect(timedOut == count)
        print("idle connections: \(count) opened, \(timedOut) closed with idleTimeout, a normal client served meanwhile: \(served)")
    }
}

/// `@unchecked Sendable`: every access goes through `lock`.
final class ReceivedBox: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [SporMessage] = []
    func append(_ message: SporMessage) { lock.withLock { received.append(message) } }
    var messages: [SporMessage] { lock.withLock { received } }
}
